// The inspection stage: TCP ordering (retransmits, gaps), byte budget, pool bounds,
// HTTP path/Content-Type extraction and record counting.
#include "dataplane/inspect/inspect_flow.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace xborder::dp {
namespace {

using rules::detectors::DetectorId;

std::shared_ptr<const rules::detectors::DetectorSet> mobileSet() {
  rules::detectors::DetectorSetSpec spec;
  spec.detectors.push_back({.name = "cn_mobile"});
  spec.detectors.push_back({.name = "cn_resident_id"});
  auto set = rules::detectors::DetectorSet::build(spec);
  EXPECT_TRUE(set.ok()) << set.status();
  return *set;
}

std::unique_ptr<FlowInspector> makeInspector(uint32_t flows = 4, uint64_t budget = 1 << 20) {
  static const uint8_t kKey[32] = {1, 2, 3};
  InspectConfig c;
  c.max_flows = flows;
  c.byte_budget = budget;
  auto fi = FlowInspector::create(c, mobileSet(), kKey);
  EXPECT_TRUE(fi.ok()) << fi.status();
  return std::move(*fi);
}

PacketView seg(const std::string& s, uint32_t seq, uint8_t dir = 0) {
  PacketView p;
  p.dir = dir;
  p.payload = reinterpret_cast<const uint8_t*>(s.data());
  p.payload_len = static_cast<uint32_t>(s.size());
  p.tcp = true;
  p.has_seq = true;
  p.tcp_seq = seq;
  p.tcp_flags = 0x18;
  return p;
}

uint32_t mobiles(const FlowInspector& fi, uint32_t slot) {
  return fi.at(slot).dir[0].scan.result().hitsOf(DetectorId::kCnMobile);
}

TEST(RecordCounter, CsvJsonAndLines) {
  RecordCounter r;
  r.reset(RecordCounter::modeForContentType("text/csv; charset=utf-8"));
  const std::string csv = "name,mobile\na,1\nb,2\nc,3";  // last row without newline
  r.feed(reinterpret_cast<const uint8_t*>(csv.data()), csv.size());
  EXPECT_EQ(r.records(), 3u);

  r.reset(RecordCounter::modeForContentType("application/json"));
  const std::string arr = R"([{"a":"}{"},{"b":[1,{"c":2}]},{"d":3}])";
  r.feed(reinterpret_cast<const uint8_t*>(arr.data()), arr.size());
  EXPECT_EQ(r.records(), 3u);

  r.reset(RecordCounter::modeForContentType("application/json"));
  const std::string one = R"({"x":{"y":1}})";
  r.feed(reinterpret_cast<const uint8_t*>(one.data()), one.size());
  EXPECT_EQ(r.records(), 1u);

  r.reset(RecordCounter::modeForContentType("application/x-ndjson"));
  const std::string jl = "{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}\n";
  // Streamed one byte at a time: same answer.
  for (char c : jl) r.feed(reinterpret_cast<const uint8_t*>(&c), 1);
  EXPECT_EQ(r.records(), 3u);
}

TEST(FlowInspector, InOrderRetransmitAndGap) {
  auto fi = makeInspector();
  const uint32_t s = fi->acquire();
  ASSERT_NE(s, kNoInspectSlot);
  const std::string a = "mobile: 13800138000 ";
  const std::string b = "tel 13900139000 ";
  EXPECT_TRUE(fi->feed(s, seg(a, 1000)));
  EXPECT_EQ(mobiles(*fi, s), 1u);
  // A retransmission of the first segment is not scanned twice.
  EXPECT_FALSE(fi->feed(s, seg(a, 1000)));
  EXPECT_EQ(fi->at(s).dir[0].retransmits, 1u);
  // A segment after a hole is scanned and the hole counted.
  EXPECT_TRUE(fi->feed(s, seg(b, 1000 + a.size() + 50)));
  EXPECT_EQ(fi->at(s).dir[0].gaps, 1u);
  EXPECT_EQ(fi->gaps(), 1u);
  fi->finish(s);
  EXPECT_EQ(mobiles(*fi, s), 2u);
  fi->release(s);
}

TEST(FlowInspector, OverlapScansOnlyTheNewTail) {
  auto fi = makeInspector();
  const uint32_t s = fi->acquire();
  const std::string first = "phone 13800138000 and ";
  const std::string both = first + "mobile 13700137000 ";
  fi->feed(s, seg(first, 5));
  fi->feed(s, seg(both, 5));  // overlapping resend carrying new bytes
  fi->finish(s);
  EXPECT_EQ(mobiles(*fi, s), 2u);
  EXPECT_EQ(fi->at(s).dir[0].scanned, both.size());
}

TEST(FlowInspector, ByteBudgetStopsScanning) {
  auto fi = makeInspector(2, 32);
  const uint32_t s = fi->acquire();
  const std::string pad(40, 'x');
  fi->feed(s, seg(pad, 1));
  fi->feed(s, seg("mobile 13800138000 ", 41));
  fi->finish(s);
  EXPECT_EQ(mobiles(*fi, s), 0u);
  EXPECT_EQ(fi->at(s).dir[0].scanned, 32u);
  EXPECT_EQ(fi->budgetHits(), 1u);
}

TEST(FlowInspector, PoolIsBounded) {
  auto fi = makeInspector(2);
  const uint32_t a = fi->acquire(), b = fi->acquire();
  EXPECT_NE(a, kNoInspectSlot);
  EXPECT_NE(b, kNoInspectSlot);
  EXPECT_EQ(fi->acquire(), kNoInspectSlot);
  EXPECT_EQ(fi->poolExhausted(), 1u);
  fi->release(a);
  const uint32_t c = fi->acquire();
  EXPECT_EQ(c, a);
  // A reused slot starts clean.
  EXPECT_EQ(mobiles(*fi, c), 0u);
  EXPECT_EQ(fi->at(c).records(), 0u);
}

TEST(FlowInspector, HttpPathTypeAndRecords) {
  auto fi = makeInspector();
  const uint32_t s = fi->acquire();
  const std::string body = "name,mobile\nA,13800138000\nB,13900139000\n";
  const std::string req = "POST /crm/export?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: text/csv\r\n"
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  // Split mid-header and mid-body: the parser is streaming.
  const std::string all = req + body;
  fi->feed(s, seg(all.substr(0, 30), 100));
  fi->feed(s, seg(all.substr(30), 130));
  fi->finish(s);
  EXPECT_EQ(fi->at(s).pathView(), "/crm/export?x=1");
  EXPECT_EQ(fi->at(s).contentTypeView(), "text/csv");
  EXPECT_EQ(fi->at(s).records(), 2u);
  EXPECT_EQ(mobiles(*fi, s), 2u);
}

// Valid 18-digit resident IDs (ISO 7064 MOD 11-2 check character), distinct per i < 1000.
std::string residentId(unsigned i) {
  char body[18];
  std::snprintf(body, sizeof body, "320501198%01u%02u%02u%03u", i % 10, 1 + i % 12, 1 + i % 28, i % 1000);
  static constexpr int kW[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int k = 0; k < 17; ++k) sum += (body[k] - '0') * kW[k];
  return std::string(body, 17) + "10X98765432"[sum % 11];
}

struct RecordingSink : KeyHashSink {
  std::vector<std::pair<uint32_t, rules::detectors::KeyHash>> got;
  std::vector<uint8_t> dirs;  // the direction of each hash in `got`
  void onKeyHashes(uint32_t owner, uint8_t dir, std::span<const rules::detectors::KeyHash> hashes) noexcept override {
    for (const auto& h : hashes) {
      got.emplace_back(owner, h);
      dirs.push_back(dir);
    }
  }
};

// With a sink, every identifier's keyed hash is handed over (the scanner itself keeps
// only kMaxKeyHashes a direction), and the scan result is emptied after each hand-over.
TEST(FlowInspector, KeyHashSinkReceivesEveryIdentifier) {
  auto fi = makeInspector();
  RecordingSink sink;
  fi->setKeyHashSink(&sink);
  const uint32_t s = fi->acquire();
  fi->at(s).owner = 77;
  constexpr unsigned kIds = 300;
  std::string body;
  std::set<uint64_t> want;
  for (unsigned i = 0; i < kIds; ++i) {
    const std::string id = residentId(i);
    body += "{\"id_no\":\"" + id + "\",\"city\":\"Suzhou\"}\n";
    want.insert(fi->mutableScanner().keyedHash(static_cast<uint8_t>(DetectorId::kCnResidentId), id.data(), id.size()));
  }
  ASSERT_EQ(want.size(), kIds);
  uint32_t seq = 1;
  for (size_t off = 0; off < body.size(); off += 1448) {
    const std::string part = body.substr(off, 1448);
    fi->feed(s, seg(part, seq));
    seq += static_cast<uint32_t>(part.size());
    EXPECT_TRUE(fi->at(s).dir[0].scan.result().hashes().empty()) << "hashes left in the result after a feed";
  }
  fi->finish(s);
  const auto& r = fi->at(s).dir[0].scan.result();
  EXPECT_EQ(r.hitsOf(DetectorId::kCnResidentId), kIds);
  EXPECT_TRUE(r.hashes().empty());
  EXPECT_EQ(r.keyHashesDropped, 0u);
  std::set<uint64_t> seen;
  for (const auto& [owner, h] : sink.got) {
    EXPECT_EQ(owner, 77u);
    EXPECT_EQ(h.detector, DetectorId::kCnResidentId);
    seen.insert(h.hash);
  }
  EXPECT_EQ(sink.got.size(), kIds);
  EXPECT_EQ(seen, want);
  for (uint8_t d : sink.dirs) EXPECT_EQ(d, 0u) << "every identifier was in the request";
}

// The import direction (setDirections): its payload is not scanned (no hits, no
// identifiers, no records, no budget), only its HTTP framing is followed, so the path
// of a request it carries is still known; the Content-Type is the export direction's.
TEST(FlowInspector, ImportDirectionIsFramedNotScanned) {
  auto fi = makeInspector();
  RecordingSink sink;
  fi->setKeyHashSink(&sink);
  const uint32_t s = fi->acquire();
  fi->at(s).owner = 5;
  fi->setDirections(s, 2);  // a pull from abroad: server->client is export
  std::string ids;
  for (unsigned i = 0; i < 20; ++i) ids += "{\"id_no\":\"" + residentId(i) + "\"}\n";
  const std::string req = "POST /pull/export?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                          "Content-Length: " + std::to_string(ids.size()) + "\r\n\r\n" + ids;
  fi->feed(s, seg(req, 1, 0));
  EXPECT_EQ(fi->at(s).pathView(), "/pull/export?x=1");
  EXPECT_EQ(fi->at(s).dir[0].scan.result().totalHits(), 0u) << "the import direction was scanned";
  EXPECT_EQ(fi->at(s).records(1), 0u);
  EXPECT_EQ(fi->at(s).contentTypeView(), "") << "an import direction's type says nothing about what left";
  EXPECT_EQ(fi->bytesSkipped(), req.size());
  EXPECT_EQ(fi->bytesScanned(), 0u);
  EXPECT_TRUE(sink.got.empty());
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: " +
                           std::to_string(ids.size()) + "\r\n\r\n" + ids;
  fi->feed(s, seg(resp, 9000, 1));
  fi->finish(s);
  EXPECT_EQ(fi->at(s).dir[1].scan.result().hitsOf(DetectorId::kCnResidentId), 20u);
  EXPECT_EQ(fi->at(s).records(2), 20u);
  EXPECT_EQ(fi->at(s).contentTypeView(), "application/x-ndjson");
  EXPECT_EQ(fi->bytesScanned(), resp.size());
  ASSERT_EQ(sink.got.size(), 20u);
  for (uint8_t d : sink.dirs) EXPECT_EQ(d, 1u);
  // Both directions again (unknown tenant): the request's type wins, as before.
  const uint32_t t = fi->acquire();
  fi->feed(t, seg(req, 1, 0));
  fi->feed(t, seg(resp, 9000, 1));
  EXPECT_EQ(fi->at(t).contentTypeView(), "application/json");
  EXPECT_EQ(fi->at(t).records(), 40u);
}

// A FIN in order ends its direction: nothing more can be scanned there (spent), the
// other direction is unaffected; a FIN beyond a hole does not end it.
TEST(FlowInspector, FinEndsTheDirection) {
  auto fi = makeInspector();
  const uint32_t s = fi->acquire();
  const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  fi->feed(s, seg(get, 1, 0));
  PacketView fin = seg("", 100, 0);
  fin.tcp_flags = 0x11;  // FIN beyond the next byte: a hole before it
  fi->feed(s, fin);
  EXPECT_FALSE(fi->spent(s, 1));
  fin.tcp_seq = 1 + static_cast<uint32_t>(get.size());
  fi->feed(s, fin);
  EXPECT_TRUE(fi->spent(s, 1));
  EXPECT_FALSE(fi->spent(s, 3));
  EXPECT_TRUE(fi->spent(s, 0));
  // A FIN riding on data: the data is scanned, then the direction ends.
  const std::string last = "mobile 13800138000\n";
  PacketView p = seg(last, 5000, 1);
  p.tcp_flags = 0x19;
  fi->feed(s, p);
  EXPECT_EQ(fi->at(s).dir[1].scan.result().hitsOf(DetectorId::kCnMobile), 1u);
  EXPECT_TRUE(fi->spent(s, 3));
}

TEST(FlowInspector, FormBodiesArePercentDecoded) {
  rules::detectors::DetectorSetSpec spec;
  spec.detectors.push_back({.name = "email"});
  auto set = rules::detectors::DetectorSet::build(spec);
  ASSERT_TRUE(set.ok()) << set.status();
  static const uint8_t kKey[32] = {1};
  auto fi = FlowInspector::create(InspectConfig{}, *set, kKey);
  ASSERT_TRUE(fi.ok());
  const uint32_t s = (*fi)->acquire();
  const std::string body = "name=a+b&Email=ala.k%40example.net&x=%4";
  const std::string req = "POST /signup HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                          "Content-Length: " + std::to_string(body.size() + 1) + "\r\n\r\n" + body;
  // The split falls inside "%40": the escape is carried across segments.
  const size_t cut = req.find("%40") + 2;
  (*fi)->feed(s, seg(req.substr(0, cut), 1));
  (*fi)->feed(s, seg(req.substr(cut) + "1", 1 + cut));
  (*fi)->finish(s);
  EXPECT_EQ((*fi)->at(s).dir[0].scan.result().hitsOf(DetectorId::kEmail), 1u);
  EXPECT_EQ((*fi)->at(s).records(), 1u);
}

TEST(FlowInspector, UdpDatagramsInOrderOfArrival) {
  auto fi = makeInspector();
  const uint32_t s = fi->acquire();
  const std::string d = "{\"mobile\":\"13800138000\"}\n";
  PacketView p;
  p.payload = reinterpret_cast<const uint8_t*>(d.data());
  p.payload_len = static_cast<uint32_t>(d.size());
  fi->feed(s, p);
  fi->feed(s, p);  // no sequence numbers: every datagram counts
  fi->finish(s);
  EXPECT_EQ(mobiles(*fi, s), 2u);
  EXPECT_EQ(fi->at(s).records(), 2u);
}

TEST(FlowInspector, EncryptedAppsAreNamed) {
  EXPECT_TRUE(isEncryptedApp("tls"));
  EXPECT_TRUE(isEncryptedApp("quic"));
  EXPECT_FALSE(isEncryptedApp("http"));
  EXPECT_FALSE(isEncryptedApp("failed"));
}

}  // namespace
}  // namespace xborder::dp
