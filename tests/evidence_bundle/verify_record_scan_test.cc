// The verifier's fast record scan must never accept what parseRecord rejects, and
// must read the same values when it accepts. Checked on real records of every body
// kind, on hand-made edge cases, and differentially on many random mutations.
#include "controlplane/evidence/verify/verify_record_scan.h"

#include <random>

#include <google/protobuf/stubs/logging.h>

#include "controlplane/evidence/record/record_check.h"
#include "gtest/gtest.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence::testing {
namespace {

using verify::RecordFacts;
using verify::scanRecordFast;

void expectSameFacts(const RecordFacts& a, const RecordFacts& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.observed_unix_nanos, b.observed_unix_nanos);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.sealed, b.sealed);
  EXPECT_EQ(a.origin, b.origin);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.dst_country, b.dst_country);
  EXPECT_EQ(a.data_category, b.data_category);
  EXPECT_EQ(a.policy_decision, b.policy_decision);
}

// One record per body kind, plus a FLOW with every field set.
std::vector<std::string> sampleRecords() {
  std::vector<std::string> out;
  auto base = [](uint64_t i) {
    v1::EvidenceRecord r;
    r.set_format_version(1);
    r.set_index(i);
    r.set_origin(kOrigin);
    r.set_observed_unix_nanos(1767225600000000000LL + static_cast<int64_t>(i));
    r.set_tenant("租户-acme");  // non-ASCII: the UTF-8 check must accept it
    return r;
  };
  v1::EvidenceRecord f = base(0);
  f.set_type(v1::FLOW);
  auto* fl = f.mutable_flow();
  fl->set_flow_id(std::string(32, 'f'));
  fl->set_start_unix_nanos(-5);
  fl->set_end_unix_nanos(7);
  fl->set_src_id_hash(std::string(32, 'h'));
  fl->set_dst_ip(std::string("\xcb\x00\x71\x07", 4));
  fl->set_src_port(40000);
  fl->set_dst_port(443);
  fl->set_ip_proto(6);
  fl->set_dst_country("SG");
  fl->set_data_category("PI-HEALTH");
  fl->set_policy_decision("block");
  fl->set_rule_id("R-1");
  fl->set_bytes_out(1);
  fl->set_bytes_in(2);
  fl->set_sample_commitment(std::string(32, 'c'));
  fl->add_sealed_digests(std::string(32, 'd'));
  fl->add_sealed_digests(std::string(32, 'e'));
  fl->set_app_protocol("TLS");
  fl->set_filing_id("FTZ-1");
  fl->set_flow_seq(9);
  fl->set_hash_key_id(3);
  fl->set_identifiers_count(4);
  fl->set_ruleset_sha256(std::string(32, 'r'));
  fl->set_decision_basis(1);
  fl->set_filing_miss(2);
  fl->set_records(5);
  out.push_back(f.SerializeAsString());
  v1::EvidenceRecord a = base(1);
  a.set_type(v1::ANCHOR);
  a.mutable_anchor()->set_kind("rfc3161");
  a.mutable_anchor()->set_covers_tree_size(10);
  out.push_back(a.SerializeAsString());
  v1::EvidenceRecord s = base(2);
  s.set_type(v1::SYSTEM);
  s.mutable_system()->set_kind("clock-step");
  out.push_back(s.SerializeAsString());
  v1::EvidenceRecord al = base(3);
  al.set_type(v1::ALARM);
  al.mutable_alert()->set_kind("integrity-alarm");
  out.push_back(al.SerializeAsString());
  v1::EvidenceRecord g = base(4);
  g.set_type(v1::GAP);
  g.mutable_gap()->set_lost_count(3);
  out.push_back(g.SerializeAsString());
  v1::EvidenceRecord ap = base(5);
  ap.set_type(v1::APPLIANCE);
  ap.mutable_appliance()->set_kind(v1::ApplianceEvent::BYPASS_ON);
  out.push_back(ap.SerializeAsString());
  v1::EvidenceRecord none = base(6);  // no body at all
  out.push_back(none.SerializeAsString());
  for (uint64_t i = 7; i < 12; ++i) {
    std::string r = makeRecord(i);
    out.push_back(r);
  }
  return out;
}

uint64_t indexOf(const std::string& bytes) {
  v1::EvidenceRecord r;
  EXPECT_TRUE(r.ParseFromString(bytes));
  return r.index();
}

TEST(RecordScanTest, AcceptsEveryBodyKindWithTheParsedValues) {
  for (const std::string& bytes : sampleRecords()) {
    const uint64_t index = indexOf(bytes);
    RecordFacts fast;
    ASSERT_TRUE(scanRecordFast(bytes, index, kOrigin, &fast)) << "record " << index;
    auto rec = parseRecord(bytes, RecordExpectation{index, std::string_view(kOrigin)});
    ASSERT_TRUE(rec.ok()) << rec.status();
    expectSameFacts(fast, verify::factsOf(*rec));
  }
}

