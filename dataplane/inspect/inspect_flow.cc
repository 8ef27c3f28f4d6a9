#include "dataplane/inspect/inspect_flow.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace xborder::dp {
namespace {

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool containsNoCase(std::string_view s, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (startsWithNoCase(s.substr(i), needle)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

constexpr std::string_view kMethods[] = {"GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD ",
                                         "OPTIONS "};

}  // namespace

// ---------------------------------------------------------------- RecordCounter

RecordCounter::Mode RecordCounter::modeForContentType(std::string_view ct) noexcept {
  if (containsNoCase(ct, "csv") || containsNoCase(ct, "tab-separated-values")) return Mode::kCsv;
  if (containsNoCase(ct, "ndjson") || containsNoCase(ct, "jsonl") ||
      containsNoCase(ct, "json-seq") || containsNoCase(ct, "jsonlines")) {
    return Mode::kLines;
  }
  if (containsNoCase(ct, "json")) return Mode::kJson;
  if (ct.empty()) return Mode::kAuto;
  if (startsWithNoCase(ct, "text/")) return Mode::kLines;
  return Mode::kSingle;  // a form, a file: one record
}

void RecordCounter::reset(Mode m) noexcept { *this = RecordCounter{}; mode_ = m; }

void RecordCounter::feedJson(uint8_t c) noexcept {
  if (in_string_) {
    if (escape_) escape_ = false;
    else if (c == '\\') escape_ = true;
    else if (c == '"') in_string_ = false;
    return;
  }
  switch (c) {
    case '"':
      in_string_ = true;
      break;
    case '[':
    case '{':
      if (depth_ == 0) {
        top_array_ = c == '[';
        if (!top_array_) ++json_records_;  // a single top-level object is one record
      } else if (depth_ == 1 && top_array_) {
        ++json_records_;  // an element of the top-level array
      }
      ++depth_;
      break;
    case ']':
    case '}':
      if (depth_ > 0) --depth_;
      break;
    default:
      // A scalar element of a top-level array ("[1,2]") counts at its first byte
      // after '[' or ','; kept simple: only objects and arrays are records.
      break;
  }
}

void RecordCounter::feed(const uint8_t* p, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    if (mode_ == Mode::kAuto) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      mode_ = (c == '[' || c == '{') ? Mode::kJson : Mode::kLines;
    }
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') any_ = true;
    if (mode_ == Mode::kJson) {
      // JSON Lines sent as application/json: a second top-level object after a
      // newline means one object per line, which feedJson counts the same way.
      feedJson(c);
    } else if (c == '\n') {
      if (line_open_) ++lines_;
      line_open_ = false;
    } else if (c != '\r') {
      line_open_ = true;
    }
  }
}

uint32_t RecordCounter::records() const noexcept {
  switch (mode_) {
    case Mode::kAuto:
      return 0;
    case Mode::kJson:
      return json_records_;
    case Mode::kSingle:
      return any_ ? 1 : 0;
    case Mode::kLines:
      return lines_ + (line_open_ ? 1 : 0);
    case Mode::kCsv: {
      const uint32_t rows = lines_ + (line_open_ ? 1 : 0);
      return rows > 0 ? rows - 1 : 0;  // the header row is not a record
    }
  }
  return 0;
}

// ---------------------------------------------------------------- FlowInspector

absl::StatusOr<std::unique_ptr<FlowInspector>> FlowInspector::create(
    const InspectConfig& config, std::shared_ptr<const rules::detectors::DetectorSet> set,
    std::span<const uint8_t> hmac_key) {
  if (config.max_flows == 0) {
    return absl::InvalidArgumentError("inspection pool size must be > 0");
  }
  std::unique_ptr<FlowInspector> fi(new (std::nothrow) FlowInspector());
  if (!fi) return absl::ResourceExhaustedError("out of memory creating the inspector");
  fi->config_ = config;
  auto scanner = rules::detectors::Scanner::create(std::move(set), hmac_key, config.today_yyyymmdd);
  if (!scanner.ok()) return scanner.status();
  fi->scanner_ = std::move(*scanner);
  fi->slots_ = std::vector<InspectSlot>(config.max_flows);
  fi->free_.reserve(config.max_flows);
  for (uint32_t i = config.max_flows; i-- > 0;) {
    for (auto& d : fi->slots_[i].dir) {
      // Streams are opened once here so acquire() only resets (no allocation).
      if (!fi->scanner_->open(d.scan)) {
        return absl::InternalError("cannot open a Hyperscan stream for the inspection pool");
      }
    }
    fi->free_.push_back(i);
  }
  return fi;
}

