// Scanner (one per worker) and FlowScanState (one per flow and direction).
//
//   auto scanner = Scanner::create(set, appliance_key);   // control path, once per worker
//   FlowScanState st;                                     // fixed size, lives in the flow
//   scanner->open(st);                                    // hs_open_stream
//   scanner->scan(st, payload, len);                      // per TCP segment / datagram, in order
//   scanner->finish(st);                                  // end of stream: flushes \z matches
//   use(st.result());                                     // counts, classes, keyed hashes
//   scanner->reset(st) / scanner->release(st);            // reuse or free the stream
//
// Threads: a DetectorSet is immutable and shared by every worker; a Scanner belongs to
// one worker thread (its Hyperscan scratch is mutable); a FlowScanState belongs to the
// worker that owns the flow.
//
// Hot path (scan/finish): no locks, no exceptions, no heap allocation. Hyperscan does
// not allocate in hs_scan_stream, and the keyed hash of each validated identifier
// starts from HMAC states precomputed at create() (KeyedHmac: no OpenSSL allocation;
// tests/rules_detectors/detector_alloc_test.cc counts OpenSSL, Hyperscan and new).
//
// Streaming: Hyperscan carries pattern state across scan() calls, and the last
// kTailBytes of the stream are kept so a candidate that started in an earlier segment
// can be validated. A candidate longer than kTailBytes + the current segment is
// counted in result().unvalidated, never guessed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/statusor.h"
#include "rules/detectors/detector_hmac.h"
#include "rules/detectors/detector_registry.h"
#include "rules/detectors/detector_set.h"

struct hs_stream;
struct hs_scratch;

namespace xborder::rules::detectors {

inline constexpr size_t kTailBytes = 192;      // longest candidate we validate across segments
inline constexpr size_t kMaxKeyHashes = 16;    // distinct keyed hashes kept per flow-direction
inline constexpr size_t kMaxPending = 8;       // hits waiting for a context keyword after them
inline constexpr uint64_t kMarkingWindow = 2048;  // classified markings count near the head

struct KeyHash {
  uint64_t hash;        // first 8 bytes (big-endian) of HMAC-SHA256(key, id || normalized)
  DetectorId detector;
};

struct FlowScanResult {
  std::array<uint32_t, kDetectorCount> hits{};            // validated (and context-gated) hits
  std::array<uint32_t, kDetectorCount> highConfidence{};  // hits with a context keyword nearby
  std::array<uint32_t, kDetectorCount> rejected{};        // candidates the validator refused
  std::array<uint32_t, kDetectorCount> noContext{};       // valid, but gated out for lack of context
  std::array<uint32_t, kPiClassCount> classHits{};
  uint32_t sensitiveHits = 0;     // hits whose class isSensitive()
  uint32_t nonSensitiveHits = 0;  // hits of class identifier (strong person keys)
  std::array<uint32_t, kMaxDictionaries> dictionaryHits{};
  std::array<KeyHash, kMaxKeyHashes> keyHashes{};
  uint32_t keyHashCount = 0;      // distinct (detector, hash) pairs stored in keyHashes
  uint32_t keyHashesDropped = 0;  // keyed hits not stored because keyHashes was full
  uint32_t unvalidated = 0;       // candidates longer than the retained window
  uint32_t scanErrors = 0;
  uint64_t bytes = 0;

  uint32_t hitsOf(DetectorId d) const { return hits[static_cast<size_t>(d)]; }
  uint32_t totalHits() const;
  std::span<const KeyHash> hashes() const { return {keyHashes.data(), keyHashCount}; }
};

// Per flow-direction state: a fixed-size struct plus the Hyperscan stream
// (DetectorSet::streamStateBytes(), allocated by hs_open_stream when the flow opens).
class FlowScanState {
 public:
  FlowScanState() = default;
  ~FlowScanState();
  FlowScanState(const FlowScanState&) = delete;
  FlowScanState& operator=(const FlowScanState&) = delete;
  // Movable so flow tables can hold states in vectors; the source is left closed.
  FlowScanState(FlowScanState&& o) noexcept;
  FlowScanState& operator=(FlowScanState&& o) noexcept;

