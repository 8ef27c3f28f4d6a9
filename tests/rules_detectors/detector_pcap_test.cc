// Real traffic: every TCP/UDP payload of the shared pcap corpus, per flow direction in
// sequence order, through the full detector set. Captures written by other projects
// (nDPI, Zeek, Suricata) carry real e-mail addresses in SMTP/IMAP/POP3 and almost no
// Chinese identifiers, so this checks recall on real mail traffic and prints every other
// hit for review (a false-positive survey on real bytes).
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "rules/detectors/detector_scanner.h"
#include "tests/rules_detectors/detector_test_util.h"

namespace xborder::rules::detectors {
namespace {

namespace fs = std::filesystem;

fs::path sharedDir() {
  const char* env = std::getenv("XB_SHARED_DIR");
  return env ? fs::path(env) : fs::path("../shared");
}

struct Direction {
  FlowScanState state;
  bool tcp = false;
  bool seqKnown = false;
  uint32_t nextSeq = 0;
};

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// Scans one capture; returns per-detector hits summed over flow directions.
std::array<uint64_t, kDetectorCount> scanPcap(Scanner& sc, const fs::path& file, uint64_t& payloadBytes) {
  std::array<uint64_t, kDetectorCount> total{};
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(file.c_str(), err);
  if (!p) {
    ADD_FAILURE() << file << ": " << err;
    return total;
  }
  std::map<std::string, std::unique_ptr<Direction>> dirs;
  pcap_pkthdr* h;
  const u_char* d;
  while (pcap_next_ex(p, &h, &d) == 1) {
    size_t n = h->caplen, off = 14;
    if (n < off) continue;
    uint16_t et = be16(d + 12);
    while ((et == 0x8100 || et == 0x88a8) && n >= off + 4) {
      et = be16(d + off + 2);
      off += 4;
    }
    uint8_t proto = 0;
    std::string key;
    if (et == 0x0800 && n >= off + 20) {
      size_t ihl = (d[off] & 15) * 4u;
      if ((be16(d + off + 6) & 0x3fff) != 0) continue;  // fragments: not reassembled here
      proto = d[off + 9];
      key.assign(reinterpret_cast<const char*>(d + off + 12), 8);
      size_t totalLen = be16(d + off + 2);
      n = std::min(n, off + totalLen);
      off += ihl;
    } else if (et == 0x86dd && n >= off + 40) {
      proto = d[off + 6];
      key.assign(reinterpret_cast<const char*>(d + off + 8), 32);
      n = std::min(n, off + 40 + be16(d + off + 4));
      off += 40;
    } else {
      continue;
    }
    if (proto != 6 && proto != 17) continue;
    if (n < off + (proto == 6 ? 20u : 8u)) continue;
    key.append(reinterpret_cast<const char*>(d + off), 4);
    key.push_back(static_cast<char>(proto));
    size_t hdr = proto == 6 ? (d[off + 12] >> 4) * 4u : 8u;
    if (n < off + hdr) continue;
    const uint8_t* payload = d + off + hdr;
    size_t len = n - off - hdr;
    auto& dir = dirs[key];
    if (!dir) {
      dir = std::make_unique<Direction>();
      dir->tcp = proto == 6;
      sc.open(dir->state);
    }
    if (dir->tcp) {
      uint32_t seq = be32(d + off + 4);
      bool syn = d[off + 13] & 0x02;
      if (syn) {
        dir->seqKnown = true;
        dir->nextSeq = seq + 1;
        continue;
      }
      if (dir->seqKnown) {
        int32_t delta = static_cast<int32_t>(dir->nextSeq - seq);
        if (delta > 0) {  // retransmitted or overlapping bytes: skip what was scanned
          if (static_cast<size_t>(delta) >= len) continue;
          payload += delta;
          len -= static_cast<size_t>(delta);
          seq += static_cast<uint32_t>(delta);
        }
      }
      dir->seqKnown = true;
      dir->nextSeq = seq + static_cast<uint32_t>(len);
    }
    if (len == 0) continue;
    payloadBytes += len;
    sc.scan(dir->state, payload, len);
  }
  pcap_close(p);
  for (auto& [k, dir] : dirs) {
    sc.finish(dir->state);
    for (size_t i = 0; i < kDetectorCount; ++i) total[i] += dir->state.result().hits[i];
  }
  return total;
}

TEST(DetectorPcapCorpus, RealMailHasAddressesAndOtherHitsAreListed) {
  fs::path pcaps = sharedDir() / "corpus" / "pcap";
  if (!fs::exists(sharedDir())) GTEST_SKIP() << "../shared is absent";
  ASSERT_TRUE(fs::exists(pcaps)) << pcaps;
  auto set = DetectorSet::build(testing::fullSpec());
  ASSERT_TRUE(set.ok()) << set.status();
  auto sc = Scanner::create(*set, testing::testKey(), 20251123);
  ASSERT_TRUE(sc.ok());
  std::map<std::string, std::array<uint64_t, kDetectorCount>> byFile;
  uint64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(pcaps)) {
    if (e.is_regular_file()) byFile[e.path().filename().string()] = scanPcap(**sc, e.path(), bytes);
  }
  ASSERT_GT(byFile.size(), 50u);
  std::printf("%zu captures, %llu payload bytes scanned\n", byFile.size(), static_cast<unsigned long long>(bytes));
  for (const auto& [file, hits] : byFile) {
    for (size_t i = 0; i < kDetectorCount; ++i) {
      if (hits[i]) std::printf("  %-50s %-24s %llu\n", file.c_str(), std::string(detectorRegistry()[i].name).c_str(),
                               static_cast<unsigned long long>(hits[i]));
    }
  }
  const size_t email = static_cast<size_t>(DetectorId::kEmail);
  // Mail captures whose manifest lists cleartext addresses.
  for (const char* f : {"ndpi-smtp.pcap", "suri-imap-detection.pcap", "suri-pop3.pcap", "zeek-smtp.pcap"}) {
    ASSERT_TRUE(byFile.count(f)) << f;
    EXPECT_GT(byFile[f][email], 0u) << f;
  }
  // SSH key exchange lists algorithm names such as chacha20-poly1305@openssh.com.
  for (const char* f : {"ndpi-ssh.pcap", "zeek-ssh_ssh.pcap"}) {
    ASSERT_TRUE(byFile.count(f)) << f;
    EXPECT_EQ(byFile[f][email], 0u) << f;
  }
  // None of these captures is Chinese personal data: checksum-validated Chinese
  // identifiers must stay (near) absent on real bytes.
  for (auto d : {DetectorId::kCnResidentId, DetectorId::kUscc, DetectorId::kBankCard, DetectorId::kCnMobile}) {
    uint64_t n = 0;
    for (const auto& [file, hits] : byFile) n += hits[static_cast<size_t>(d)];
    EXPECT_LE(n, 2u) << detectorInfo(d).name << " fired on real non-Chinese traffic";
  }
}

}  // namespace
}  // namespace xborder::rules::detectors
