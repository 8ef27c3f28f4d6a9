#include "dataplane/counters/counters_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/store/store_crc32c.h"

namespace xborder::dp::counters {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hashKey(const TallyKey& k) {
  uint64_t a = (uint64_t{static_cast<uint8_t>(k.counter.kind)} << 56) | (uint64_t{k.country} << 40) |
               (uint64_t{static_cast<uint8_t>(k.sensitivity)} << 32) | static_cast<uint32_t>(k.counter.year);
  uint64_t b = (uint64_t{k.counter.legalEntity} << 32) | k.counter.index;
  return mix(a ^ mix(b));
}

void addRelaxed(std::atomic<uint64_t>& a, uint64_t v) {  // single writer: no RMW needed
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

// Snapshot format, version 1, little-endian host order (the file never leaves the box):
//   "XBCNTSNP" u32 version u32 rowCount i64 savedUnixNanos, then per row:
//   u8 kind u8 sensitivity u16 country u32 legalEntity u32 index i32 year
//   u64 records u64 bytes u64 flows u64 crossed u8 exact u16 sparseCount
//   sparseCount x u64 hash, 16384 x u8 registers
//   and at the end u32 CRC32C of everything before it.
constexpr char kMagic[8] = {'X', 'B', 'C', 'N', 'T', 'S', 'N', 'P'};
constexpr uint32_t kVersion = 1;

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  template <typename T>
  T get() {
    T v{};
    if (in.size() < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
};

absl::Status errnoStatus(const char* what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::StatusOr<std::string> readWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(path);
    return errnoStatus("open", path);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return errnoStatus("read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

std::string countryName(uint16_t code) {
  if (code == 0) return "*";
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
}

CounterTable::CounterTable(size_t capacity)
    : capacity_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity)),
      mask_(capacity_ - 1),
      rows_(new Row[capacity_]) {}

CounterTable::Row* CounterTable::upsert(const TallyKey& key) {
  // Keep the table at most 7/8 full so probes stay short and a miss terminates.
  size_t i = hashKey(key) & mask_;
  for (size_t probes = 0; probes < capacity_; ++probes, i = (i + 1) & mask_) {
    Row& r = rows_[i];
    if (!r.used.load(std::memory_order_acquire)) {
      if (size_.load(std::memory_order_relaxed) >= capacity_ - capacity_ / 8) return nullptr;
      r.key = key;
      r.used.store(true, std::memory_order_release);  // publishes the key to readers
      size_.fetch_add(1, std::memory_order_release);
      return &r;
    }
    if (r.key == key) return &r;
  }
  return nullptr;
}

const CounterTable::Row* CounterTable::find(const TallyKey& key) const {
  size_t i = hashKey(key) & mask_;
  for (size_t probes = 0; probes < capacity_; ++probes, i = (i + 1) & mask_) {
    const Row& r = rows_[i];
    if (!r.used.load(std::memory_order_acquire)) return nullptr;
    if (r.key == key) return &r;
  }
  return nullptr;
}

void CounterShard::updateRow(const TallyKey& key, std::span<const uint64_t> hashes, uint64_t records,
                             uint64_t bytes, uint64_t flows) {
  CounterTable::Row* r = table_.upsert(key);
  if (r == nullptr) {
    overflow_.store(overflow_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  for (uint64_t h : hashes) r->individuals.add(h);
  addRelaxed(r->records, records);
  addRelaxed(r->bytes, bytes);
  addRelaxed(r->flows, flows);
}

void CounterShard::update(const TallyKey& key, std::span<const uint64_t> hashes, uint64_t records,
                          uint64_t bytes, uint64_t flows) {
  updateRow(key, hashes, records, bytes, flows);
  if (!(key == key.aggregate())) updateRow(key.aggregate(), hashes, records, bytes, flows);
  // Publishes the rows written above to a merge that reads this sequence (acquire).
  seq_.store(seq_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

CounterStore::CounterStore(CounterStoreOptions options)
    : options_(std::move(options)), table_(options_.capacity), seen_(options_.maxShards) {}

const ThresholdSpec* CounterStore::specFor(const CounterKey& key) const {
  for (const auto& s : options_.thresholds) {
    if (s.kind == key.kind && s.index == key.index) return &s;
  }
  return nullptr;
}

void CounterStore::merge(size_t shardId, const CounterShard& shard) {
  if (shardId >= seen_.size()) return;
  // Everything the worker fed up to `fed` is visible to the reads below.
  const uint64_t fed = shard.seq_.load(std::memory_order_acquire);
  auto& seen = seen_[shardId];
  if (seen.size() < table_.capacity()) seen.resize(table_.capacity());
  const CounterTable& src = shard.table();
  for (size_t i = 0; i < src.capacity(); ++i) {
    const CounterTable::Row& s = src.slot(i);
    if (!s.used.load(std::memory_order_acquire)) continue;
    CounterTable::Row* d = table_.upsert(s.key);
    if (d == nullptr) {
      ++overflow_;
      continue;
    }
    d->individuals.mergeFrom(s.individuals);
    Totals& last = seen[table_.indexOf(d)];
    const Totals now{s.records.load(std::memory_order_relaxed), s.bytes.load(std::memory_order_relaxed),
                     s.flows.load(std::memory_order_relaxed)};
    addRelaxed(d->records, now.records - last.records);
    addRelaxed(d->bytes, now.bytes - last.bytes);
    addRelaxed(d->flows, now.flows - last.flows);
    last = now;
    if (d->key == d->key.aggregate()) {
      d->cachedIndividuals.store(d->individuals.estimate(), std::memory_order_release);
    }
  }
  // After the cached estimates: a worker that sees the acknowledgement (acquire) reads
  // counts that include every feed up to `fed`.
  if (fed > shard.merged_.load(std::memory_order_relaxed)) shard.merged_.store(fed, std::memory_order_release);
}

std::vector<Crossing> CounterStore::pollCrossings() {
  std::vector<Crossing> out;
  for (size_t i = 0; i < table_.capacity(); ++i) {
    CounterTable::Row& r = table_.slot(i);
    if (!r.used.load(std::memory_order_acquire) || !(r.key == r.key.aggregate())) continue;
    const ThresholdSpec* spec = specFor(r.key.counter);
    if (spec == nullptr) continue;
    const uint64_t observed = r.cachedIndividuals.load(std::memory_order_acquire);
    for (size_t b = 0; b < spec->boundaries.size(); ++b) {
      for (size_t q = 0; q < options_.ratios.size(); ++q) {
        const size_t bit = b * options_.ratios.size() + q;
        if (bit >= 64) break;
        const auto level = static_cast<uint64_t>(
            std::ceil(static_cast<double>(spec->boundaries[b]) * options_.ratios[q]));
        if ((r.crossed >> bit & 1) || observed < level) continue;
        r.crossed |= uint64_t{1} << bit;
        out.push_back(Crossing{r.key, spec->boundaries[b], options_.ratios[q], level, observed});
      }
    }
  }
  return out;
}

uint64_t CounterStore::count(const CounterKey& key) const {
  const CounterTable::Row* r = table_.find(TallyKey{key, 0, Sensitivity::kAll});
  return r == nullptr ? 0 : r->cachedIndividuals.load(std::memory_order_acquire);
}

uint64_t CounterStore::countDetail(const TallyKey& key) const {
  const CounterTable::Row* r = table_.find(key);
  return r == nullptr ? 0 : r->individuals.estimate();
}

Totals CounterStore::totals(const TallyKey& key) const {
  const CounterTable::Row* r = table_.find(key);
  if (r == nullptr) return {};
  return {r->records.load(std::memory_order_relaxed), r->bytes.load(std::memory_order_relaxed),
          r->flows.load(std::memory_order_relaxed)};
}

absl::Status CounterStore::snapshot() const {
  if (options_.snapshotPath.empty()) return absl::OkStatus();
  std::string out(kMagic, sizeof kMagic);
  put(out, kVersion);
  put(out, static_cast<uint32_t>(table_.size()));
  put(out, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count()));
  std::vector<uint8_t> regs(Hll::kRegisters);
  std::vector<uint64_t> sparse(Hll::kSparseSlots);
  for (size_t i = 0; i < table_.capacity(); ++i) {
    const CounterTable::Row& r = table_.slot(i);
    if (!r.used.load(std::memory_order_acquire)) continue;
    put(out, static_cast<uint8_t>(r.key.counter.kind));
    put(out, static_cast<uint8_t>(r.key.sensitivity));
    put(out, r.key.country);
    put(out, r.key.counter.legalEntity);
    put(out, r.key.counter.index);
    put(out, r.key.counter.year);
    put(out, r.records.load(std::memory_order_relaxed));
    put(out, r.bytes.load(std::memory_order_relaxed));
    put(out, r.flows.load(std::memory_order_relaxed));
    put(out, r.crossed);
    const bool exact = r.individuals.exact();
    put(out, static_cast<uint8_t>(exact));
    const size_t n = exact ? r.individuals.sparseHashes(std::span<uint64_t, Hll::kSparseSlots>(sparse)) : 0;
    put(out, static_cast<uint16_t>(n));
    for (size_t k = 0; k < n; ++k) put(out, sparse[k]);
    r.individuals.copyRegisters(std::span<uint8_t, Hll::kRegisters>(regs));
    out.append(reinterpret_cast<const char*>(regs.data()), regs.size());
  }
  put(out, evidence::crc32c(out));

  const std::string& path = options_.snapshotPath;
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return errnoStatus("open", tmp);
  for (size_t off = 0; off < out.size();) {
    ssize_t n = ::write(fd, out.data() + off, out.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return errnoStatus("write", tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return errnoStatus("fsync", tmp);
  }
  ::close(fd);
  // Two generations: a crash between these renames leaves .prev (good) and .tmp.
  if (::rename(path.c_str(), (path + ".prev").c_str()) != 0 && errno != ENOENT) {
    return errnoStatus("rename", path);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errnoStatus("rename", tmp);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errnoStatus("open", dir);
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return errnoStatus("fsync", dir);
  return absl::OkStatus();
}

absl::Status CounterStore::load() {
  if (options_.snapshotPath.empty()) return absl::OkStatus();
  std::string errors;
  for (const std::string& path : {options_.snapshotPath, options_.snapshotPath + ".prev"}) {
    auto bytes = readWhole(path);
    if (!bytes.ok()) {
      if (!absl::IsNotFound(bytes.status())) absl::StrAppend(&errors, bytes.status().message(), "; ");
      continue;
    }
    std::string_view all = *bytes;
    if (all.size() < sizeof kMagic + 12 || std::memcmp(all.data(), kMagic, sizeof kMagic) != 0) {
      absl::StrAppend(&errors, path, ": not a counter snapshot; ");
      continue;
    }
    uint32_t crc;
    std::memcpy(&crc, all.data() + all.size() - 4, 4);
    if (evidence::crc32c(all.substr(0, all.size() - 4)) != crc) {
      absl::StrAppend(&errors, path, ": CRC mismatch (torn or damaged); ");
      continue;
    }
    Reader rd{all.substr(sizeof kMagic, all.size() - sizeof kMagic - 4)};
    const auto version = rd.get<uint32_t>();
    if (version != kVersion) {
      absl::StrAppend(&errors, path, ": unknown version ", version, "; ");
      continue;
    }
    const auto rows = rd.get<uint32_t>();
    const auto savedNanos = rd.get<int64_t>();
    if (rows > table_.capacity()) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": ", rows, " rows exceed the configured capacity ", table_.capacity()));
    }
    for (uint32_t i = 0; i < rows && rd.ok; ++i) {
      TallyKey key;
      key.counter.kind = static_cast<CounterKey::Kind>(rd.get<uint8_t>());
      key.sensitivity = static_cast<Sensitivity>(rd.get<uint8_t>());
      key.country = rd.get<uint16_t>();
      key.counter.legalEntity = rd.get<uint32_t>();
      key.counter.index = rd.get<uint32_t>();
      key.counter.year = rd.get<int32_t>();
      CounterTable::Row* r = table_.upsert(key);
      if (r == nullptr) return absl::ResourceExhaustedError(absl::StrCat(path, ": counter table full"));
      r->records.store(rd.get<uint64_t>(), std::memory_order_relaxed);
      r->bytes.store(rd.get<uint64_t>(), std::memory_order_relaxed);
      r->flows.store(rd.get<uint64_t>(), std::memory_order_relaxed);
      r->crossed = rd.get<uint64_t>();
      const bool exact = rd.get<uint8_t>() != 0;
      const auto n = rd.get<uint16_t>();
      for (uint16_t k = 0; k < n && rd.ok; ++k) r->individuals.add(rd.get<uint64_t>());
      if (!exact) r->individuals.markSaturated();
      if (rd.in.size() < Hll::kRegisters) {
        rd.ok = false;
        break;
      }
      r->individuals.setRegisters(
          std::span<const uint8_t, Hll::kRegisters>(reinterpret_cast<const uint8_t*>(rd.in.data()), Hll::kRegisters));
      rd.in.remove_prefix(Hll::kRegisters);
      r->cachedIndividuals.store(r->individuals.estimate(), std::memory_order_release);
    }
    if (!rd.ok || !rd.in.empty()) {
      // CRC matched but the layout did not: a writer bug, not a torn write. Refuse
      // rather than count from a half-loaded table.
      return absl::DataLossError(absl::StrCat(path, ": CRC ok but malformed"));
    }
    loadedFrom_ = path;
    savedUnixNanos_ = savedNanos;
    return absl::OkStatus();
  }
  if (!errors.empty()) return absl::DataLossError(absl::StrCat("no usable counter snapshot: ", errors));
  return absl::OkStatus();
}

}  // namespace xborder::dp::counters
