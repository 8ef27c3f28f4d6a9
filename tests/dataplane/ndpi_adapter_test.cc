// The nDPI adapter on its own (pool accounting, extraction) and through the
// engine on a real capture from the corpus (TLS SNI, certificate names, JA3).
#include "dataplane/classify/ndpi_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "dataplane/engine/engine.h"
#include "dataplane/parse/parse.h"
#include "tests/dataplane/packet_builder.h"

namespace xborder::dp {
namespace {

using ::testing::HasSubstr;

TEST(NdpiAdapter, DnsDetectionReleasesStateAndKeepsTheQueryName) {
  NdpiAdapter a;
  std::string err;
  ASSERT_TRUE(a.init(2, 2, &err)) << err;
  EXPECT_GT(a.flowStructSize(), 500u);  // ~688 B in nDPI 4.2
  FlowEntry e{};
  e.ndpi_slot = kNoFlow;
  e.meta_slot = FlowMetaPool::kNone;
  ASSERT_TRUE(a.attach(&e));
  EXPECT_EQ(a.classifying(), 1u);
  const test::Bytes q = test::udpFrame(test::kA, test::kB, 33000, 53,
                                       test::dnsQuery("pool.example.net", true, 0x0A0B0C0D));
  PacketMeta m;
  ASSERT_EQ(decodePacket(q.data(), static_cast<uint32_t>(q.size()),
                         static_cast<uint32_t>(q.size()), DecodeOptions{}, &m),
            Reason::kNone);
  const bool done = a.feed(&e, q.data() + m.outer.l3_offset,
                           static_cast<uint32_t>(q.size()) - m.outer.l3_offset, 1000, false);
  ASSERT_TRUE(done);
  EXPECT_EQ(a.classifying(), 0u);
  EXPECT_EQ(e.ndpi_slot, kNoFlow);
  EXPECT_EQ(e.classify, ClassifyState::kDetected);
  char buf[64];
  EXPECT_EQ(a.protocolLabel(e, buf, sizeof(buf)), "DNS");
  ASSERT_NE(a.meta(e), nullptr);
  EXPECT_EQ(a.meta(e)->get(MetaField::kHost), "pool.example.net");
  EXPECT_EQ(a.meta(e)->get(MetaField::kDnsAnswer), "10.11.12.13");
  a.releaseMeta(&e);
  EXPECT_EQ(a.metaInUse(), 0u);
}

TEST(NdpiAdapter, PoolExhaustionIsCountedNotFatal) {
  NdpiAdapter a;
  std::string err;
  ASSERT_TRUE(a.init(1, 1, &err));
  FlowEntry e1{}, e2{};
  e1.ndpi_slot = e2.ndpi_slot = kNoFlow;
  e1.meta_slot = e2.meta_slot = FlowMetaPool::kNone;
  EXPECT_TRUE(a.attach(&e1));
  EXPECT_FALSE(a.attach(&e2));
  EXPECT_EQ(e2.classify, ClassifyState::kSkipped);
  EXPECT_EQ(a.poolExhausted(), 1u);
  a.finishAtEnd(&e1);  // gives up and returns the slot
  EXPECT_EQ(a.classifying(), 0u);
  EXPECT_EQ(a.giveups(), 1u);
  EXPECT_TRUE(a.attach(&e2));
}

struct Lines : FlowLogSink {
  std::vector<std::string> v;
  void onFlowRecord(std::string_view l) noexcept override { v.emplace_back(l); }
};
struct Gauge : CounterVisitor {
  uint64_t classifying = ~0ull;
  void counter(std::string_view n, std::string_view, std::string_view, uint64_t x) override {
    if (n == "xborder_ndpi_flows_classifying") classifying = x;
  }
};

TEST(NdpiAdapter, TlsFromCorpusGivesSniCertificateAndJa3) {
  const char* shared = std::getenv("XB_SHARED_DIR");
  const std::string dir = shared ? shared : "../shared";
  const std::string path = dir + "/corpus/pcap/ndpi-443-git.pcap";
  if (!std::filesystem::exists(dir)) {
    GTEST_SKIP() << "../shared is absent (" << dir << ")";
  }
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(path.c_str(), errbuf);
  ASSERT_NE(pc, nullptr) << errbuf;
  EngineConfig cfg;
  cfg.flow_capacity = 256;
  Lines lines;
  std::string err;
  auto engine = Engine::create(cfg, &lines, &err);
  ASSERT_NE(engine, nullptr) << err;
  pcap_pkthdr* h;
  const u_char* d;
  uint64_t last = 0;
  while (pcap_next_ex(pc, &h, &d) == 1) {
    PacketIn p{d, h->caplen, h->len,
               static_cast<uint64_t>(h->ts.tv_sec) * 1000000000ull + h->ts.tv_usec * 1000ull,
               Side::kInside};
    Verdict v;
    engine->processBurst(&p, 1, &v);
    last = p.ts_ns;
  }
  pcap_close(pc);
  Gauge g;
  engine->visitCounters(g);
  EXPECT_EQ(g.classifying, 0u) << "nDPI state must be released once the certificate is seen";
  EXPECT_EQ(engine->activeFlows(), 1u);
  engine->flushAll(last);
  ASSERT_EQ(lines.v.size(), 1u);
  const std::string& r = lines.v[0];
  EXPECT_THAT(r, HasSubstr("\"app_proto\":\"tls\""));
  EXPECT_THAT(r, HasSubstr("\"sni\":\"github.com\""));
  EXPECT_THAT(r, HasSubstr("\"server_names\":\"github.com,www.github.com\""));
  EXPECT_THAT(r, HasSubstr("\"ja3\":{\"hash\":\"2a26b1a62e40d25d4de3babc9d532f30\"}"));
  EXPECT_THAT(r, HasSubstr("\"protocol\":\"TLS.Github\""));
  EXPECT_THAT(r, HasSubstr("\"dest_port\":443"));
}

}  // namespace
}  // namespace xborder::dp
