// Only the direction that leaves the zone is export (数据出境, issue 5): the dataplane
// policy counts detector hits, records and identifiers of the export direction only
// (client->server for a tenant's outbound flow, server->client for a pull by a party
// abroad from a tenant's server), does not scan the import direction at all, and lets
// a flow settle once its export direction can carry nothing more to inspect.
//
// - Outbound: resident IDs in the server's response count for nothing; the same IDs in
//   the request are the entry, counted.
// - Pull from abroad: IDs in the response count, IDs in the request do not; the flow
//   log and the evidence record agree (identifiers, bytes out = the server's bytes).
// - A pull the list does not count as export is scanned in neither direction.
// - A 4 MiB random download is not scanned (no chance hits, no evaluations per
//   packet) and settles at the client's FIN; an upload settles once its budget is spent.
// - A new ruleset version re-derives the direction: a direction that becomes export
//   is scanned from then on.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"
#include "tests/verdict/verdict_test_util.h"

namespace xborder::dp {
namespace {

using namespace xborder::verdict_test;
using rules::eval::CounterKey;

constexpr uint32_t kExpress = 0xC612050A;  // 198.18.5.10 (T-EXPRESS, a tenant in the zone)
constexpr uint32_t kAbroad = 0xC00002C8;   // 192.0.2.200 (no filing: GEN-03 counts the consignees)
constexpr uint32_t kPeople = 200;

struct Fields : FlowLogFields {
  std::string text;
  void append(std::string_view j) noexcept override { text.append(j); }
  // The number after `"key":` in the flow log (UINT64_MAX if absent).
  uint64_t num(const std::string& key) const {
    const size_t at = text.find("\"" + key + "\":");
    return at == std::string::npos ? UINT64_MAX : std::stoull(text.substr(at + key.size() + 3));
  }
};

std::string response(const std::string& body, const char* type = "application/x-ndjson") {
  return std::string("HTTP/1.1 200 OK\r\nContent-Type: ") + type + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kGet = "GET /export/waybills HTTP/1.1\r\nHost: files.example.invalid\r\n\r\n";

class ExportDirTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto a = RulesetSnapshot::fromRuleset(sampleRuleset());
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE((*a)->ruleset().policy().inbound_pulls_count_as_export()) << "the sample list counts pulls";
    counting_ = new std::shared_ptr<const RulesetSnapshot>(*a);
    // The same list where pulls by a party abroad are not export (same detectors).
    rules::pb::Ruleset rs = sampleRuleset();
    rs.mutable_policy()->set_inbound_pulls_count_as_export(false);
    auto b = RulesetSnapshot::fromRuleset(std::move(rs), a->get());
    ASSERT_TRUE(b.ok()) << b.status();
    not_counting_ = new std::shared_ptr<const RulesetSnapshot>(*b);
  }
  static void TearDownTestSuite() {
    delete counting_;
    delete not_counting_;
  }

