// The record pass on several cores (VerifyOptions::threads) must give exactly the
// result of the in-order pass: same rows in the same order, counts, anomalies (capped
// at 1000 across the workers' ranges) and the same first bad record.
#include <functional>

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence::testing {
namespace {

// Large enough for 4 workers (4096 records each at least); checkpoints inside ranges.
constexpr uint64_t kRecords = 20000;
constexpr char kFrames[] = "records/0-20000.frames";

class ParallelVerifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fx_ = new Fixture(kRecords, {5000, 12001, 20000});
    auto r = fx_->exportRange(0, kRecords);
    ASSERT_TRUE(r.ok()) << r.status();
    good_ = new std::string(r->bundle);
  }
  static void TearDownTestSuite() {
    delete fx_;
    delete good_;
  }

  static verify::v1::Result run(const std::string& tar, unsigned threads) {
    verify::VerifyOptions o;
    o.trust = fx_->trust();
    o.threads = threads;
    auto r = verify::verifyBundle(tar, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : verify::v1::Result();
  }

  // Verifies with 1, 2, 3 and 4 threads; all four results must be identical.
  static verify::v1::Result same(const std::string& tar) {
    verify::v1::Result one = run(tar, 1);
    for (unsigned t : {2u, 3u, 4u}) {
      verify::v1::Result many = run(tar, t);
      std::string diff;
      google::protobuf::util::MessageDifferencer d;
      d.ReportDifferencesToString(&diff);
      EXPECT_TRUE(d.Compare(one, many)) << t << " threads differ from 1:\n" << diff;
    }
    return one;
  }

  static std::string tampered(const std::function<void(std::vector<std::string>&)>& f) {
    Bundle b = Fixture::unpack(*good_);
    auto p = payloadsOf(b.files[kFrames]);
    f(p);
    b.files[kFrames] = reframe(p);
    return fx_->pack(b, true);
  }

  static Fixture* fx_;
  static std::string* good_;
};
Fixture* ParallelVerifyTest::fx_ = nullptr;
std::string* ParallelVerifyTest::good_ = nullptr;

TEST_F(ParallelVerifyTest, GoodBundleSameResultOnEveryThreadCount) {
  auto r = same(*good_);
  EXPECT_EQ(r.exit_code(), 0) << verify::summaryText(r);
  EXPECT_EQ(r.records(), kRecords);
  EXPECT_EQ(r.anomalies_size(), 1000);  // every 11th record is an ALARM: 1818 of them
  EXPECT_TRUE(r.anomalies(0).starts_with("record 10: ALARM")) << r.anomalies(0);
  EXPECT_TRUE(r.anomalies(999).starts_with("record 10999: ALARM")) << r.anomalies(999);
  uint64_t types = 0;
  for (const auto& c : r.counts()) {
    if (c.dimension() == "type") types += c.count();
  }
  EXPECT_EQ(types, kRecords);
}

TEST_F(ParallelVerifyTest, FlippedBitInLastWorkersRangeNamesItsCheckpoint) {
  auto r = same(tampered([](auto& p) { p[17000].back() ^= 1; }));
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_TRUE(hasFinding(r, verify::v1::FAIL, "checkpoint 20000")) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, verify::v1::FAIL, "records [12001, 20000)")) << verify::summaryText(r);
}

TEST_F(ParallelVerifyTest, TwoBadRecordsReportTheFirstOnly) {
  auto r = same(tampered([](auto& p) {
    p[15000] = makeRecord(15000, "evidence.example/other-appliance");
    p[6000] = makeRecord(6001);  // wrong index, in an earlier worker's range
  }));
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_TRUE(hasFinding(r, verify::v1::FAIL, "record 6000")) << verify::summaryText(r);
  EXPECT_FALSE(hasFinding(r, verify::v1::FAIL, "record 15000")) << verify::summaryText(r);
}

TEST_F(ParallelVerifyTest, NewerFormatRecordIsUnverifiableNotFatal) {
  auto r = same(tampered([](auto& p) { p[9000] = makeRecord(9000, kOrigin, 2); }));
  EXPECT_TRUE(hasFinding(r, verify::v1::UNVERIFIABLE, "record 9000")) << verify::summaryText(r);
}

}  // namespace
}  // namespace xborder::evidence::testing
