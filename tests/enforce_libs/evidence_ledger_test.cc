// LossLedger: the loss tally an exit on a full disk leaves for the next start.
#include "dataplane/evidence_sink/evidence_sink_ledger.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace xborder::dp::evidence_sink {
namespace {

namespace v1 = evidence::v1;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xb-ledger-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/" + LossLedger::kFileName;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  static v1::EvidenceRecord gap(std::string source, uint64_t lost, int64_t from, int64_t to, uint32_t worker) {
    v1::EvidenceRecord r;
    r.set_type(v1::GAP);
    auto* g = r.mutable_gap();
    g->set_source(std::move(source));
    g->set_lost_count(lost);
    g->set_from_unix_nanos(from);
    g->set_to_unix_nanos(to);
    g->set_worker(worker);
    g->set_first_seq(lost * 2);
    g->set_last_seq(lost * 3);
    return r;
  }
  std::string bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void overwrite(size_t at, char c) const {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(c);
  }

  std::string dir_, path_;
};

TEST_F(LedgerTest, CreatedZeroFilledAtItsFullSizeAndReadsClean) {
  auto l = LossLedger::open(path_);
  ASSERT_TRUE(l.ok()) << l.status();
  // The whole size is allocated up front: an exit on a full disk only overwrites it.
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), LossLedger::kBytes);
  EXPECT_EQ(bytes(), std::string(LossLedger::kBytes, '\0'));
  auto r = l->read();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());
}

TEST_F(LedgerTest, RoundTripSurvivesReopenThenClears) {
  {
    auto l = LossLedger::open(path_);
    ASSERT_TRUE(l.ok());
    ASSERT_TRUE(l->write({gap("disk-full worker=0 a b", 79, 100, 200, 0), gap("disk-full control records", 1, 150, 300, 0)})
                    .ok());
  }
  auto l = LossLedger::open(path_);  // the next start
  ASSERT_TRUE(l.ok());
  auto r = l->read();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].type(), v1::GAP);
  EXPECT_EQ((*r)[0].gap().source(), "disk-full worker=0 a b");
  EXPECT_EQ((*r)[0].gap().lost_count(), 79u);
  EXPECT_EQ((*r)[0].gap().first_seq(), 158u);
  EXPECT_EQ((*r)[0].gap().last_seq(), 237u);
  EXPECT_EQ((*r)[1].gap().lost_count(), 1u);
  EXPECT_EQ((*r)[1].gap().to_unix_nanos(), 300);
  EXPECT_EQ(bytes().size(), LossLedger::kBytes);
  ASSERT_TRUE(l->clear().ok());
  EXPECT_EQ(bytes(), std::string(LossLedger::kBytes, '\0'));
  EXPECT_TRUE(l->read()->empty());
}

TEST_F(LedgerTest, ATornOrEditedFileStillSaysEventsWereLost) {
  auto l = LossLedger::open(path_);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(l->write({gap("disk-full worker=1", 5, 1, 2, 1)}).ok());
  const std::string good = bytes();
  for (size_t at : {size_t{0}, size_t{30}, good.find("end ") + 5, good.find('\0') - 1}) {
    ASSERT_TRUE(l->write({gap("disk-full worker=1", 5, 1, 2, 1)}).ok());
    overwrite(at, static_cast<char>(good[at] == 'f' ? 'e' : 'f'));
    auto r = l->read();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 1u) << "byte " << at;
    EXPECT_NE((*r)[0].gap().source().find("unreadable"), std::string::npos) << (*r)[0].gap().source();
    EXPECT_EQ((*r)[0].gap().lost_count(), 0u);
  }
  // Cut short (a crash between two sectors): the end line is missing.
  ASSERT_TRUE(l->write({gap("disk-full worker=1", 5, 1, 2, 1)}).ok());
  for (size_t i = good.find("end "); i < good.find('\0'); ++i) overwrite(i, '\0');
  auto r = l->read();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_NE((*r)[0].gap().source().find("no end line"), std::string::npos) << (*r)[0].gap().source();
}

TEST_F(LedgerTest, MoreRecordsThanFitAreFoldedWithNothingUncounted) {
  auto l = LossLedger::open(path_);
  ASSERT_TRUE(l.ok());
  std::vector<v1::EvidenceRecord> many;
  uint64_t total = 0;
  for (uint32_t w = 0; w < 64; ++w) {
    many.push_back(gap("disk-full worker=" + std::to_string(w) + std::string(40, 'x'), w + 1, 1000 + w, 5000 - w, w));
    total += w + 1;
  }
  ASSERT_TRUE(l->write(many).ok());
  EXPECT_EQ(bytes().size(), LossLedger::kBytes);
  auto r = l->read();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].gap().lost_count(), total);
  EXPECT_EQ((*r)[0].gap().from_unix_nanos(), 1000);
  EXPECT_EQ((*r)[0].gap().to_unix_nanos(), 5000);
  EXPECT_NE((*r)[0].gap().source().find("64 GAP records folded"), std::string::npos);
}

}  // namespace
}  // namespace xborder::dp::evidence_sink