  void make(const std::shared_ptr<const RulesetSnapshot>& snap, uint64_t budget = 1 << 20) {
    ASSERT_NE(counting_, nullptr);
    dir_ = tempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    log_ = makeLog(dir_);
    ASSERT_NE(log_, nullptr);
    sink_ = std::make_unique<evidence_sink::EvidenceSink>(log_.get(), evidence_sink::SinkOptions{});
    sink_->registerNames(snap->names());
    store_ = std::make_unique<counters::CounterStore>(counters::CounterStoreOptions{});
    DataplaneWiring w;
    w.inline_mode = true;
    w.shard = &shard_;
    w.counts = store_.get();
    w.sink = sink_.get();
    RulesPolicyConfig pc;
    pc.flow_capacity = 64;
    pc.inspect.max_flows = 8;
    pc.inspect.byte_budget = budget;
    static const std::array<uint8_t, 32> key{9, 8, 7, 6, 5, 4, 3, 2, 1};
    auto p = RulesPolicy::createDataplane(pc, w, snap, key);
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::move(*p);
  }
  std::vector<evidence::v1::FlowEvidence> records() {
    sink_->runOnce();
    std::vector<evidence::v1::FlowEvidence> out;
    for (const auto& r : readAll(*log_)) {
      if (r.type() == evidence::v1::FLOW) out.push_back(r.flow());
    }
    return out;
  }
  // Handshake, classified as HTTP.
  void open(Flow& f) {
    f.send(*policy_, 0, "", 1000);
    f.send(*policy_, 1, "", 2000);
    f.send(*policy_, 0, "", 3000);
    f.classifyHttp();
  }
  // `data` in MSS-sized segments in direction `dir`; returns the last action.
  PolicyAction stream(Flow& f, uint8_t dir, const std::string& data, uint64_t t) {
    PolicyAction a = PolicyAction::kAllow;
    for (size_t off = 0; off < data.size(); off += 1448) {
      a = f.send(*policy_, dir, std::string_view(data).substr(off, 1448), t + off);
    }
    return a;
  }
  // The year's GEN-03 counter of T-EXPRESS (what the threshold reads), after a merge.
  uint64_t gen03() {
    store_->merge(0, shard_);
    const RulesetSnapshot& s = **counting_;
    uint32_t le = 0;
    for (const auto& t : s.ruleset().tenants()) {
      if (t.id() == "T-EXPRESS") le = t.legal_entity();
    }
    return store_->count({CounterKey::Kind::kEntry, le, static_cast<uint32_t>(s.evaluator().entryIndex("GEN-03")),
                          s.evaluator().yearOf(static_cast<int64_t>(kNewYearNoon / 1000000000ull))});
  }

  static inline std::shared_ptr<const RulesetSnapshot>* counting_ = nullptr;
  static inline std::shared_ptr<const RulesetSnapshot>* not_counting_ = nullptr;
  std::string dir_;
  std::unique_ptr<evidence::Log> log_;
  std::unique_ptr<evidence_sink::EvidenceSink> sink_;
  std::unique_ptr<counters::CounterStore> store_;
  counters::CounterShard shard_{64};
  std::unique_ptr<RulesPolicy> policy_;
};

TEST_F(ExportDirTest, OutboundFlowCountsTheRequestNotTheResponse) {
  make(*counting_);
  // A tenant downloads a file full of resident IDs from abroad: import, nothing counts.
  Flow in(kExpress, kAbroad, 43000, 1);
  open(in);
  in.send(*policy_, 0, kGet, 4000);
  const std::string resp = response(waybills(0, kPeople));
  stream(in, 1, resp, 5000);
  EXPECT_GE(policy_->inspector().bytesSkipped(), resp.size());
  Fields inlog;
  policy_->onFlowEnd(in.v, &inlog);
  EXPECT_EQ(inlog.num("identifiers"), 0u) << inlog.text;
  EXPECT_EQ(inlog.num("cn_resident_id"), 0u) << inlog.text;
  EXPECT_EQ(inlog.text.find("GEN-03"), std::string::npos) << inlog.text;
  EXPECT_NE(inlog.text.find("\"action\":\"log\""), std::string::npos) << inlog.text;
  for (const auto& r : records()) EXPECT_EQ(r.identifiers_count(), 0u);
  EXPECT_EQ(gen03(), 0u);

  // The same IDs uploaded by the tenant: export, the entry, every identifier counted.
  Flow out(kExpress, kAbroad, 43001, 2);
  open(out);
  stream(out, 0, post("upload.example.invalid", waybills(0, kPeople)), 4000);
  out.send(*policy_, 1, response(""), 9000);
  Fields outlog;
  policy_->onFlowEnd(out.v, &outlog);
  EXPECT_EQ(outlog.num("identifiers"), kPeople) << outlog.text;
  EXPECT_EQ(outlog.num("cn_resident_id"), kPeople) << outlog.text;
  EXPECT_NE(outlog.text.find("\"entry_id\":\"GEN-03\""), std::string::npos) << outlog.text;
  const auto recs = records();
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.back().rule_id(), "GEN-03");
  EXPECT_EQ(recs.back().identifiers_count(), kPeople);
  EXPECT_NEAR(static_cast<double>(gen03()), kPeople, kPeople * 0.03);
}

