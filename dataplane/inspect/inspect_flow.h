// Per-flow payload inspection: feeds each direction's cleartext payload, in TCP
// sequence order, to the content detectors (rules/detectors Scanner), extracts the
// HTTP request path and Content-Type, and counts records as docs/negative-list.md
// §4.4 defines them (CSV/TSV rows without the header, top-level JSON array elements
// or one JSON object, JSON Lines lines), streaming and bounded.
//
// Bounded memory: a per-worker pool of `max_flows` slots, each with two
// FlowScanStates whose Hyperscan streams are opened once at create(); acquire()
// only resets them (no allocation on the packet path). When the pool is exhausted
// the flow is judged on metadata (counted). Each direction stops being scanned after
// `byte_budget` payload bytes (counted), or at its FIN (no data can follow).
//
// Export direction (verdict_export_side.h): the caller says which directions are
// export (setDirections); the other one (import) is not scanned and its records are
// not counted, only its HTTP framing is followed (request line for the path, message
// lengths), which costs a few bytes per header line and nothing per body byte.
//
// TCP ordering: the next expected sequence number is tracked per direction. A
// retransmitted segment is skipped (its new tail, if any, is scanned); a segment
// beyond a hole is counted as a gap and the direction re-synchronises on it (the
// detectors' stream continues: a hit spanning the hole may be missed, never invented
// from bytes that were not seen).
//
// Threads: one FlowInspector per worker.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/verdict/verdict_policy.h"
#include "rules/detectors/detector_scanner.h"

namespace xborder::dp {

struct InspectConfig {
  uint32_t max_flows = 4096;           // flows inspected at once per worker
  uint64_t byte_budget = 1ull << 20;   // payload bytes scanned per direction (1 MiB)
  uint32_t today_yyyymmdd = 0;         // birth dates after it are invalid (0 = today)
};

inline constexpr uint32_t kNoInspectSlot = 0xFFFFFFFFu;

// Record counting (docs/negative-list.md §4.4), one per direction's body.
class RecordCounter {
 public:
  enum class Mode : uint8_t { kAuto = 0, kLines, kCsv, kJson, kSingle };
  void reset(Mode m) noexcept;
  void feed(const uint8_t* p, size_t n) noexcept;
  // Records so far (a final line without a newline counts).
  uint32_t records() const noexcept;
  static Mode modeForContentType(std::string_view content_type) noexcept;

 private:
  void feedJson(uint8_t c) noexcept;
  Mode mode_ = Mode::kAuto;
  bool any_ = false;         // saw a non-space byte
  bool line_open_ = false;   // bytes after the last newline
  bool in_string_ = false, escape_ = false;
  bool top_array_ = false;
  uint32_t depth_ = 0;
  uint32_t lines_ = 0;
  uint32_t json_records_ = 0;
};

// One direction of an inspected flow.
struct InspectDirection {
  rules::detectors::FlowScanState scan;
  uint32_t next_seq = 0;
  bool seq_known = false;
  bool done = false;         // budget reached, FIN seen, or stopped
  bool inspect = true;       // scanned (false: import direction, HTTP framing only)
  uint64_t scanned = 0;      // payload bytes given to the detectors
  uint64_t skipped = 0;      // payload bytes of the import direction (not scanned)
  uint32_t gaps = 0;
  uint32_t retransmits = 0;
  // HTTP framing (cheap: request/status line and two headers).
  enum class Http : uint8_t { kUnknown, kHeaders, kBody, kNotHttp } http = Http::kUnknown;
  uint64_t body_left = 0;    // Content-Length remaining; UINT64_MAX = until the end
  uint16_t line_len = 0;
  std::array<char, 512> line{};
  RecordCounter records;
  uint32_t messages = 0;     // HTTP messages whose body was seen
  // application/x-www-form-urlencoded body: detectors see it percent-decoded ("%40" is
  // '@'); a '%' escape split across segments is carried here.
  bool form_body = false;
  bool msg_request = false;  // the current message is a request
  bool msg_has_type = false; // ... with a Content-Type header
  bool msg_form = false;     // ... of application/x-www-form-urlencoded
  uint8_t pct_len = 0;       // 0, 1 ('%' seen) or 2 ('%' and one hex digit)
  uint8_t pct_hi = 0;
};

struct InspectSlot {
  std::array<InspectDirection, 2> dir;
  uint32_t owner = 0;  // the caller's tag for KeyHashSink (e.g. its flow slot)
  std::array<char, 128> path{};
  uint8_t path_len = 0;
  std::array<char, 96> content_type{};
  uint8_t content_type_len = 0;
  // The direction whose Content-Type wins: the export direction (the request's when
  // both directions are inspected). An import direction's type is ignored.
  uint8_t type_dir = 0;
  bool finished = false;
  // The first request's path, whichever direction carried it (for a pull from abroad
  // the request is import, its path still names what was pulled).
  std::string_view pathView() const { return {path.data(), path_len}; }
  std::string_view contentTypeView() const { return {content_type.data(), content_type_len}; }
  uint32_t records() const { return dir[0].records.records() + dir[1].records.records(); }
  // Records of the directions in `mask` (bit 0: client->server, bit 1: server->client).
  uint32_t records(uint8_t mask) const {
    return ((mask & 1) ? dir[0].records.records() : 0) + ((mask & 2) ? dir[1].records.records() : 0);
  }
};

// Receives the keyed hashes of identifiers as the detectors confirm them. The scanner
// keeps only 16 per flow direction; with a sink set, the inspector scans in chunks
// small enough that no chunk can confirm more than that, and hands them over after each
// chunk, so a flow carrying 100,000 people yields 100,000 hashes. Worker thread.
class KeyHashSink {
 public:
  virtual ~KeyHashSink() = default;
  // `dir`: the direction whose payload carried them (0 client->server, 1 server->client).
  virtual void onKeyHashes(uint32_t owner, uint8_t dir,
                           std::span<const rules::detectors::KeyHash> hashes) noexcept = 0;
};

class FlowInspector {
 public:
  static absl::StatusOr<std::unique_ptr<FlowInspector>> create(
      const InspectConfig& config, std::shared_ptr<const rules::detectors::DetectorSet> set,
      std::span<const uint8_t> hmac_key);
  ~FlowInspector();