  const FlowScanResult& result() const { return result_; }
  bool isOpen() const { return stream_ != nullptr; }
  uint64_t offset() const { return offset_; }
  // Empties result().hashes() (after the caller has taken them) so the next kMaxKeyHashes
  // distinct hashes are kept; the other counters are untouched. Duplicates are only
  // recognised among the hashes kept since the last call.
  void clearKeyHashes() noexcept { result_.keyHashCount = 0; }

 private:
  friend class Scanner;
  struct Pending {
    uint64_t end;
    uint64_t hash;
    DetectorId detector;
    bool keyed;
  };
  void clearCounters();

  hs_stream* stream_ = nullptr;
  uint64_t offset_ = 0;  // stream bytes scanned so far
  uint32_t tailLen_ = 0;
  bool finished_ = false;
  uint8_t faceFlags_ = 0;
  uint8_t pendingCount_ = 0;
  uint64_t lastFieldKey_ = 0;  // end offset of the last counted medical field key
  std::array<uint8_t, kTailBytes> tail_{};
  std::array<uint64_t, kDetectorCount> lastContext_{};    // end offset of the last keyword
  std::array<uint64_t, kDetectorCount> lastConfirmed_{};  // end offset of the last counted hit
  std::array<Pending, kMaxPending> pending_{};
  FlowScanResult result_;
};

class Scanner {
 public:
  // hmacKey: the per-appliance secret (>= 16 bytes). todayYyyymmdd: birth dates after it
  // are invalid (0 = the current UTC date).
  static absl::StatusOr<std::unique_ptr<Scanner>> create(std::shared_ptr<const DetectorSet> set,
                                                         std::span<const uint8_t> hmacKey,
                                                         uint32_t todayYyyymmdd = 0);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Opens the stream (allocates its Hyperscan state). False if Hyperscan fails.
  bool open(FlowScanState& st) const;
  // Scans the next bytes of the flow-direction. Returns false on a Hyperscan error
  // (counted in result().scanErrors); the state stays usable.
  bool scan(FlowScanState& st, const uint8_t* data, size_t len);
  // End of stream: reports matches anchored at the end and drops hits still waiting for
  // context. Further scan() calls are ignored until reset().
  void finish(FlowScanState& st);
  // Clears counters and pattern state for reuse by a new flow (no allocation).
  void reset(FlowScanState& st) const;
  // Frees the Hyperscan stream.
  void release(FlowScanState& st) const;

  const DetectorSet& set() const { return *set_; }
  // HMAC-SHA256(key, tag || bytes) truncated to 64 bits; exposed for tests and callers
  // that hash identifiers found elsewhere (e.g. in metadata). No allocation.
  uint64_t keyedHash(uint8_t tag, const char* bytes, size_t len) const noexcept;

 private:
  struct MatchCtx;
  explicit Scanner(std::span<const uint8_t> hmacKey) : hmac_(hmacKey) {}
  static int onMatch(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void* ctx);
  void handle(MatchCtx& m, unsigned id, uint64_t from, uint64_t to);
  void handleCandidate(MatchCtx& m, const PatternMeta& meta, uint64_t from, uint64_t to);
  void onContext(FlowScanState& st, DetectorId d, uint64_t end);
  void commit(FlowScanState& st, DetectorId d, uint64_t end, bool keyed, uint64_t hash, bool high);
  // Counts as "no context" every waiting hit that no context match ending at or after
  // `now` can confirm (all of them when `all`).
  void expirePending(FlowScanState& st, uint64_t now, bool all);

  std::shared_ptr<const DetectorSet> set_;
  hs_scratch* scratch_ = nullptr;
  KeyedHmac hmac_;  // key states precomputed once: per identifier, copy and finish
  uint32_t today_ = 0;
};

}  // namespace xborder::rules::detectors