TEST_F(ExportDirTest, PullFromAbroadCountsTheResponseNotTheRequest) {
  make(*counting_);
  // A party abroad posts resident IDs to a tenant's server in the zone: import.
  Flow push(kAbroad, kExpress, 43100, 3);
  open(push);
  stream(push, 0, post("api.example.invalid", waybills(1000, kPeople)), 4000);
  push.send(*policy_, 1, response(""), 9000);
  Fields pushlog;
  policy_->onFlowEnd(push.v, &pushlog);
  EXPECT_EQ(pushlog.num("identifiers"), 0u) << pushlog.text;
  EXPECT_EQ(pushlog.num("cn_resident_id"), 0u) << pushlog.text;
  EXPECT_EQ(pushlog.text.find("GEN-03"), std::string::npos) << pushlog.text;
  for (const auto& r : records()) EXPECT_EQ(r.identifiers_count(), 0u);
  EXPECT_EQ(gen03(), 0u);

  // It pulls them from the tenant's server: the response leaves the zone.
  Flow pull(kAbroad, kExpress, 43101, 4);
  open(pull);
  pull.send(*policy_, 0, kGet, 4000);
  stream(pull, 1, response(waybills(1000, kPeople)), 5000);
  Fields log;
  policy_->onFlowEnd(pull.v, &log);
  EXPECT_EQ(log.num("identifiers"), kPeople) << log.text;
  EXPECT_EQ(log.num("cn_resident_id"), kPeople) << log.text;
  EXPECT_NE(log.text.find("\"entry_id\":\"GEN-03\""), std::string::npos) << log.text;
  EXPECT_NE(log.text.find("\"tenant\":\"T-EXPRESS\""), std::string::npos) << log.text;
  const auto recs = records();
  ASSERT_FALSE(recs.empty());
  const auto& last = recs.back();
  EXPECT_TRUE(last.final());
  EXPECT_EQ(last.rule_id(), "GEN-03");
  // Flow log and evidence agree; "out" is what the server in the zone sent.
  EXPECT_EQ(last.identifiers_count(), log.num("identifiers"));
  EXPECT_EQ(last.bytes_out(), pull.v.bytes[1]);
  EXPECT_EQ(last.bytes_in(), pull.v.bytes[0]);
  EXPECT_EQ(last.bytes_out_before_decision(), log.num("out"));
  EXPECT_EQ(last.bytes_in_before_decision(), log.num("in"));
  EXPECT_LE(last.bytes_out_before_decision(), pull.v.bytes[1]);
  EXPECT_EQ(last.dst_ip(), std::string("\xc0\x00\x02\xc8", 4)) << "the foreign party is the client";
  EXPECT_NEAR(static_cast<double>(gen03()), kPeople, kPeople * 0.03);
}

TEST_F(ExportDirTest, APullTheListDoesNotCountIsScannedInNeitherDirection) {
  make(*not_counting_);
  Flow pull(kAbroad, kExpress, 43200, 5);
  open(pull);
  const std::string req = post("api.example.invalid", waybills(0, 20));
  const std::string resp = response(waybills(2000, kPeople));
  stream(pull, 0, req, 4000);
  const PolicyAction a = stream(pull, 1, resp, 5000);
  EXPECT_EQ(policy_->inspector().bytesScanned(), 0u);
  EXPECT_EQ(policy_->inspector().bytesSkipped(), req.size() + resp.size());
  EXPECT_TRUE(policy_->settled(pull.v, a)) << "nothing in the flow is export: nothing left to inspect";
  Fields log;
  policy_->onFlowEnd(pull.v, &log);
  EXPECT_EQ(log.num("identifiers"), 0u) << log.text;
  EXPECT_NE(log.text.find("not-export"), std::string::npos) << log.text;
}

