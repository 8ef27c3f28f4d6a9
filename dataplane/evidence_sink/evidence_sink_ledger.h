// Loss ledger: what the evidence writer lost, kept across a restart.
//
// When the dataplane exits while the evidence log still refuses records (its disk is
// full), the writer's tally of lost events would die with the process and the log would
// show nothing of the loss. The ledger is a small file beside the log, created and
// zero-filled at start while there is room, so that writing the tally at exit only
// overwrites blocks the file already owns (no free space needed). The next start reads
// it and records its GAP records in the log; the file is cleared once they are written.
//
// Layout (kBytes, NUL-padded text): "xborder-loss-ledger v1\n", one line per GAP record
// "gap <hex of the serialized GapEvent>\n", then "end <crc32c of the lines before, hex>\n".
// A file without a valid end line was torn by a crash while being written: read() then
// returns one GAP record saying so (lost count unknown, 0), never nothing.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controlplane/evidence/record/record.pb.h"

namespace xborder::dp::evidence_sink {

class LossLedger {
 public:
  static constexpr size_t kBytes = 4096;
  static constexpr const char* kFileName = "dataplane-losses.ledger";

  // Opens PATH, creating it zero-filled (and synced) when absent.
  static absl::StatusOr<LossLedger> open(const std::string& path);
  LossLedger(LossLedger&& o) noexcept;
  LossLedger& operator=(LossLedger&& o) noexcept;
  LossLedger(const LossLedger&) = delete;
  LossLedger& operator=(const LossLedger&) = delete;
  ~LossLedger();

  // The GAP records the file holds (type GAP, gap set); empty when clean.
  absl::StatusOr<std::vector<evidence::v1::EvidenceRecord>> read() const;
  // Overwrites the file in place with these GAP records and syncs it. Records beyond
  // what fits are folded into the last line (their counts summed, their spans joined).
  absl::Status write(const std::vector<evidence::v1::EvidenceRecord>& gaps);
  absl::Status clear() { return write({}); }
  const std::string& path() const { return path_; }

 private:
  LossLedger(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace xborder::dp::evidence_sink