FlowInspector::~FlowInspector() {
  if (!scanner_) return;
  for (auto& s : slots_) {
    for (auto& d : s.dir) scanner_->release(d.scan);
  }
}

uint32_t FlowInspector::acquire() noexcept {
  if (free_.empty()) {
    ++pool_exhausted_;
    return kNoInspectSlot;
  }
  const uint32_t idx = free_.back();
  free_.pop_back();
  InspectSlot& s = slots_[idx];
  for (auto& d : s.dir) {
    scanner_->reset(d.scan);
    d.next_seq = 0;
    d.seq_known = false;
    d.done = false;
    d.inspect = true;
    d.scanned = 0;
    d.skipped = 0;
    d.gaps = 0;
    d.retransmits = 0;
    d.http = InspectDirection::Http::kUnknown;
    d.body_left = 0;
    d.line_len = 0;
    d.records.reset(RecordCounter::Mode::kAuto);
    d.messages = 0;
  }
  s.path_len = 0;
  s.content_type_len = 0;
  s.type_dir = 0;
  s.finished = false;
  return idx;
}

void FlowInspector::setDirections(uint32_t slot, uint8_t mask) noexcept {
  InspectSlot& s = slots_[slot];
  s.dir[0].inspect = (mask & 1) != 0;
  s.dir[1].inspect = (mask & 2) != 0;
  s.type_dir = mask == 2 ? 1 : 0;
}

void FlowInspector::release(uint32_t slot) noexcept {
  if (slot >= slots_.size()) return;
  free_.push_back(slot);  // capacity reserved at create()
}

void FlowInspector::finish(uint32_t slot) noexcept {
  InspectSlot& s = slots_[slot];
  if (s.finished) return;
  s.finished = true;
  current_owner_ = s.owner;
  for (uint8_t i = 0; i < 2; ++i) {
    current_dir_ = i;
    scanner_->finish(s.dir[i].scan);
    drain(s.dir[i]);
    s.dir[i].done = true;
  }
}

void FlowInspector::closeDirection(InspectDirection& D) noexcept {
  if (D.inspect) {
    scanner_->finish(D.scan);  // idempotent: finish() at flow end adds nothing
    drain(D);
  }
  D.done = true;
}

void FlowInspector::scan(InspectDirection& D, const uint8_t* p, size_t n) noexcept {
  if (hash_sink_ == nullptr) {
    scanner_->scan(D.scan, p, n);
    return;
  }
  for (size_t off = 0; off < n; off += kHashChunk) {
    scanner_->scan(D.scan, p + off, n - off < kHashChunk ? n - off : kHashChunk);
    drain(D);
  }
}

void FlowInspector::drain(InspectDirection& D) noexcept {
  if (hash_sink_ == nullptr) return;
  const auto hashes = D.scan.result().hashes();
  if (hashes.empty()) return;
  hash_sink_->onKeyHashes(current_owner_, current_dir_, hashes);
  // Emptied so the scanner keeps the next ones (it holds kMaxKeyHashes at a time).
  D.scan.clearKeyHashes();
}