TEST_F(ExportDirTest, ALargeRandomDownloadIsNotScannedAndSettlesAtTheClientsFin) {
  make(*counting_);
  Flow f(kExpress, kAbroad, 43300, 6);
  open(f);
  const PolicyAction after_request = f.send(*policy_, 0, kGet, 4000);
  std::string body(4u << 20, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (char& c : body) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x >> 32);
  }
  const std::string resp = response(body, "application/octet-stream");
  const uint64_t evals = policy_->evaluations();
  PolicyAction a = after_request;
  for (size_t off = 0; off < resp.size(); off += 1448) {
    a = f.send(*policy_, 1, std::string_view(resp).substr(off, 1448), 5000 + off);
    ASSERT_EQ(a, after_request) << "a downloaded byte changed the decision at offset " << off;
  }
  EXPECT_EQ(policy_->evaluations(), evals) << "import packets are no decision points";
  EXPECT_EQ(policy_->inspector().bytesScanned(), kGet.size()) << "only the request was scanned";
  EXPECT_EQ(policy_->inspector().bytesSkipped(), resp.size());
  // The client may still send (keep-alive): not settled until its direction ends.
  EXPECT_FALSE(policy_->settled(f.v, a));
  PacketView fin;
  fin.dir = 0;
  fin.tcp = true;
  fin.has_seq = true;
  fin.tcp_seq = f.seq[0];
  fin.tcp_flags = 0x11;  // FIN, ACK
  ++f.v.pkts[0];
  f.v.bytes[0] += 54;
  a = policy_->onPacket(f.v, fin);
  EXPECT_TRUE(policy_->settled(f.v, a)) << "the export direction ended";
  Fields log;
  policy_->onFlowEnd(f.v, &log);
  EXPECT_EQ(log.num("identifiers"), 0u) << log.text;
  EXPECT_EQ(log.text.find("\"action\":\"alert\""), std::string::npos) << log.text;
  EXPECT_EQ(log.text.find("PHARMA"), std::string::npos) << log.text;
  for (const auto& r : records()) {
    EXPECT_NE(r.policy_decision(), "alert");
    EXPECT_NE(r.policy_decision(), "block");
  }
}

TEST_F(ExportDirTest, AnUploadSettlesOnceItsBudgetIsSpentWhateverTheResponse) {
  make(*counting_, 4096);
  Flow f(kExpress, kAbroad, 43400, 7);
  open(f);
  const PolicyAction a = stream(f, 0, post("upload.example.invalid", waybills(0, 100)), 4000);
  EXPECT_EQ(policy_->inspector().budgetHits(), 1u);
  EXPECT_TRUE(policy_->settled(f.v, a)) << "the import direction's unused budget must not keep it open";
  Fields log;
  policy_->onFlowEnd(f.v, &log);
  EXPECT_GT(log.num("identifiers"), 0u) << log.text;
}

TEST_F(ExportDirTest, ANewVersionRederivesTheExportDirection) {
  make(*not_counting_);
  Flow f(kAbroad, kExpress, 43500, 8);
  open(f);
  f.send(*policy_, 0, kGet, 4000);
  const std::string first = waybills(3000, 50), second = waybills(4000, 50);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: " +
                           std::to_string(first.size() + second.size()) + "\r\n\r\n";
  stream(f, 1, head + first, 5000);
  EXPECT_EQ(policy_->inspector().bytesScanned(), 0u) << "not export under this version";
  // The list now counts pulls: the response leaves the zone from here on.
  auto prepared = policy_->prepare(*counting_);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_FALSE((*prepared)->newDetectorDatabase());
  auto old = policy_->adopt(std::move(*prepared));
  stream(f, 1, second, 6000);
  EXPECT_EQ(policy_->inspector().bytesScanned(), second.size());
  Fields log;
  policy_->onFlowEnd(f.v, &log);
  EXPECT_EQ(log.num("identifiers"), 50u) << "the half sent after the switch: " << log.text;
  EXPECT_NE(log.text.find("\"ruleset\":\"" + (*counting_)->sha256Hex() + "\""), std::string::npos) << log.text;
}

}  // namespace
}  // namespace xborder::dp