  // A slot for a new flow, or kNoInspectSlot (pool exhausted: counted).
  uint32_t acquire() noexcept;
  // Which directions are scanned (bit 0: client->server, bit 1: server->client; both
  // after acquire()). Worker thread, any time: a direction enabled again mid-flow
  // resumes scanning at its next byte (what passed meanwhile is like a gap).
  void setDirections(uint32_t slot, uint8_t mask) noexcept;
  // Feeds one packet's payload (and a FIN without payload: the direction ends). Returns
  // true if detector or record counts changed.
  bool feed(uint32_t slot, const PacketView& pkt) noexcept;
  // End of inspection (flow end or budget): flushes end-anchored matches. Idempotent.
  void finish(uint32_t slot) noexcept;
  void release(uint32_t slot) noexcept;
  InspectSlot& at(uint32_t slot) noexcept { return slots_[slot]; }
  const InspectSlot& at(uint32_t slot) const noexcept { return slots_[slot]; }
  bool budgetSpent(uint32_t slot) const noexcept { return spent(slot, 3); }
  // Nothing more will be scanned in the directions of `mask` (budget spent or FIN);
  // true for an empty mask.
  bool spent(uint32_t slot, uint8_t mask) const noexcept {
    return (!(mask & 1) || slots_[slot].dir[0].done) && (!(mask & 2) || slots_[slot].dir[1].done);
  }
  const rules::detectors::Scanner& scanner() const { return *scanner_; }
  // Control path, before the first feed(). nullptr: hashes stay in the scan result (16 max).
  void setKeyHashSink(KeyHashSink* sink) { hash_sink_ = sink; }
  // For keyed hashes of flow identifiers in evidence records (worker thread).
  rules::detectors::Scanner& mutableScanner() { return *scanner_; }

  uint64_t poolExhausted() const noexcept { return pool_exhausted_; }
  uint64_t gaps() const noexcept { return gaps_; }
  uint64_t budgetHits() const noexcept { return budget_hits_; }
  uint64_t bytesScanned() const noexcept { return bytes_scanned_; }
  uint64_t bytesSkipped() const noexcept { return bytes_skipped_; }  // import payload
  uint32_t inUse() const noexcept { return static_cast<uint32_t>(slots_.size() - free_.size()); }

 private:
  FlowInspector() = default;
  void scanBytes(InspectSlot& s, uint32_t d, const uint8_t* p, size_t n) noexcept;
  // Scanner::scan, in chunks of kHashChunk with the hashes drained after each when a
  // KeyHashSink is set: 128 bytes hold at most 16 of the shortest keyed identifiers
  // with their separators.
  static constexpr size_t kHashChunk = 128;
  void scan(InspectDirection& D, const uint8_t* p, size_t n) noexcept;
  void drain(InspectDirection& D) noexcept;
  // A direction that can carry no more data (FIN): end-anchored matches now, then done.
  void closeDirection(InspectDirection& D) noexcept;
  // Frames HTTP and scans: header and non-HTTP bytes as they are, form bodies decoded.
  void httpFeed(InspectSlot& s, uint32_t d, const uint8_t* p, size_t n) noexcept;
  void scanForm(InspectDirection& D, const uint8_t* p, size_t n) noexcept;
  void httpLine(InspectSlot& s, uint32_t d, std::string_view line) noexcept;

  InspectConfig config_;
  std::unique_ptr<rules::detectors::Scanner> scanner_;
  std::vector<InspectSlot> slots_;
  std::vector<uint32_t> free_;  // reserved to capacity: push/pop never allocate
  KeyHashSink* hash_sink_ = nullptr;
  uint32_t current_owner_ = 0;  // owner of the slot being fed
  uint8_t current_dir_ = 0;     // direction being fed
  uint64_t pool_exhausted_ = 0;
  uint64_t gaps_ = 0;
  uint64_t budget_hits_ = 0;
  uint64_t bytes_scanned_ = 0;
  uint64_t bytes_skipped_ = 0;
};

// Application protocols whose payload is encrypted: judged on metadata only.
bool isEncryptedApp(std::string_view eve_app_proto) noexcept;

}  // namespace xborder::dp