void FlowInspector::httpLine(InspectSlot& s, uint32_t d, std::string_view line) noexcept {
  InspectDirection& D = s.dir[d];
  if (D.http == InspectDirection::Http::kUnknown) {
    bool request = false;
    for (auto m : kMethods) {
      if (line.substr(0, m.size()) == m) {
        request = true;
        line.remove_prefix(m.size());
        break;
      }
    }
    D.msg_request = request;
    D.msg_has_type = false;
    D.msg_form = false;
    if (request) {
      const size_t sp = line.find(' ');
      const std::string_view path = line.substr(0, sp);
      if (s.path_len == 0) {
        s.path_len = static_cast<uint8_t>(std::min(path.size(), s.path.size()));
        std::memcpy(s.path.data(), path.data(), s.path_len);
      }
      D.http = InspectDirection::Http::kHeaders;
    } else if (line.substr(0, 5) == "HTTP/") {
      D.http = InspectDirection::Http::kHeaders;
    } else {
      D.http = InspectDirection::Http::kNotHttp;
    }
    D.body_left = 0;
    return;
  }
  if (line.empty()) {  // end of headers
    D.http = InspectDirection::Http::kBody;
    D.records.reset(RecordCounter::modeForContentType(s.contentTypeView()));
    ++D.messages;
    return;
  }
  if (startsWithNoCase(line, "content-type:")) {
    const std::string_view v = trim(line.substr(13));
    D.msg_has_type = true;
    D.msg_form = containsNoCase(v, "x-www-form-urlencoded");
    // The export direction's type wins (uploads are what the list judges; for a pull,
    // the response); an import direction's type says nothing about what left.
    if (D.inspect && (s.content_type_len == 0 || d == s.type_dir)) {
      s.content_type_len = static_cast<uint8_t>(std::min(v.size(), s.content_type.size()));
      std::memcpy(s.content_type.data(), v.data(), s.content_type_len);
    }
  } else if (startsWithNoCase(line, "content-length:")) {
    uint64_t n = 0;
    for (char c : trim(line.substr(15))) {
      if (c < '0' || c > '9') break;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    D.body_left = n;
  } else if (startsWithNoCase(line, "transfer-encoding:")) {
    D.body_left = UINT64_MAX;  // chunked: body until the end of the stream
  }
}

static int hexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void FlowInspector::scanForm(InspectDirection& D, const uint8_t* p, size_t n) noexcept {
  uint8_t out[1024];  // decoded in bounded chunks on the stack (no allocation)
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    if (D.pct_len == 1) {
      const int h = hexValue(c);
      if (h < 0) {
        out[k++] = '%';
        out[k++] = c;
        D.pct_len = 0;
      } else {
        D.pct_hi = static_cast<uint8_t>(h);
        D.pct_len = 2;
      }
    } else if (D.pct_len == 2) {
      const int h = hexValue(c);
      if (h < 0) {
        out[k++] = '%';
        out[k++] = "0123456789ABCDEF"[D.pct_hi];
        out[k++] = c;
      } else {
        out[k++] = static_cast<uint8_t>((D.pct_hi << 4) | h);
      }
      D.pct_len = 0;
    } else if (c == '%') {
      D.pct_len = 1;
    } else if (c == '&') {
      out[k++] = '\n';  // one field per line: keeps keyword proximity to its field
    } else {
      out[k++] = c == '+' ? ' ' : c;
    }
    if (k + 3 > sizeof(out)) {
      scan(D, out, k);
      k = 0;
    }
  }
  if (k > 0) scan(D, out, k);
}

void FlowInspector::httpFeed(InspectSlot& s, uint32_t d, const uint8_t* p, size_t n) noexcept {
  InspectDirection& D = s.dir[d];
  const bool inspect = D.inspect;  // false: framing only (import direction)
  size_t i = 0;
  size_t raw = 0;  // start of the bytes not yet given to the detectors
  while (i < n) {
    if (D.http == InspectDirection::Http::kNotHttp) {
      if (inspect) D.records.feed(p + i, n - i);  // a raw stream: its bytes are the body
      i = n;
      break;
    }
    if (D.http == InspectDirection::Http::kBody) {
      const size_t take = D.body_left == UINT64_MAX
                              ? n - i
                              : static_cast<size_t>(std::min<uint64_t>(D.body_left, n - i));
      if (D.form_body && inspect) {
        if (i > raw) scan(D, p + raw, i - raw);
        scanForm(D, p + i, take);
        raw = i + take;
      }
      // Count records over all bodies of the direction: keep the counter, feed bytes.
      if (inspect) D.records.feed(p + i, take);
      i += take;
      if (D.body_left != UINT64_MAX) {
        D.body_left -= take;
        if (D.body_left == 0) {
          D.http = InspectDirection::Http::kUnknown;  // next message on keep-alive
        }
      }
      continue;
    }
    // Header bytes: collect one line (truncated to the buffer, still delimited).
    const uint8_t c = p[i++];
    if (c == '\n') {
      std::string_view line(D.line.data(), D.line_len);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      D.line_len = 0;
      const bool was_unknown = D.http == InspectDirection::Http::kUnknown;
      httpLine(s, d, line);
      if (was_unknown && D.http == InspectDirection::Http::kNotHttp) {
        D.records.reset(RecordCounter::Mode::kAuto);
        D.records.feed(reinterpret_cast<const uint8_t*>(line.data()), line.size());
        D.records.feed(reinterpret_cast<const uint8_t*>("\n"), 1);
      }
      if (D.http == InspectDirection::Http::kBody) {
        // Request bodies without a type are usually forms too (old clients); decoding
        // other bytes only turns "%xx" into the byte it stands for.
        D.form_body = D.msg_request && (D.msg_form || !D.msg_has_type);
        D.pct_len = 0;
        if (D.body_left == 0) {
          D.http = InspectDirection::Http::kUnknown;  // no body
        }
      }
    } else if (D.line_len < D.line.size()) {
      D.line[D.line_len++] = static_cast<char>(c);
    } else if (D.http == InspectDirection::Http::kUnknown) {
      D.http = InspectDirection::Http::kNotHttp;  // a first line this long is not HTTP
      D.records.reset(RecordCounter::Mode::kAuto);
      D.records.feed(reinterpret_cast<const uint8_t*>(D.line.data()), D.line_len);
      D.line_len = 0;
    }
  }
  if (inspect && n > raw) scan(D, p + raw, n - raw);
}

