#include "dataplane/capture/capture_pcap.h"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cstdio>

namespace xborder::dp {

CaptureReader::~CaptureReader() { close(); }

absl::Status CaptureReader::open(const std::string& path) {
  close();
  char err[PCAP_ERRBUF_SIZE];
  pc_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (pc_ == nullptr) {
    return absl::InvalidArgumentError("cannot open " + path + ": " + err);
  }
  if (pcap_datalink(pc_) != DLT_EN10MB) {
    close();
    return absl::InvalidArgumentError(path + ": link type is not Ethernet (DLT_EN10MB)");
  }
  struct stat st {};
  size_ = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return absl::OkStatus();
}

bool CaptureReader::next(CapturedPacket* out) {
  if (pc_ == nullptr) {
    return false;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  if (pcap_next_ex(pc_, &h, &data) != 1) {
    return false;
  }
  out->ts_ns = static_cast<uint64_t>(h->ts.tv_sec) * 1000000000ull +
               static_cast<uint64_t>(h->ts.tv_usec);  // nano precision was requested
  out->data = data;
  out->caplen = h->caplen;
  out->wirelen = h->len;
  return true;
}

void CaptureReader::close() {
  if (pc_ != nullptr) {
    pcap_close(pc_);
    pc_ = nullptr;
  }
}

uint64_t CaptureReader::bytesRead() const {
  if (pc_ == nullptr) {
    return size_;
  }
  FILE* f = pcap_file(pc_);
  if (f == nullptr) {
    return 0;
  }
  const long pos = std::ftell(f);
  return pos < 0 ? 0 : static_cast<uint64_t>(pos);
}

}  // namespace xborder::dp
