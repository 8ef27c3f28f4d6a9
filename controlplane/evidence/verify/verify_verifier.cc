#include "controlplane/evidence/verify/verify_verifier.h"

#include <endian.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <memory>
#include <map>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"
#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/bundle/bundle_proof_files.h"
#include "controlplane/evidence/bundle/bundle_tar.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/crypto/sm3_fast.h"
#include "controlplane/evidence/merkle/merkle_batch_sha256.h"
#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/merkle/merkle_verify.h"
#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_crc32c.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/verify/verify_adapters.h"
#include "controlplane/evidence/merkle/merkle_batch_sha256.h"
#include "controlplane/evidence/verify/verify_arena.h"
#include "controlplane/evidence/verify/verify_envelopes.h"
#include "controlplane/evidence/verify/verify_record_scan.h"
#include "controlplane/evidence/verify/verify_tasks.h"

namespace xborder::evidence::verify {
namespace {

using bundle::av;
using bundle::toHex;

constexpr const char* kManifestJson = "MANIFEST.json";
constexpr const char* kManifestSig = "MANIFEST.sig";

// SM3 of file bytes: our x86-64-tuned SM3 (crypto/sm3_fast.h says why not OpenSSL's),
// bit-identical to EVP_sm3, which the exporter uses, so a disagreement fails a bundle.
std::string sm3Hex(std::string_view data) {
  const auto d = crypto::Sm3Fast::digest(data);
  return toHex(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::string rawOf(const Hash& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
constexpr const char* kCountDims[] = {"type", "tenant", "dst_country", "data_category", "policy_decision"};

// Counts per key of one dimension, looked up by string_view (no allocation per
// record); the last key is remembered because consecutive records mostly repeat it.
class KeyCounts {
 public:
  void add(std::string_view key) {
    if (key.empty()) return;
    if (last_ != nullptr && key == last_key_) {
      ++*last_;
      return;
    }
    auto it = map_.find(key);
    if (it == map_.end()) it = map_.emplace(std::string(key), 0).first;
    ++it->second;
    last_key_ = it->first;  // node keys do not move
    last_ = &it->second;
  }
  const auto& map() const { return map_; }

 private:
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> map_;
  std::string_view last_key_;
  uint64_t* last_ = nullptr;
};

// Records per task of the fast record pass: a power of two, so that every full chunk
// is a perfect subtree (its root is computed by the task) at an aligned position.
constexpr int kChunkLog2 = 12;
constexpr uint64_t kChunk = uint64_t{1} << kChunkLog2;

// Flows of a range of FLOW records, matched by flow_id (record.proto field 29: a
// flow's last record has final set). A flow is counted once: ended if a final record
// names it, open if only non-final records do (still open at export). Ranges merge in
// record order (Run::flush) with the same result as one pass over all records.
class FlowTally {
 public:
  // Only for a range that holds every record (the in-order pass): nothing earlier for
  // its final records to close, so they are not kept.
  void keepFinals(bool keep) { keep_finals_ = keep; }
  // Final records are kept in `arena` (a chunk's, not yet added to).
  void useArena(Arena* arena) { finals_ = FinalsVector(ArenaAllocator<Key>(arena)); }
  // `stable`: flow_id points into the bundle (it outlives the run); otherwise it is
  // copied when kept.
  void add(std::string_view flow_id, bool final, bool stable) {
    if (flow_id.empty()) return;  // no id: cannot be matched to its flow
    const Key k = keyOf(flow_id);
    if (!final) {
      if (!open_.contains(k)) open_.insert(stable ? k : keyOf(keep(flow_id)));
      return;
    }
    ++ended_;
    if (!open_.empty()) {
      if (auto it = open_.find(k); it != open_.end()) open_.erase(it);
    }
    // A final record also closes the flow in earlier ranges (merge()).
    if (keep_finals_) {
      if (finals_.capacity() == 0) finals_.reserve(kChunk);
      finals_.push_back(stable ? k : keyOf(keep(flow_id)));
    }
  }
  // Appends `later` (the next range in record order) to this one.
  void merge(FlowTally&& later) {
    ended_ += later.ended_;
    if (!open_.empty()) {
      for (const Key& k : later.finals_) {
        // Most final records close no flow left open by an earlier range: one bit says so.
        if (((filter_[(k.h >> 6) % filter_.size()] >> (k.h & 63)) & 1) == 0) continue;
        if (auto it = open_.find(k); it != open_.end()) open_.erase(it);
      }
    }
    if (!later.open_.empty() && filter_.empty()) filter_.assign(kFilterWords, 0);
    for (const Key& k : later.open_) {
      open_.insert(k);
      filter_[(k.h >> 6) % filter_.size()] |= uint64_t{1} << (k.h & 63);  // never cleared: only a hint
    }
    // Moving a deque keeps its elements in place, so views into them stay valid.
    adopted_.push_back(std::move(later.owned_));
    for (auto& d : later.adopted_) adopted_.push_back(std::move(d));
  }
  uint64_t ended() const { return ended_; }
  uint64_t open() const { return open_.size(); }

 private:
  // 16 bytes: a million final records cost 16 MB until they are merged.
  struct Key {
    const char* id;
    uint32_t len;
    uint32_t h;  // computed once, on the core that read the record
    bool operator==(const Key& o) const { return len == o.len && std::memcmp(id, o.id, len) == 0; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.h; }
  };
  // A multiply-xorshift over every 8 bytes: flow ids are keyed hashes (uniform), and
  // this costs a few ns where std::hash (murmur) costs several times that per record.
  static Key keyOf(std::string_view id) {
    constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
    uint64_t h = id.size() * kMul;
    size_t i = 0;
    for (; i + 8 <= id.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, id.data() + i, 8);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    if (i < id.size()) {
      uint64_t w = 0;
      std::memcpy(&w, id.data() + i, id.size() - i);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    h ^= h >> 32;
    return Key{id.data(), static_cast<uint32_t>(id.size()), static_cast<uint32_t>(h)};
  }
  std::string_view keep(std::string_view id) { return owned_.emplace_back(id); }

  static constexpr size_t kFilterWords = 1024;  // 65,536 bits
  bool keep_finals_ = true;
  uint64_t ended_ = 0;
  std::unordered_set<Key, KeyHash> open_;
  using FinalsVector = std::vector<Key, ArenaAllocator<Key>>;
  FinalsVector finals_{ArenaAllocator<Key>(nullptr)};  // in record order
  std::vector<uint64_t> filter_;  // bits of open_ keys (merged ranges only; set with open_)
  std::deque<std::string> owned_;   // ids of parsed records (their bytes die with them)
  std::vector<std::deque<std::string>> adopted_;  // owned_ of merged ranges
};

// What one record pass over a range of records produced, kept apart so that
// ranges checked on different cores merge in record order afterwards.
struct RangeOut {
  struct Row {
    uint32_t step;
    std::string id;
    v1::Status status;
    std::string location, detail;
  };
  std::vector<Row> rows;  // step 6 anchor rows, in record order
  // Record types by value (named when merged); other dimensions by key.
  std::map<int32_t, uint64_t> types;
  std::array<KeyCounts, 4> counts;  // kCountDims[1..4]
  std::vector<std::string> anomalies;  // at most kMaxAnomalies, in record order
  uint64_t anchors_ok = 0, late = 0, first_late = 0;
  int32_t last_type = -1;
  uint64_t* last_type_count = nullptr;
  FlowTally flows;
};

constexpr int kMaxAnomalies = 1000;
// Task groups in the pool.
constexpr int kGroupSha = 0, kGroupSm3 = 1, kGroupRecords = 2;

// RFC 9162 compact range that also takes whole perfect subtrees (a chunk's root) at
// aligned positions; CompactRange only takes leaves.
class Fold {
 public:
  Fold(const Hasher& h, const CompactRange& start) : h_(h), size_(start.size()) {
    int i = 0;
    for (int level = 63; level >= 0; --level) {
      if ((size_ >> level) & 1) stack_.push_back({level, start.hashes()[i++]});
    }
  }
  void append(const Hash& hash, int level) {
    stack_.push_back({level, hash});
    size_ += uint64_t{1} << level;
    while (stack_.size() >= 2 && stack_[stack_.size() - 2].first == stack_.back().first) {
      Hash merged = h_.nodeHash(stack_[stack_.size() - 2].second, stack_.back().second);
      const int up = stack_.back().first + 1;
      stack_.pop_back();
      stack_.back() = {up, merged};
    }
  }
  uint64_t size() const { return size_; }
  Hash root() const {
    if (stack_.empty()) return h_.emptyRoot();
    Hash r = stack_.back().second;
    for (size_t i = stack_.size() - 1; i-- > 0;) r = h_.nodeHash(stack_[i].second, r);
    return r;
  }

 private:
  const Hasher& h_;
  uint64_t size_;
  std::vector<std::pair<int, Hash>> stack_;
};

// Records the fast scan does not cover: their full message is needed (anomaly text,
// or an ANCHOR whose token step 6 checks).
bool needsFullRecord(const RecordFacts& f) {
  return f.type == evidence::v1::RECOVERY || f.type == evidence::v1::ALARM || f.type == evidence::v1::KEY_ROTATION ||
         f.type == evidence::v1::GAP || f.body == evidence::v1::EvidenceRecord::kAnchorFieldNumber;
}

struct CheckpointInfo {
  std::string file;
  crypto::Checkpoint cp;
  std::string body;
  std::string note;
  bool valid = false;
  std::vector<crypto::NoteSignature> cosignatures;  // verified, by keys in witness_vkeys
};

class Run {
 public:
  Run(const VerifyOptions& o) : opt_(o) {}

  absl::StatusOr<v1::Result> go(std::string_view archive);

 private:
  void add(uint32_t step, std::string id, v1::Status st, std::string location, std::string detail) {
    v1::Check* c = res_.add_checks();
    c->set_step(step);
    c->set_id(std::move(id));
    c->set_status(st);
    c->set_location(std::move(location));
    c->set_detail(std::move(detail));
    if (st == v1::FAIL) failed_ = true;
  }
  void notRun(uint32_t from_step) {
    static const char* kNames[] = {"", "archive", "manifest", "checkpoints", "append-only",
                                   "records", "semantics", "cited", "envelopes"};
    for (uint32_t s = from_step; s <= 8; ++s) {
      add(s, absl::StrCat(kNames[s], ".not-run"), v1::UNVERIFIABLE, "",
          "not run: an earlier check failed, so nothing in the bundle is authenticated");
    }
  }
  bool readTrust();
  void startDigests();
  void finishSm3();
  void checkAnchor(uint64_t index, const evidence::v1::EvidenceRecord& r, RangeOut& out) const;
  void checkLate(uint64_t index, int64_t observed_unix_nanos, RangeOut& out) const;
  // `stable`: f's views point into the bundle, not into a parsed record.
  static void tallyFacts(const RecordFacts& f, bool stable, RangeOut& out);
  static void tallyAnomaly(uint64_t index, const evidence::v1::EvidenceRecord& r, RangeOut& out);
  void tally(uint64_t index, const evidence::v1::EvidenceRecord& r, RangeOut& out) const;
  void flush(RangeOut& out);
  struct Chunk;
  void walkAndHashRecords(std::string_view bytes, std::string* sha256_hex);
  void fastChunk(Chunk& c);
  bool finishFastRecords(const CompactRange& start);
  bool stepArchive(std::string_view archive);
  bool stepManifest();
  void stepCheckpoints();
  void stepAppendOnly();
  void stepRecords();
  void stepCited();
  void stepEnvelopes();
  const VerifyOptions& opt_;
  v1::Result res_;
  bool failed_ = false;
  std::vector<crypto::NoteVerifier> verifiers_;
  std::vector<crypto::NoteVerifier> witnesses_;  // cosignature keys (TrustFile.witness_vkeys)
  std::optional<Hasher> hasher_;
  std::string top_;
  std::map<std::string, std::string_view> files_;  // path (without top dir) -> bytes in the archive
  bundle::v1::Manifest manifest_;
  std::map<uint64_t, CheckpointInfo> cps_;    // valid checkpoints by size
  std::optional<crypto::Checkpoint> since_;
  Arena arena_;  // before every container that uses it
  std::vector<std::string_view, ArenaAllocator<std::string_view>> records_{
      ArenaAllocator<std::string_view>(&arena_)};  // payloads of [from, to), into files_
  bool records_ok_ = false;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_;
  struct Digests {
    std::string sha256, sm3;  // hex, filled by pool tasks
  };
  std::map<std::string, Digests> digests_;  // same keys as files_
  std::map<uint64_t, int64_t> gen_time_;  // checkpoint size -> verified TSA genTime (unix s)
  uint64_t anchors_ok_ = 0, late_records_ = 0, first_late_ = 0;
  FlowTally flows_;  // every range flushed so far
  uint64_t time_back_ = 0, first_back_ = 0;  // records observed before an earlier one (beyond the tolerance)
  // Where step 8 must look: records that commit to envelopes (step 5 lists them).
  std::vector<uint64_t> sealed_;  // positions in records_

  // The fast record pass (VerifyOptions::threads != 1): started speculatively right
  // after step 1, on the pool, while the file digests run; its results are used only
  // if steps 2-4 pass and every record and root is clean. Otherwise the in-order pass
  // runs and names the first problem exactly as it always has.
  struct Chunk {
    explicit Chunk(Arena* arena) : payloads(ArenaAllocator<std::string_view>(arena)) {}
    uint64_t begin = 0;  // position (from 0 = range_from) of payloads[0]
    std::vector<std::string_view, ArenaAllocator<std::string_view>> payloads;  // set by the walk
    Hash* leaves = nullptr;  // payloads.size() of each, written by the task (in the arena)
    int64_t* times = nullptr;
    RangeOut out;
    std::vector<uint64_t> anchors;  // positions of ANCHOR records (checked on this thread later)
    std::vector<uint64_t> sealed;
    Hash root{};                     // perfect subtree of a full, aligned chunk
    bool has_root = false;
    bool clean = false;
  };
  bool fast_wanted_ = false;   // threads != 1 and a records file to walk
  bool fast_walk_ok_ = false;  // every byte of the records file is a frame (lengths only)
  std::deque<Chunk> chunks_;   // added by the walk while earlier chunks run: elements never move
  // Last member: destroyed (its tasks stopped) before anything they use.
  std::optional<TaskPool> pool_;
};

bool Run::readTrust() {
  for (const auto& vk : opt_.trust.log_vkeys()) {
    auto v = crypto::NoteVerifier::fromVkey(vk);
    if (!v.ok()) return false;
    verifiers_.push_back(*std::move(v));
  }
  for (const auto& vk : opt_.trust.witness_vkeys()) {
    auto v = crypto::NoteVerifier::fromVkey(vk);
    if (!v.ok() || !v->isCosignature()) return false;
    witnesses_.push_back(*std::move(v));
  }
  if (opt_.trust.policy().witness_threshold() > witnesses_.size()) return false;
  auto alg = parseHashAlg(opt_.trust.hash());
  if (!alg || verifiers_.empty() || opt_.trust.origin().empty()) return false;
  hasher_.emplace(*alg);
  return true;
}

bool Run::stepArchive(std::string_view archive) {
  auto entries = bundle::readTarViews(archive);
  if (!entries.ok()) {
    add(1, "archive.structure", v1::FAIL, "archive", std::string(entries.status().message()));
    return false;
  }
  bool ok = true;
  for (const auto& p : bundle::checkHygiene(*entries)) {
    add(1, "archive.hygiene", v1::FAIL, p.path, p.reason);
    ok = false;
  }
  if (!ok) return false;
  // Everything must sit under one top directory EVB-... (§5.1).
  for (auto& e : *entries) {
    std::string_view p = e.path;
    size_t slash = p.find('/');
    std::string top(p.substr(0, slash));
    if (top_.empty()) top_ = top;
    if (top != top_ || !top_.starts_with("EVB-")) {
      add(1, "archive.layout", v1::FAIL, e.path, "entry outside the bundle's EVB-... directory");
      return false;
    }
    if (e.type != '0') continue;
    if (slash == std::string_view::npos) {
      add(1, "archive.layout", v1::FAIL, e.path, "file at the archive root");
      return false;
    }
    files_[std::string(p.substr(slash + 1))] = e.data;
  }
  res_.mutable_identity()->set_bundle_name(top_);
  if (!files_.count(kManifestJson) || !files_.count(kManifestSig)) {
    add(1, "archive.manifest-present", v1::FAIL, files_.count(kManifestJson) ? kManifestSig : kManifestJson,
        "missing");
    return false;
  }
  // Files not in the manifest (checked before trusting anything it says: listing only).
  auto m = bundle::manifestFromJson(files_.at(kManifestJson));
  if (!m.ok()) {
    add(1, "archive.manifest-parse", v1::FAIL, kManifestJson, std::string(m.status().message()));
    return false;
  }
  manifest_ = *std::move(m);
  std::set<std::string> listed;
  for (const auto& f : manifest_.files()) {
    if (!listed.insert(f.path()).second) {
      add(1, "archive.manifest-duplicate", v1::FAIL, f.path(), "listed twice in MANIFEST.json");
      ok = false;
    }
  }
  for (const auto& [path, data] : files_) {
    if (path == kManifestJson || path == kManifestSig) continue;
    if (!listed.count(path)) {
      add(1, "archive.unlisted-file", v1::FAIL, path, "file not listed in MANIFEST.json");
      ok = false;
    }
  }
  if (ok) add(1, "archive.hygiene", v1::PASS, "", absl::StrCat(entries->size(), " entries, no links, no '..'"));
  return ok;
}

bool Run::stepManifest() {
  const std::string_view json = files_.at(kManifestJson);
  auto opened = crypto::openNote(files_.at(kManifestSig), verifiers_);
  if (!opened.ok()) {
    add(2, "manifest.signature", v1::FAIL, kManifestSig, std::string(opened.status().message()));
    return false;
  }
  if (opened->text != bundle::manifestNoteBody(json)) {
    add(2, "manifest.signature", v1::FAIL, kManifestSig, "signed digests do not match MANIFEST.json");
    return false;
  }
  if (opt_.trust.policy().require_sm2() &&
      std::none_of(opened->verified.begin(), opened->verified.end(), [&](const crypto::NoteSignature& s) {
        for (const auto& v : verifiers_) {
          if (v.name() == s.name && v.keyId() == s.key_id) return v.keyType() == crypto::KeyType::kSm2;
        }
        return false;
      })) {
    add(2, "manifest.signature", v1::FAIL, kManifestSig, "policy requires an SM2 signature; none verified");
    return false;
  }
  add(2, "manifest.signature", v1::PASS, kManifestSig,
      absl::StrCat(opened->verified.size(), " trusted signature(s)"));
  auto* id = res_.mutable_identity();
  id->set_manifest_sha256(toHex(bundle::sha256Bytes(json)));
  id->set_manifest_sm3(sm3Hex(json));
  id->set_origin(manifest_.origin());
  id->set_hash(manifest_.profile().hash());
  id->set_range_from(manifest_.range_from());
  id->set_range_to(manifest_.range_to());
  id->set_created_at(manifest_.created_at());
  id->set_generator(manifest_.generator());

  bool ok = true;
  if (manifest_.format() != bundle::kBundleFormat) {
    add(2, "manifest.format", v1::UNVERIFIABLE, kManifestJson, absl::StrCat("unknown format '", manifest_.format(), "'"));
    ok = false;
  }
  if (manifest_.origin() != opt_.trust.origin()) {
    add(2, "manifest.origin", v1::FAIL, kManifestJson,
        absl::StrCat("origin '", manifest_.origin(), "' is not the enrolled '", opt_.trust.origin(), "'"));
    ok = false;
  }
  if (manifest_.profile().hash() != opt_.trust.hash()) {
    add(2, "manifest.profile", v1::FAIL, kManifestJson,
        absl::StrCat("hash '", manifest_.profile().hash(), "' but the enrolled log uses '", opt_.trust.hash(), "'"));
    ok = false;
  }
  if (manifest_.range_from() > manifest_.range_to()) {
    add(2, "manifest.range", v1::FAIL, kManifestJson, "range_from > range_to");
    ok = false;
  }
  pool_->wait(kGroupSha);
  for (const auto& f : manifest_.files()) {
    auto it = files_.find(f.path());
    if (it == files_.end()) {
      add(2, "manifest.file", v1::FAIL, f.path(), "listed in MANIFEST.json but missing");
      ok = false;
      continue;
    }
    const std::string_view d = it->second;
    // SM3 is compared in finishSm3(): it runs on another core meanwhile.
    if (d.size() != f.size() || digests_.at(f.path()).sha256 != f.sha256()) {
      add(2, "manifest.file", v1::FAIL, f.path(), "size or SHA-256 differs from MANIFEST.json");
      ok = false;
      continue;
    }
    v1::FileRow* row = res_.add_files();
    row->set_path(f.path());
    row->set_size(f.size());
    row->set_sha256(f.sha256());
    row->set_sm3(f.sm3());
  }
  if (ok) add(2, "manifest.files", v1::PASS, kManifestJson, absl::StrCat(manifest_.files_size(), " files match SHA-256 and SM3"));
  if (auto it = files_.find("custody/export.note"); it != files_.end()) {
    auto custody = crypto::openNote(it->second, verifiers_);
    if (!custody.ok()) {
      add(2, "manifest.custody", v1::FAIL, "custody/export.note", std::string(custody.status().message()));
      ok = false;
    }
  }
  if (auto it = files_.find("keys/appliance-chain.pem"); it != files_.end()) {
    res_.mutable_identity()->set_cert_sha256(toHex(bundle::sha256Bytes(it->second)));
    res_.mutable_identity()->set_cert_subject(certificateSubject(it->second));
  }
  return ok;
}

void Run::stepCheckpoints() {
  bool ok = true;
  std::map<uint64_t, std::vector<CheckpointInfo>> by_size;
  size_t n = 0;
  for (const auto& [path, data] : files_) {
    if (!path.starts_with("checkpoints/") || !path.ends_with(".note")) continue;
    ++n;
    std::string stem = path.substr(12, path.size() - 12 - 5);
    std::string size_part = stem.substr(0, stem.find('-'));
    auto opened = crypto::openCheckpoint(data, verifiers_, opt_.trust.origin());
    if (!opened.ok()) {
      add(3, "checkpoint.signature", v1::FAIL, path, std::string(opened.status().message()));
      ok = false;
      continue;
    }
    auto named = bundle::parseDecimal(size_part);
    if (!named.ok() || *named != opened->checkpoint.size) {
      add(3, "checkpoint.name", v1::FAIL, path,
          absl::StrCat("file name does not match its size ", opened->checkpoint.size));
      ok = false;
      continue;
    }
    CheckpointInfo ci{path, opened->checkpoint, opened->note.text, std::string(data), true, {}};
    if (!witnesses_.empty()) {
      // Witness cosignatures over the same note: one from a trusted witness that does
      // not verify (another body, edited time) rejects the checkpoint.
      auto cosigned = crypto::openNote(data, witnesses_);
      if (cosigned.ok()) {
        ci.cosignatures = cosigned->verified;
      } else if (!absl::StrContains(cosigned.status().message(), "no verifiable signatures")) {
        add(3, "checkpoint.witness", v1::FAIL, path, absl::StrCat("witness: ", cosigned.status().message()));
        ok = false;
        continue;
      }
    }
    by_size[ci.cp.size].push_back(std::move(ci));
  }
  if (since_) {
    CheckpointInfo ci{"--since", *since_, "", "", true, {}};
    by_size[since_->size].push_back(ci);
  }
  for (auto& [size, list] : by_size) {
    bool equivocation = false;
    for (const auto& c : list) equivocation |= c.cp.root != list.front().cp.root;
    if (equivocation) {
      add(3, "checkpoint.equivocation", v1::FAIL, absl::StrCat("checkpoint ", size),
          "two validly signed checkpoints of the same size with different roots (split view)");
      ok = false;
      continue;
    }
    for (auto& c : list) {
      if (c.file != "--since") {
        cps_[size] = c;
        break;
      }
    }
  }
  // RFC 3161 tokens over each checkpoint body, validated at genTime.
  for (auto& [size, ci] : cps_) {
    v1::CheckpointRow* row = res_.add_checkpoints();
    row->set_size(size);
    row->set_root_hex(toHex(ci.cp.root));
    auto opened = crypto::openNote(ci.note, verifiers_);
    if (opened.ok()) {
      for (const auto& s : opened->verified) {
        auto v = std::find_if(verifiers_.begin(), verifiers_.end(),
                              [&](const auto& k) { return k.keyId() == s.key_id && k.name() == s.name; });
        row->add_signatures(absl::StrCat(s.name, " (", av(crypto::keyTypeName(v->keyType())), ")"));
      }
    }
    std::set<std::string> witnesses;
    for (const auto& s : ci.cosignatures) {
      witnesses.insert(s.name);
      row->add_signatures(absl::StrCat(s.name, " (witness, cosigned at ", s.cosignature_time.value_or(0), ")"));
    }
    std::string tsr_path = absl::StrCat("checkpoints/", size, ".tsr");
    auto tsr = files_.find(tsr_path);
    std::string cp_status = "PASS";
    if (const uint32_t k = opt_.trust.policy().witness_threshold(); witnesses.size() < k) {
      add(3, "checkpoint.witness", v1::UNVERIFIABLE, ci.file,
          absl::StrCat(witnesses.size(), " of the ", k, " witness cosignatures the policy requires (",
                       witnesses_.size(), " witnesses enrolled)"));
      cp_status = "UNVERIFIABLE";
    }
    if (tsr == files_.end()) {
      if (opt_.trust.policy().require_tsa()) {
        add(3, "checkpoint.timestamp", v1::UNVERIFIABLE, tsr_path, "no RFC 3161 token for this checkpoint");
        cp_status = "UNVERIFIABLE";
      }
    } else {
      auto chain = files_.find("keys/tsa-chain.pem");
      auto t = verifyTimestamp(tsr->second, ci.body, opt_.trust, chain == files_.end() ? "" : std::string_view(chain->second));
      if (!t.ok()) {
        add(3, "checkpoint.timestamp", v1::FAIL, tsr_path, std::string(t.status().message()));
        ok = false;
        cp_status = "FAIL";
      } else {
        row->set_tsa_gen_time(t->gen_time);
        row->set_tsa_name(t->tsa_name);
        gen_time_[size] = t->gen_time_unix;
      }
    }
    row->set_status(cp_status);
  }
  if (cps_.empty()) {
    add(3, "checkpoint.present", v1::UNVERIFIABLE, "checkpoints/", "no checkpoint in the bundle");
  } else if (ok) {
    add(3, "checkpoint.signature", v1::PASS, "checkpoints/", absl::StrCat(n, " checkpoint(s) verified, no equivocation"));
  }
}

void Run::stepAppendOnly() {
  bool ok = true;
  std::vector<std::pair<uint64_t, std::string>> chain;  // size, root
  if (since_) chain.push_back({since_->size, since_->root});
  for (const auto& [size, ci] : cps_) {
    if (!since_ || size > since_->size) chain.push_back({size, ci.cp.root});
  }
  if (since_ && (cps_.empty() || cps_.rbegin()->first < since_->size)) {
    add(4, "append-only.since", v1::FAIL, absl::StrCat("checkpoint ", cps_.empty() ? 0 : cps_.rbegin()->first),
        absl::StrCat("rollback: the bundle's latest checkpoint is older than the regulator's last-seen size ",
                     since_->size));
    return;
  }
  uint64_t from = manifest_.range_from();
  for (size_t i = 1; i < chain.size(); ++i) {
    auto [a, ra] = chain[i - 1];
    auto [b, rb] = chain[i];
    std::string path = absl::StrCat("proofs/consistency/", a, "-", b, ".txt");
    auto it = files_.find(path);
    if (it == files_.end()) {
      // Recomputing both roots from the records (step 5) proves the same thing.
      if (a >= from && a > 0) continue;
      if (a == 0) continue;
      add(4, "append-only.consistency", v1::UNVERIFIABLE, path, "consistency proof missing");
      ok = false;
      continue;
    }
    auto cf = bundle::parseConsistency(it->second);
    if (!cf.ok() || cf->old_size != a || cf->new_size != b) {
      add(4, "append-only.consistency", v1::FAIL, path,
          cf.ok() ? "sizes in the file do not match its name" : std::string(cf.status().message()));
      ok = false;
      continue;
    }
    auto st = merkle::verifyConsistency(*hasher_, a, b, cf->hashes, ra, rb);
    if (!st.ok()) {
      add(4, "append-only.consistency", v1::FAIL, path,
          absl::StrCat("checkpoint ", b, " is not an extension of checkpoint ", a, ": ", st.message()));
      ok = false;
    }
  }
  if (ok) {
    add(4, "append-only.consistency", v1::PASS, "proofs/consistency/",
        since_ ? absl::StrCat("consistent with the regulator's last-seen checkpoint ", since_->size)
               : "sizes increase and every consistency proof holds (no --since given)");
  }
}

void Run::stepRecords() {
  const uint64_t from = manifest_.range_from(), to = manifest_.range_to();
  std::string path = absl::StrCat("records/", from, "-", to, ".frames");
  auto it = files_.find(path);
  if (it == files_.end()) {
    add(5, "records.frames", from == to ? v1::PASS : v1::FAIL, path, from == to ? "empty range" : "records file missing");
    return;
  }
  // The fast pass checked every frame (length walk, CRC32C, padding) unless it is
  // not clean; then parseFrames names the first bad frame as it always has.
  bool fast = false;
  if (fast_wanted_) {
    pool_->wait(kGroupSha);  // the walk, which adds the chunk tasks
    pool_->wait(kGroupRecords);
    fast = fast_walk_ok_ && !chunks_.empty() &&
           std::all_of(chunks_.begin(), chunks_.end(), [](const Chunk& c) { return c.clean; });
  }
  absl::StatusOr<std::vector<Frame>> frames = std::vector<Frame>();
  if (!fast) {
    frames = parseFrames(it->second);
    if (!frames.ok()) {
      add(5, "records.frames", v1::FAIL, path, std::string(frames.status().message()));
      return;
    }
  }
  const uint64_t n_frames = fast ? chunks_.back().begin + chunks_.back().payloads.size() : frames->size();
  // Seed the tree with the compact range of [0, from) for incremental bundles.
  std::optional<CompactRange> tree;
  if (from == 0) {
    tree.emplace(*hasher_);
  } else {
    std::string cpath = absl::StrCat("proofs/compact/", from, ".txt");
    auto c = files_.find(cpath);
    if (c == files_.end()) {
      add(5, "records.compact", v1::UNVERIFIABLE, cpath, "incremental bundle without the compact range of [0, from)");
      return;
    }
    auto cf = bundle::parseCompact(c->second);
    std::vector<Hash> hs;
    if (cf.ok()) {
      for (const auto& h : cf->hashes) hs.push_back(*hashFromBytes(h));
    }
    auto cr = cf.ok() && cf->size == from ? CompactRange::fromHashes(*hasher_, from, std::move(hs))
                                          : absl::StatusOr<CompactRange>(absl::InvalidArgumentError("bad compact range"));
    if (!cr.ok()) {
      add(5, "records.compact", v1::FAIL, cpath, std::string(cr.status().message()));
      return;
    }
    tree.emplace(*std::move(cr));
    if (auto cp = cps_.find(from); cp != cps_.end() && rawOf(tree->root()) != cp->second.cp.root) {
      add(5, "records.compact", v1::FAIL, cpath, absl::StrCat("does not hash to checkpoint ", from));
      return;
    }
    if (since_ && since_->size == from && rawOf(tree->root()) != since_->root) {
      add(5, "records.compact", v1::FAIL, cpath, "does not hash to the regulator's last-seen checkpoint");
      return;
    }
  }
  bool ok = true, unverifiable = false;
  auto next_cp = cps_.upper_bound(from);
  uint64_t prev_cp = from;
  if (fast && finishFastRecords(*tree)) {
    next_cp = cps_.upper_bound(from + n_frames);
  } else {
    if (fast) {
      // A root differs: the frames are sound (the fast pass checked them), so this
      // cannot fail; the in-order pass below names the checkpoint.
      frames = parseFrames(it->second);
      if (!frames.ok()) {
        add(5, "records.frames", v1::FAIL, path, std::string(frames.status().message()));
        return;
      }
    }
    // Something is wrong (or threads == 1): the plain in-order pass, which names the
    // first bad record or root exactly as it always has.
    records_.clear();
    sealed_.clear();
    int64_t last_time = INT64_MIN;
    uint64_t time_back = 0, first_back = 0;  // appliance clock going backwards (a warning)
    RangeOut out;
    out.flows.keepFinals(false);  // one range for every record
    records_.reserve(frames->size());
    for (uint64_t i = 0; i < frames->size(); ++i) {
      const uint64_t index = from + i;
      std::string_view bytes = (*frames)[i].payload;
      RecordExpectation expect{index, std::string_view(opt_.trust.origin())};
      auto rec = parseRecord(bytes, expect);
      if (!rec.ok()) {
        bool newer = rec.status().code() == absl::StatusCode::kFailedPrecondition;
        add(5, newer ? "records.format" : "records.content", newer ? v1::UNVERIFIABLE : v1::FAIL,
            absl::StrCat("record ", index), std::string(rec.status().message()));
        (newer ? unverifiable : ok) = newer ? true : false;
        if (!newer) {
          flush(out);
          return;  // fail closed: positions after a bad record mean nothing
        }
        // A newer-format record still parses; step 8 checks what it commits to.
        evidence::v1::EvidenceRecord r;
        if (r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) && r.flow().sealed_digests_size() > 0) {
          sealed_.push_back(i);
        }
      } else {
        const auto& r = *rec;
        tally(index, r, out);
        if (r.has_flow() && r.flow().sealed_digests_size() > 0) sealed_.push_back(i);
        if (r.observed_unix_nanos() < last_time &&
            last_time - r.observed_unix_nanos() > opt_.trust.policy().clock_tolerance_seconds() * 1000000000LL) {
          if (time_back++ == 0) first_back = index;
        }
        last_time = std::max(last_time, r.observed_unix_nanos());
      }
      tree->append(hasher_->leafHash(bytes));
      records_.push_back(bytes);
      if (next_cp != cps_.end() && next_cp->first == tree->size()) {
        if (rawOf(tree->root()) != next_cp->second.cp.root) {
          add(5, "records.root", v1::FAIL, absl::StrCat("checkpoint ", next_cp->first),
              absl::StrCat("records [", prev_cp, ", ", next_cp->first, ") do not hash to the signed root"));
          flush(out);
          return;
        }
        prev_cp = next_cp->first;
        ++next_cp;
      }
    }
    flush(out);
    time_back_ = time_back;
    first_back_ = first_back;
  }
  const uint64_t time_back = time_back_, first_back = first_back_;
  if (late_records_ > 0) {
    add(6, "semantics.time-vs-tsa", v1::WARN, absl::StrCat("record ", first_late_),
        absl::StrCat(late_records_, " record(s) claim a time after the TSA time of the checkpoint covering them"));
  }
  if (anchors_ok_ > 0) {
    add(6, "semantics.anchor", v1::PASS, "", absl::StrCat(anchors_ok_, " ANCHOR record(s) embed valid RFC 3161 tokens"));
  }
  if (time_back > 0) {
    add(6, "semantics.time-order", v1::WARN, absl::StrCat("record ", first_back),
        absl::StrCat(time_back, " record(s) observed earlier than a previous record beyond the tolerance ",
                     "(appliance clock is untrusted; see the TSA times)"));
  } else {
    add(6, "semantics.time-order", v1::PASS, "", "record times do not go backwards beyond the tolerance");
  }
  if (n_frames != to - from) {
    // After the per-record pass, so a deleted record is named by its position first.
    add(5, "records.count", v1::FAIL, path,
        absl::StrCat("holds ", n_frames, " records; MANIFEST.json range [", from, ", ", to, ") needs ", to - from));
    return;
  }
  if (next_cp != cps_.end()) {
    add(5, "records.coverage", v1::UNVERIFIABLE, absl::StrCat("checkpoint ", next_cp->first),
        absl::StrCat("checkpoint size beyond the records in the bundle (", to, ")"));
    unverifiable = true;
  }
  if (!cps_.empty() && cps_.rbegin()->first < to) {
    add(5, "records.coverage", v1::UNVERIFIABLE, absl::StrCat("record ", cps_.rbegin()->first),
        absl::StrCat("records [", cps_.rbegin()->first, ", ", to, ") are not covered by a checkpoint"));
    unverifiable = true;
  }
  res_.set_records(n_frames);
  res_.set_flows(flows_.ended());
  res_.set_flows_open(flows_.open());
  records_ok_ = ok;
  if (ok && !unverifiable) {
    add(5, "records.root", v1::PASS, path,
        absl::StrCat(n_frames, " records: frames, CRC32C, index, origin and every checkpoint root match"));
  }
}

void Run::tallyFacts(const RecordFacts& f, bool stable, RangeOut& out) {
  if (f.type != out.last_type) {
    out.last_type = f.type;
    out.last_type_count = &out.types[f.type];  // std::map nodes do not move
  }
  ++*out.last_type_count;
  out.counts[0].add(f.tenant);
  if (f.body == evidence::v1::EvidenceRecord::kFlowFieldNumber) {
    out.counts[1].add(f.dst_country);
    out.counts[2].add(f.data_category);
    out.counts[3].add(f.policy_decision);
    out.flows.add(f.flow_id, f.final, stable);
  }
}

void Run::tallyAnomaly(uint64_t index, const evidence::v1::EvidenceRecord& r, RangeOut& out) {
  if (r.type() == evidence::v1::RECOVERY || r.type() == evidence::v1::ALARM ||
      r.type() == evidence::v1::KEY_ROTATION || r.type() == evidence::v1::GAP) {
    if (out.anomalies.size() < kMaxAnomalies) {
      out.anomalies.push_back(absl::StrCat("record ", index, ": ", evidence::v1::RecordType_Name(r.type()), " ",
                                           r.has_recovery() ? r.recovery().reason()
                                           : r.has_alert()  ? r.alert().kind() + " " + r.alert().detail()
                                           : r.has_gap()    ? absl::StrCat("lost ", r.gap().lost_count())
                                                            : std::string()));
    }
  }
}

// Per-record semantic bookkeeping of step 5/6 for one parsed, checked record (the
// in-order pass).
void Run::tally(uint64_t index, const evidence::v1::EvidenceRecord& r, RangeOut& out) const {
  tallyFacts(factsOf(r), false, out);
  checkAnchor(index, r, out);
  checkLate(index, r.observed_unix_nanos(), out);
  tallyAnomaly(index, r, out);
}

// Moves one range's results into the report (ranges are flushed in record order).
void Run::flush(RangeOut& out) {
  for (auto& row : out.rows) add(row.step, std::move(row.id), row.status, std::move(row.location), std::move(row.detail));
  for (auto& a : out.anomalies) {
    if (res_.anomalies_size() < kMaxAnomalies) res_.add_anomalies(std::move(a));
  }
  for (const auto& [t, v] : out.types) {
    const std::string& name = evidence::v1::RecordType_Name(static_cast<evidence::v1::RecordType>(t));
    if (!name.empty()) counts_[{kCountDims[0], name}] += v;
  }
  for (size_t d = 0; d < out.counts.size(); ++d) {
    for (const auto& [k, v] : out.counts[d].map()) counts_[{kCountDims[d + 1], k}] += v;
  }
  anchors_ok_ += out.anchors_ok;
  flows_.merge(std::move(out.flows));
  if (out.late > 0 && late_records_ == 0) first_late_ = out.first_late;
  late_records_ += out.late;
  out = RangeOut();
}

// Maps the pages of a mapped file region into this process in one system call (Linux
// 5.14+; an error, e.g. an older kernel, leaves them to page faults). A page fault
// costs several microseconds on a virtual machine and a 3 GB bundle takes ~50,000 of
// them (fault-around maps 64 KiB each); MAP_POPULATE would do the same for the whole
// file on one thread before anything else starts. Here the SHA-256 pass, which runs
// ahead of every other reader of the records file, maps each slice before reading it.
constexpr size_t kPopulate = size_t{2} << 20;
void populate(std::string_view region) {
#ifdef MADV_POPULATE_READ
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(region.data()) / page * page;
  const auto end = reinterpret_cast<uintptr_t>(region.data()) + region.size();
  (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
  (void)region;
#endif
}

// SHA-256 of the records file (step 2) and, while each block is in cache, the walk
// over the frame lengths (which must go in order); every kChunk records the walk
// queues a chunk task. Nothing here is trusted yet; see Chunk.
void Run::walkAndHashRecords(std::string_view bytes, std::string* sha256_hex) {
  static EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool digest_ok = sha != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), sha, nullptr) == 1;
  const uint64_t from = manifest_.range_from();
  constexpr size_t kBlock = 64 << 10;
  bool walking = true;
  size_t off = 0;
  uint64_t n = 0;
  Chunk* cur = nullptr;
  for (size_t pos = 0; pos < bytes.size(); pos += kBlock) {
    const size_t end = std::min(bytes.size(), pos + kBlock);
    if (pos % kPopulate == 0) populate(bytes.substr(pos, kPopulate));
    if (digest_ok) (void)EVP_DigestUpdate(ctx.get(), bytes.data() + pos, end - pos);
    while (walking && off < end) {
      uint32_t len = 0;
      if (bytes.size() - off >= kFrameHeaderSize) {
        std::memcpy(&len, bytes.data() + off, 4);
        len = le32toh(len);
      }
      if (len == 0 || len > kMaxFramePayload || bytes.size() - off < frameSize(len)) {
        walking = false;  // parseFrames names the problem in the in-order pass
        break;
      }
      if (cur == nullptr) {
        cur = &chunks_.emplace_back(&arena_);
        cur->begin = n;
        cur->payloads.reserve(kChunk);
      }
      cur->payloads.push_back(bytes.substr(off + kFrameHeaderSize, len));
      off += frameSize(len);
      // Chunks end at absolute multiples of kChunk, so full ones are perfect subtrees.
      if ((from + ++n) % kChunk == 0) {
        pool_->add(kGroupRecords, [this, cur] { fastChunk(*cur); });
        cur = nullptr;
      }
    }
  }
  if (walking && cur != nullptr) pool_->add(kGroupRecords, [this, cur] { fastChunk(*cur); });
  fast_walk_ok_ = walking;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (digest_ok && EVP_DigestFinal_ex(ctx.get(), md, &md_len) == 1) {
    *sha256_hex = toHex(std::string_view(reinterpret_cast<char*>(md), md_len));
  }  // else empty: it matches no manifest value, so step 2 fails closed
}

// One chunk: frame CRC32C and padding, the record checks (fast scan, or the full
// parse for records it leaves), counts, leaf hashes and, for a full chunk, its root.
void Run::fastChunk(Chunk& c) {
  const uint64_t from = manifest_.range_from();
  const std::string_view origin = opt_.trust.origin();
  Hasher hasher(*hasher_);  // its own EVP_MD_CTX
  const uint64_t n = c.payloads.size();
  const bool sha256 = hasher.alg() == HashAlg::kSha256;
  // Every entry is written below; Hash and int64_t are trivial types.
  c.leaves = static_cast<Hash*>(arena_.allocate(n * sizeof(Hash)));
  c.times = static_cast<int64_t*>(arena_.allocate(n * sizeof(int64_t)));
  c.out.flows.useArena(&arena_);
  for (uint64_t k = 0; k < n; ++k) {
    const uint64_t i = c.begin + k;
    const std::string_view p = c.payloads[k];
    const char* frame = p.data() - kFrameHeaderSize;
    uint32_t want;
    std::memcpy(&want, frame + 4, 4);
    uint32_t crc = crc32cExtend(0, frame, 4);
    crc = crc32cExtend(crc, p.data(), p.size());
    if (crc != le32toh(want)) return;
    for (size_t pad = p.size(); pad < frameSize(p.size()) - kFrameHeaderSize; ++pad) {
      if (p.data()[pad] != 0) return;
    }
    const uint64_t index = from + i;
    RecordFacts f;
    if (scanRecordFast(p, index, origin, &f) && !needsFullRecord(f)) {
      tallyFacts(f, true, c.out);
    } else {
      auto rec = parseRecord(p, RecordExpectation{index, origin});
      if (!rec.ok()) return;
      f = factsOf(*rec);
      tallyFacts(f, false, c.out);  // f's views point into rec
      tallyAnomaly(index, *rec, c.out);
      if (rec->has_anchor()) c.anchors.push_back(i);
    }
    if (f.sealed) c.sealed.push_back(i);
    c.times[k] = f.observed_unix_nanos;
    if (!sha256) c.leaves[k] = hasher.leafHash(p);
  }
  // SHA-256 leaves and the chunk's subtree go two hashes at a time (merkle_batch_sha256).
  if (sha256) sha256LeafHashes(c.payloads.data(), n, c.leaves);
  if (n == kChunk && (from + c.begin) % kChunk == 0) {
    if (sha256) {
      // A perfect subtree: fold level by level in this thread's scratch (the leaves are kept).
      thread_local std::vector<Hash> scratch(kChunk / 2);
      Hash* level = scratch.data();
      sha256NodeHashes(c.leaves, n / 2, level);
      for (uint64_t w = n / 2; w > 1; w /= 2) sha256NodeHashes(level, w / 2, level);
      c.root = level[0];
    } else {
      CompactRange sub(hasher);
      for (uint64_t k = 0; k < n; ++k) sub.append(c.leaves[k]);
      c.root = sub.root();  // one hash: kChunk is a power of two
    }
    c.has_root = true;
  }
  c.clean = true;
}

// After steps 2-4, with every chunk clean: folds the chunks into the tree in order and
// checks each checkpoint root; then the order-dependent checks (times, anchors).
// Returns false, having changed nothing, when a root differs.
bool Run::finishFastRecords(const CompactRange& start) {
  const uint64_t from = manifest_.range_from();
  Fold tree(*hasher_, start);
  auto next_cp = cps_.upper_bound(from);
  auto check = [&] {
    if (next_cp != cps_.end() && next_cp->first == tree.size()) {
      if (rawOf(tree.root()) != next_cp->second.cp.root) return false;
      ++next_cp;
    }
    return true;
  };
  for (const Chunk& c : chunks_) {
    const bool inside = next_cp != cps_.end() && next_cp->first < from + c.begin + c.payloads.size();
    if (c.has_root && !inside) {
      tree.append(c.root, kChunkLog2);
      if (!check()) return false;
      continue;
    }
    for (size_t k = 0; k < c.payloads.size(); ++k) {
      tree.append(c.leaves[k], 0);
      if (!check()) return false;
    }
  }
  int64_t last_time = INT64_MIN;
  const int64_t tolerance = opt_.trust.policy().clock_tolerance_seconds() * 1000000000LL;
  RangeOut late;
  records_.clear();
  records_.reserve(chunks_.back().begin + chunks_.back().payloads.size());
  sealed_.clear();
  for (auto& c : chunks_) {
    for (size_t k = 0; k < c.payloads.size(); ++k) {
      const int64_t t = c.times[k];
      const uint64_t index = from + c.begin + k;
      if (t < last_time && last_time - t > tolerance) {
        if (time_back_++ == 0) first_back_ = index;
      }
      last_time = std::max(last_time, t);
      if (!gen_time_.empty()) checkLate(index, t, late);
    }
    records_.insert(records_.end(), c.payloads.begin(), c.payloads.end());
    // ANCHOR records need the verified checkpoints (step 3): checked here, in order.
    for (uint64_t i : c.anchors) {
      auto rec = parseRecord(c.payloads[i - c.begin]);
      if (rec.ok()) checkAnchor(from + i, *rec, c.out);
    }
    sealed_.insert(sealed_.end(), c.sealed.begin(), c.sealed.end());
    flush(c.out);
  }
  flush(late);
  return true;
}

void Run::stepCited() {
  const uint64_t from = manifest_.range_from();
  std::set<uint64_t> cited(manifest_.cited().begin(), manifest_.cited().end());
  bool ok = true;
  size_t n = 0;
  for (const auto& entry : files_) {
    // Named references, not a structured binding: clang 14 cannot capture those.
    const std::string& path = entry.first;
    const std::string_view data = entry.second;
    if (!path.starts_with("proofs/records/") || !path.ends_with(".tlog-proof")) continue;
    ++n;
    auto name_idx = bundle::parseDecimal(std::string_view(path).substr(15, path.size() - 15 - 11));
    v1::CitedRecord* row = res_.add_cited();
    row->set_proof_sha256(toHex(bundle::sha256Bytes(data)));
    auto fail = [&](std::string why) {
      add(7, "cited.proof", v1::FAIL, path, std::move(why));
      row->set_status("FAIL");
      ok = false;
    };
    auto p = bundle::parseTlogProof(data);
    if (!p.ok()) { fail(std::string(p.status().message())); continue; }
    row->set_index(p->index);
    if (!name_idx.ok() || *name_idx != p->index) { fail("index in the file does not match its name"); continue; }
    cited.erase(p->index);
    auto cp = crypto::openCheckpoint(p->checkpoint, verifiers_, opt_.trust.origin());
    if (!cp.ok()) { fail(absl::StrCat("checkpoint: ", cp.status().message())); continue; }
    if (auto known = cps_.find(cp->checkpoint.size); known != cps_.end() && known->second.cp.root != cp->checkpoint.root) {
      fail(absl::StrCat("equivocation: its checkpoint ", cp->checkpoint.size, " differs from the bundle's"));
      continue;
    }
    if (p->index < from || p->index - from >= records_.size()) {
      add(7, "cited.proof", v1::UNVERIFIABLE, path, "cited record is not in the bundle's records");
      row->set_status("UNVERIFIABLE");
      continue;
    }
    std::string_view bytes = records_[p->index - from];
    Hash leaf = hasher_->leafHash(bytes);
    auto st = merkle::verifyInclusion(*hasher_, p->index, cp->checkpoint.size, rawOf(leaf), p->hashes, cp->checkpoint.root);
    if (!st.ok()) { fail(absl::StrCat("inclusion proof: ", st.message())); continue; }
    auto rec = parseRecord(bytes);
    if (rec.ok()) {
      row->set_type(evidence::v1::RecordType_Name(rec->type()));
      if (rec->has_flow()) {
        row->set_summary(absl::StrCat(rec->tenant(), " -> ", rec->flow().dst_country(), " ", rec->flow().data_category(),
                                      " ", rec->flow().policy_decision(), " rule ", rec->flow().rule_id()));
      } else if (rec->has_alert()) {
        row->set_summary(rec->alert().kind() + " " + rec->alert().detail());
      } else if (rec->has_system()) {
        row->set_summary(rec->system().kind() + " " + rec->system().detail());
      }
    }
    row->set_status("PASS");
  }
  for (uint64_t missing : cited) {
    add(7, "cited.proof", v1::FAIL, absl::StrCat("proofs/records/", missing, ".tlog-proof"),
        "cited in MANIFEST.json but the proof is missing");
    ok = false;
  }
  if (ok) add(7, "cited.proof", v1::PASS, "proofs/records/", absl::StrCat(n, " tlog-proof file(s) verify on their own"));
}

// Step 6: an ANCHOR record must embed a valid token over the checkpoint it names.
void Run::checkAnchor(uint64_t index, const evidence::v1::EvidenceRecord& r, RangeOut& out) const {
  auto add = [&](uint32_t step, const char* id, v1::Status st, std::string location, std::string detail) {
    out.rows.push_back({step, id, st, std::move(location), std::move(detail)});
  };
  if (r.has_anchor() && r.anchor().kind() == "rfc3161") {
    const auto& a = r.anchor();
    auto body = crypto::formatCheckpoint({opt_.trust.origin(), a.covers_tree_size(), a.covers_root()});
    std::string where = absl::StrCat("record ", index);
    if (!body.ok()) {
      add(6, "semantics.anchor", v1::FAIL, where, std::string(body.status().message()));
    } else if (auto cp = cps_.find(a.covers_tree_size()); cp != cps_.end() && cp->second.cp.root != a.covers_root()) {
      add(6, "semantics.anchor", v1::FAIL, where,
          absl::StrCat("anchors a root for size ", a.covers_tree_size(), " that differs from checkpoint ", cp->first));
    } else if (!opt_.trust.tsa_roots_pem().empty()) {
      auto chain = files_.find("keys/tsa-chain.pem");
      auto t = verifyTimestamp(a.blob(), *body, opt_.trust, chain == files_.end() ? "" : std::string_view(chain->second));
      if (!t.ok()) {
        add(6, "semantics.anchor", v1::FAIL, where, absl::StrCat("embedded token: ", t.status().message()));
      } else {
        ++out.anchors_ok;
      }
    }
  }
}

// Step 6: a record must not claim a time after the TSA time of the first stamped
// checkpoint that covers it (the appliance clock is untrusted; the TSA's is not).
void Run::checkLate(uint64_t index, int64_t observed_unix_nanos, RangeOut& out) const {
  auto covering = gen_time_.upper_bound(index);
  if (covering != gen_time_.end() &&
      observed_unix_nanos / 1000000000 > covering->second + opt_.trust.policy().clock_tolerance_seconds()) {
    if (out.late++ == 0) out.first_late = index;
  }
}

// Queues SHA-256 and SM3 of every file, costliest first (SM3 is about four times
// slower than SHA-256 with SHA-NI): a pool thread takes SM3 of the records file while
// this thread takes SHA-256 (step 2 waits for those) and then the record chunks.
void Run::startDigests() {
  struct Job {
    size_t cost;
    bool sm3;
    std::string_view data;
    std::string* out;
  };
  std::vector<Job> jobs;
  // The record pass runs on the pool too unless the in-order pass is asked for.
  const uint64_t from = manifest_.range_from(), to = manifest_.range_to();
  const std::string records = absl::StrCat("records/", from, "-", to, ".frames");
  fast_wanted_ = opt_.threads != 1 && from <= to && files_.count(records) > 0;
  for (const auto& [path, data] : files_) {
    Digests& d = digests_[path];
    jobs.push_back({data.size() * 4 + 1, true, data, &d.sm3});
    jobs.push_back({data.size() + 1, false, data, &d.sha256});
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.cost > b.cost; });
  for (const Job& j : jobs) {
    if (!j.sm3 && fast_wanted_ && j.out == &digests_[records].sha256) {
      pool_->add(kGroupSha, [this, j] { walkAndHashRecords(j.data, j.out); });
      continue;
    }
    pool_->add(j.sm3 ? kGroupSm3 : kGroupSha, [j] { *j.out = j.sm3 ? sm3Hex(j.data) : toHex(bundle::sha256Bytes(j.data)); });
  }
}

// Step 2's SM3 half. Steps 3-8 ran on the (SHA-256-authenticated) files meanwhile; if
// an SM3 value disagrees, their rows are withdrawn so the result still fails closed.
void Run::finishSm3() {
  pool_->wait(kGroupSm3);
  std::vector<std::string> bad;
  for (const auto& f : manifest_.files()) {
    auto it = digests_.find(f.path());
    if (it != digests_.end() && it->second.sm3 != f.sm3()) bad.push_back(f.path());
  }
  if (auto it = digests_.find("keys/appliance-chain.pem"); it != digests_.end()) {
    res_.mutable_identity()->set_cert_sm3(it->second.sm3);
  }
  if (bad.empty()) {
    add(2, "manifest.files-sm3", v1::PASS, kManifestJson, "SM3 of every file matches");
    return;
  }
  v1::Result kept;
  for (const auto& c : res_.checks()) {
    if (c.step() <= 2) *kept.add_checks() = c;
  }
  res_.clear_checks();
  res_.clear_checkpoints();
  res_.clear_cited();
  res_.clear_anomalies();
  res_.set_records(0);
  res_.set_flows(0);
  res_.set_flows_open(0);
  counts_.clear();
  for (const auto& c : kept.checks()) *res_.add_checks() = c;
  for (const auto& path : bad) add(2, "manifest.file", v1::FAIL, path, "SM3 differs from MANIFEST.json");
  notRun(3);
}

// Step 8: only over records step 5 accepted (their digests are authenticated).
void Run::stepEnvelopes() {
  if (failed_ || !records_ok_) {
    add(8, "envelopes", v1::UNVERIFIABLE, "envelopes/", "not run: the records did not verify");
    return;
  }
  EnvelopeInputs in;
  in.files = &files_;
  in.from = manifest_.range_from();
  in.records = records_;
  in.sealed = &sealed_;
  in.origin = opt_.trust.origin();
  in.hash = hasher_->alg();
  in.regulator_key = opt_.regulator_key ? &*opt_.regulator_key : nullptr;
  for (auto& c : verifyEnvelopes(in)) *res_.add_checks() = std::move(c);
}

absl::StatusOr<v1::Result> Run::go(std::string_view archive) {
  if (!readTrust()) {
    return absl::InvalidArgumentError("trust file: needs origin, hash (sha256|sm3) and valid log_vkeys");
  }
  if (opt_.since_checkpoint) {
    auto s = crypto::openCheckpoint(*opt_.since_checkpoint, verifiers_, opt_.trust.origin());
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("--since checkpoint: ", s.status().message()));
    since_ = s->checkpoint;
  }
  if (!stepArchive(archive)) {
    notRun(2);
  } else {
    const unsigned cores = opt_.threads != 0 ? opt_.threads : std::max(1u, std::thread::hardware_concurrency());
    pool_.emplace(std::min(cores, 8u) - 1);  // this thread is the last worker
    startDigests();
    if (!stepManifest()) {
      pool_->cancel();
      notRun(3);
    } else {
      stepCheckpoints();
      stepAppendOnly();
      stepRecords();
      if (!failed_) {
        stepCited();
      }
      stepEnvelopes();
      finishSm3();
    }
    pool_.reset();
  }
  // Rows in §5.2 step order (SM3 and semantic rows are produced out of order).
  std::stable_sort(res_.mutable_checks()->begin(), res_.mutable_checks()->end(),
                   [](const v1::Check& x, const v1::Check& y) { return x.step() < y.step(); });
  for (const auto& [k, v] : counts_) {
    v1::Count* c = res_.add_counts();
    c->set_dimension(k.first);
    c->set_key(k.second);
    c->set_count(v);
  }
  int code = exitCodeFor(res_);
  res_.set_exit_code(code);
  res_.set_verdict(code == 0 ? "VERIFIED" : code == 1 ? "TAMPERED" : "UNVERIFIABLE");
  return res_;
}

}  // namespace

absl::StatusOr<v1::Result> verifyBundle(std::string_view archive, const VerifyOptions& options) {
  Run run(options);
  return run.go(archive);
}

int exitCodeFor(const v1::Result& r) {
  bool unverifiable = false;
  for (const auto& c : r.checks()) {
    if (c.status() == v1::FAIL) return kExitTampered;
    unverifiable |= c.status() == v1::UNVERIFIABLE;
  }
  return unverifiable ? kExitUnverifiable : kExitVerified;
}

std::string summaryText(const v1::Result& r) {
  std::string o;
  for (const auto& c : r.checks()) {
    if (c.status() == v1::PASS || c.status() == v1::SKIPPED) continue;
    absl::StrAppend(&o, v1::Status_Name(c.status()), " step ", c.step(), " ", c.id(), " ", c.location(), ": ",
                    c.detail(), "\n");
  }
  absl::StrAppend(&o, r.verdict(), " (", r.records(), " records, ", r.checkpoints_size(), " checkpoints)\n");
  if (r.flows() > 0 || r.flows_open() > 0) {
    absl::StrAppend(&o, "flows: ", r.flows(), " ended (final record), ", r.flows_open(),
                    " open (FLOW records but no final record in the bundle)\n");
  }
  return o;
}

std::string resultJson(const v1::Result& r) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(r, &out, o);
  return out;
}

}  // namespace xborder::evidence::verify