TEST(RecordScanTest, LeavesWhatItCannotVouchForToTheFullParse) {
  const std::string good = sampleRecords()[0];
  RecordFacts f;
  EXPECT_FALSE(scanRecordFast(good, 1, kOrigin, &f));                 // index is 0
  EXPECT_FALSE(scanRecordFast(good, 0, "evidence.example/other", &f));  // origin
  v1::EvidenceRecord r;
  ASSERT_TRUE(r.ParseFromString(good));
  r.set_format_version(2);
  EXPECT_FALSE(scanRecordFast(r.SerializeAsString(), 0, kOrigin, &f));
  // An unknown field at the top and inside the body: "newer format" for parseRecord.
  EXPECT_FALSE(scanRecordFast(good + std::string("\xf8\x01\x01", 3), 0, kOrigin, &f));  // field 31
  // A field repeated on the wire (protobuf keeps the last one): left to protobuf.
  EXPECT_FALSE(scanRecordFast(good + std::string("\x28\x01", 2), 0, kOrigin, &f));  // type again
  // Invalid UTF-8 in a string field (tenant = 0xc0 0x80, an overlong NUL).
  r.set_format_version(1);
  r.clear_tenant();
  std::string bad_tenant = r.SerializeAsString() + std::string("\x32\x02\xc0\x80", 4);
  google::protobuf::LogSilencer quiet;
  EXPECT_FALSE(scanRecordFast(bad_tenant, 0, kOrigin, &f));
  EXPECT_FALSE(parseRecord(bad_tenant).ok()) << "protobuf accepted invalid UTF-8; the scan may be stricter, never laxer";
  // Truncated anywhere.
  for (size_t n = 0; n < good.size(); n += 7) {
    if (scanRecordFast(std::string_view(good).substr(0, n), 0, kOrigin, &f)) {
      EXPECT_TRUE(parseRecord(good.substr(0, n), RecordExpectation{0, std::string_view(kOrigin)}).ok()) << n;
    }
  }
}

TEST(RecordScanTest, Utf8MatchesRfc3629) {
  using verify::isValidUtf8;
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(isValidUtf8("\xe4\xb8\xad\xe6\x96\x87"));  // 中文
  EXPECT_TRUE(isValidUtf8("\xf0\x9f\x98\x80"));          // U+1F600
  EXPECT_TRUE(isValidUtf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));                 // overlong
  EXPECT_FALSE(isValidUtf8("\xe0\x80\xaf"));             // overlong
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));             // surrogate
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));         // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xe4\xb8"));                 // truncated
  EXPECT_FALSE(isValidUtf8("abcdefgh\x80"));             // stray continuation
}

// Random byte flips, insertions, deletions and truncations: whenever the scan
// accepts, parseRecord must accept the same bytes with the same values.
TEST(RecordScanTest, NeverAcceptsWhatParseRecordRejects) {
  google::protobuf::LogSilencer quiet;  // protobuf logs every invalid UTF-8 string it meets
  std::mt19937_64 rng(20261123);
  const auto samples = sampleRecords();
  size_t accepted = 0, rejected_by_scan = 0;
  for (int iter = 0; iter < 60000; ++iter) {
    std::string m = samples[iter % samples.size()];
    const uint64_t index = indexOf(m);
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !m.empty(); ++e) {
      const size_t at = rng() % m.size();
      switch (rng() % 5) {
        case 0: m[at] = static_cast<char>(m[at] ^ (1u << (rng() % 8))); break;
        case 1: m[at] = static_cast<char>(rng()); break;
        case 2: m.insert(at, 1, static_cast<char>(rng())); break;
        case 3: m.erase(at, 1); break;
        case 4: m.resize(at); break;
      }
    }
    RecordFacts fast;
    const bool ok = scanRecordFast(m, index, kOrigin, &fast);
    auto rec = parseRecord(m, RecordExpectation{index, std::string_view(kOrigin)});
    if (!ok) {
      ++rejected_by_scan;
      continue;
    }
    ++accepted;
    ASSERT_TRUE(rec.ok()) << "scan accepted what parseRecord rejects (" << rec.status() << ") at iteration " << iter;
    expectSameFacts(fast, verify::factsOf(*rec));
  }
  // Both outcomes must occur, or the test proves nothing.
  EXPECT_GT(accepted, 1000u);
  EXPECT_GT(rejected_by_scan, 1000u);
}

}  // namespace
}  // namespace xborder::evidence::testing
