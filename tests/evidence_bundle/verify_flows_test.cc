// The verifier counts flows by record.proto field 29 (final): flows that ended (a final
// record) and flows still open (FLOW records, no final record in the bundle), matched
// by flow_id across the record chunks the parallel pass checks on different cores.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "controlplane/evidence/verify/verify_report.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence::testing {
namespace {

// More than four 4096-record chunks, so flows start in one chunk and end in another.
constexpr uint64_t kRecords = 20000;
constexpr uint64_t kLater = 4500;  // a decision record's final record comes this much later

std::string flowRecord(uint64_t index, const std::string& flow_id, bool final, bool alarm_type = false) {
  evidence::v1::EvidenceRecord r;
  r.set_format_version(1);
  r.set_index(index);
  r.set_origin(kOrigin);
  r.set_observed_unix_nanos(1767225600000000000LL + static_cast<int64_t>(index) * 1000000LL);
  r.set_tenant("acme-trading");
  // An ALARM-typed record takes the full protobuf parse, not the fast scan.
  r.set_type(alarm_type ? evidence::v1::ALARM : evidence::v1::FLOW);
  auto* f = r.mutable_flow();
  f->set_flow_id(flow_id);
  f->set_dst_country("SG");
  f->set_data_category("PI-HEALTH");
  f->set_policy_decision("allow-filing");
  f->set_final(final);
  return r.SerializeAsString();
}

// Record j: j % 3 == 0 a one-record flow (final); j % 3 == 1 the decision record of
// flow y-j, whose final record is record j + kLater + 1 when that exists; j % 3 == 2
// that final record, or (for j <= kLater) a record of a flow that never ends. Every
// 97th one-record flow is ALARM-typed (the parsed path); a flow with two decision
// records in different chunks ends once.
std::vector<std::string> flowRecords() {
  std::vector<std::string> out;
  for (uint64_t j = 0; j < kRecords; ++j) {
    if (j == 100 || j == 9000) {
      out.push_back(flowRecord(j, "twice", false));
    } else if (j == 15000) {
      out.push_back(flowRecord(j, "twice", true));
    } else if (j % 3 == 0) {
      out.push_back(flowRecord(j, absl::StrCat("x-", j), true, j % 97 == 0));
    } else if (j % 3 == 1) {
      out.push_back(flowRecord(j, absl::StrCat("y-", j), false));
    } else if (j > kLater) {
      out.push_back(flowRecord(j, absl::StrCat("y-", j - kLater - 1), true));
    } else {
      out.push_back(flowRecord(j, absl::StrCat("z-", j), false));
    }
  }
  return out;
}

// The reference: one in-order pass over the records with a map, as the report defines it.
std::pair<uint64_t, uint64_t> expectedFlows(const std::vector<std::string>& records) {
  uint64_t ended = 0;
  std::map<std::string, bool> open;
  for (const auto& bytes : records) {
    evidence::v1::EvidenceRecord r;
    if (!r.ParseFromString(bytes) || !r.has_flow()) continue;
    if (r.flow().final()) {
      ++ended;
      open.erase(r.flow().flow_id());
    } else {
      open[r.flow().flow_id()] = true;
    }
  }
  return {ended, open.size()};
}

class VerifyFlowsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fx_ = new Fixture(flowRecords(), {5000, 12001, kRecords});
    auto r = fx_->exportRange(0, kRecords);
    ASSERT_TRUE(r.ok()) << r.status();
    tar_ = new std::string(r->bundle);
  }
  static void TearDownTestSuite() {
    delete fx_;
    delete tar_;
  }
  static verify::v1::Result run(unsigned threads) {
    verify::VerifyOptions o;
    o.trust = fx_->trust();
    o.threads = threads;
    auto r = verify::verifyBundle(*tar_, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : verify::v1::Result();
  }
  static Fixture* fx_;
  static std::string* tar_;
};
Fixture* VerifyFlowsTest::fx_ = nullptr;
std::string* VerifyFlowsTest::tar_ = nullptr;

TEST_F(VerifyFlowsTest, CountsEndedAndOpenFlowsLikeOneInOrderPass) {
  const auto [ended, open] = expectedFlows(fx_->source.records);
  // By construction: final records are the 6667 j % 3 == 0 slots less record 9000 (a
  // "twice" decision record) and the 5166 j % 3 == 2 slots from 4502 on; open are the
  // 1501 decision records from 15499 on (no final record) and the 1500 never-ending
  // flows (y-100's final record closes nothing: its decision record is "twice").
  ASSERT_EQ(ended, 6666u + 5166u);
  ASSERT_EQ(open, 1501u + 1500u);
  const verify::v1::Result one = run(1);
  ASSERT_EQ(one.exit_code(), 0) << verify::summaryText(one);
  EXPECT_EQ(one.flows(), ended);
  EXPECT_EQ(one.flows_open(), open);
  for (unsigned t : {2u, 3u, 4u}) {
    const verify::v1::Result many = run(t);
    std::string diff;
    google::protobuf::util::MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(one, many)) << t << " threads differ from 1:\n" << diff;
  }
}

TEST_F(VerifyFlowsTest, ReportsShowTheFlows) {
  const verify::v1::Result r = run(0);
  ASSERT_EQ(r.exit_code(), 0) << verify::summaryText(r);
  const std::string ended = absl::StrCat(r.flows()), open = absl::StrCat(r.flows_open());
  EXPECT_NE(verify::summaryText(r).find(absl::StrCat("flows: ", ended, " ended (final record), ", open, " open")),
            std::string::npos)
      << verify::summaryText(r);
  const std::string json = verify::resultJson(r);
  EXPECT_NE(json.find(absl::StrCat("\"flows\": \"", ended, "\"")), std::string::npos) << json;
  EXPECT_NE(json.find(absl::StrCat("\"flows_open\": \"", open, "\"")), std::string::npos) << json;
  const auto dir = std::filesystem::temp_directory_path() / absl::StrCat("xb_verify_flows_", ::getpid());
  ASSERT_TRUE(verify::writeReports(r, dir.string()).ok());
  for (const auto& [file, words] : {std::pair{"report.en.html", "ended (final record)"},
                                    std::pair{"report.zh.html", "已结束（有结束记录）"}}) {
    std::ifstream in(dir / file);
    std::stringstream html;
    html << in.rdbuf();
    EXPECT_NE(html.str().find(absl::StrCat(ended, " ", words)), std::string::npos) << file;
    EXPECT_NE(html.str().find(absl::StrCat("<br>", open, " ")), std::string::npos) << file;
  }
  std::filesystem::remove_all(dir);
}

// A bundle whose SM3 digests fail reports no flows (nothing in it is authenticated).
TEST_F(VerifyFlowsTest, NoFlowsWhenTheRecordsDoNotVerify) {
  Bundle b = Fixture::unpack(*tar_);
  auto payloads = payloadsOf(b.files["records/0-20000.frames"]);
  payloads[7000] = flowRecord(7000, "y-7000", true);  // changed record, resealed manifest
  b.files["records/0-20000.frames"] = reframe(payloads);
  verify::VerifyOptions o;
  o.trust = fx_->trust();
  auto r = verify::verifyBundle(fx_->pack(b, true), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code(), 1);
  EXPECT_EQ(r->flows(), 0u);
  EXPECT_EQ(r->flows_open(), 0u);
}

}  // namespace
}  // namespace xborder::evidence::testing