void FlowInspector::scanBytes(InspectSlot& s, uint32_t d, const uint8_t* p, size_t n) noexcept {
  InspectDirection& D = s.dir[d];
  if (D.done || n == 0) return;
  if (!D.inspect) {
    // Import: not scanned, no budget; the framing keeps the path and message lengths
    // right should the direction be enabled again (a new ruleset version).
    httpFeed(s, d, p, n);
    D.skipped += n;
    bytes_skipped_ += n;
    return;
  }
  if (D.scanned + n > config_.byte_budget) {
    n = static_cast<size_t>(config_.byte_budget - D.scanned);
    D.done = true;
    ++budget_hits_;
  }
  httpFeed(s, d, p, n);
  D.scanned += n;
  bytes_scanned_ += n;
}

bool FlowInspector::feed(uint32_t slot, const PacketView& pkt) noexcept {
  InspectSlot& s = slots_[slot];
  current_owner_ = s.owner;
  const uint32_t d = pkt.dir & 1u;
  current_dir_ = static_cast<uint8_t>(d);
  InspectDirection& D = s.dir[d];
  if (s.finished || D.done) return false;
  const uint8_t* p = pkt.payload;
  uint32_t n = pkt.payload_len;
  // FIN: this direction carries no more data (an export direction that ended lets the
  // flow settle, see RulesPolicy::settled).
  const bool fin = pkt.tcp && (pkt.tcp_flags & 0x01) != 0;
  if (pkt.tcp && pkt.has_seq) {
    const bool syn = pkt.tcp_flags & 0x02;
    if (!D.seq_known) {
      D.seq_known = true;
      D.next_seq = pkt.tcp_seq + (syn ? 1 : 0);
    }
    if (n == 0) {
      // Only a FIN in order ends the direction (data before a later FIN may still come).
      if (fin && pkt.tcp_seq == D.next_seq) {
        const uint32_t before = D.scan.result().totalHits();
        closeDirection(D);
        return D.scan.result().totalHits() != before;
      }
      return false;
    }
    const uint32_t seq = pkt.tcp_seq + (syn ? 1 : 0);
    const int32_t ahead = static_cast<int32_t>(seq - D.next_seq);
    if (ahead > 0) {
      ++D.gaps;  // a hole: skip it and re-synchronise on this segment
      ++gaps_;
    } else if (ahead < 0) {
      const uint32_t old = static_cast<uint32_t>(-ahead);
      if (old >= n) {
        ++D.retransmits;
        return false;
      }
      p += old;  // overlap: only the new tail
      n -= old;
    }
    D.next_seq = seq + (ahead < 0 ? static_cast<uint32_t>(-ahead) : 0) + n;
  } else if (n == 0) {
    return false;
  }
  const uint32_t before = D.scan.result().totalHits() + s.records();
  scanBytes(s, d, p, n);
  if (fin && pkt.tcp && pkt.has_seq && !D.done) closeDirection(D);
  return D.scan.result().totalHits() + s.records() != before;
}

bool isEncryptedApp(std::string_view a) noexcept {
  static constexpr std::string_view kEncrypted[] = {"tls", "quic", "ssh", "dtls", "ipsec",
                                                    "openvpn", "wireguard", "rdp"};
  for (auto e : kEncrypted) {
    if (a == e) return true;
  }
  return false;
}

}  // namespace xborder::dp
