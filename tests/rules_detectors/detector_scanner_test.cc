#include "rules/detectors/detector_scanner.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>

#include "rules/detectors/detector_set.h"
#include "rules/detectors/detector_validators.h"
#include "tests/rules_detectors/detector_test_util.h"

namespace xborder::rules::detectors {
namespace {

using testing::fullSpec;
using testing::scanSplit;
using testing::testKey;
using D = DetectorId;

constexpr uint32_t kToday = 20251123;

class ScannerTest : public ::testing::Test {
 protected:
  // One compiled set for the suite: compiling takes a few hundred milliseconds.
  static void SetUpTestSuite() {
    auto s = DetectorSet::build(fullSpec());
    if (s.ok()) shared_ = *s;
  }
  static void TearDownTestSuite() { shared_.reset(); }
  void SetUp() override {
    ASSERT_NE(shared_, nullptr) << DetectorSet::build(fullSpec()).status();
    set_ = shared_;
    auto sc = Scanner::create(set_, testKey(), kToday);
    ASSERT_TRUE(sc.ok()) << sc.status();
    scanner_ = std::move(*sc);
  }
  FlowScanResult scan(std::string_view text) { return scanSplit(*scanner_, text); }

  static inline std::shared_ptr<const DetectorSet> shared_;
  std::shared_ptr<const DetectorSet> set_;
  std::unique_ptr<Scanner> scanner_;
};

TEST_F(ScannerTest, RegistryListsTheSampleNames) {
  EXPECT_EQ(detectorNames().size(), kDetectorCount);
  EXPECT_TRUE(detectorByName("face_image_or_template").has_value());
  EXPECT_FALSE(detectorByName("ssn").has_value());
  EXPECT_GT(set_->streamStateBytes(), 0u);
  EXPECT_LT(set_->streamStateBytes(), 64u * 1024);
}

TEST_F(ScannerTest, ResidentIdInJsonWithKeywordIsHighConfidence) {
  auto r = scan(R"({"name":"张三","身份证":"11010519491231002X"})");
  EXPECT_EQ(r.hitsOf(D::kCnResidentId), 1u);
  EXPECT_EQ(r.highConfidence[static_cast<size_t>(D::kCnResidentId)], 1u);
  EXPECT_EQ(r.classHits[static_cast<size_t>(PiClass::kIdentifier)], 1u);
  EXPECT_EQ(r.nonSensitiveHits, 1u);
  EXPECT_EQ(r.sensitiveHits, 0u);
  ASSERT_EQ(r.hashes().size(), 1u);
  EXPECT_EQ(r.hashes()[0].detector, D::kCnResidentId);
}

TEST_F(ScannerTest, ResidentIdNearMissesAreRejected) {
  auto r = scan("id 110105194912310021 and 110105194913310028 and 1101051949123100201");
  EXPECT_EQ(r.hitsOf(D::kCnResidentId), 0u);
  EXPECT_EQ(r.rejected[static_cast<size_t>(D::kCnResidentId)], 2u);  // the 19-digit one never matches
}

TEST_F(ScannerTest, LegacyIdNeedsContextAndHashesLikeItsNewForm) {
  EXPECT_EQ(scan("ref 110105491231002 ok").hitsOf(D::kCnResidentId), 0u);
  auto old = scan("身份证号 110105491231002");
  auto cur = scan("身份证号 11010519491231002X");
  ASSERT_EQ(old.hitsOf(D::kCnResidentId), 1u);
  ASSERT_EQ(old.hashes().size(), 1u);
  ASSERT_EQ(cur.hashes().size(), 1u);
  EXPECT_EQ(old.hashes()[0].hash, cur.hashes()[0].hash);
}

TEST_F(ScannerTest, MobileNeedsContextBeforeOrAfter) {
  EXPECT_EQ(scan("order 13812345678 shipped").hitsOf(D::kCnMobile), 0u);
  EXPECT_EQ(scan("手机：13812345678").hitsOf(D::kCnMobile), 1u);
  EXPECT_EQ(scan("13812345678 is my phone").hitsOf(D::kCnMobile), 1u);
  EXPECT_EQ(scan("mobile=+86 138-1234-5678&x=1").hitsOf(D::kCnMobile), 1u);
  auto far = std::string("13812345678") + std::string(2000, ' ') + "phone";
  auto r = scan(far);
  EXPECT_EQ(r.hitsOf(D::kCnMobile), 0u);
  EXPECT_EQ(r.noContext[static_cast<size_t>(D::kCnMobile)], 1u);
}

TEST_F(ScannerTest, CsvColumnKeepsContextRowAfterRow) {
  std::string csv = "name,phone,city\n";
  for (int i = 0; i < 50; ++i) csv += "user" + std::to_string(i) + ",139" + std::to_string(10000000 + i * 7919) + ",Suzhou\n";
  EXPECT_EQ(scan(csv).hitsOf(D::kCnMobile), 50u);
}

TEST_F(ScannerTest, BankCardIsSensitive) {
  auto r = scan(R"({"card_no":"6222 0212 3456 7890 128"})");
  EXPECT_EQ(r.hitsOf(D::kBankCard), 1u);
  EXPECT_EQ(r.sensitiveHits, 1u);
  EXPECT_EQ(r.classHits[static_cast<size_t>(PiClass::kFinancialAccount)], 1u);
  EXPECT_EQ(scan(R"({"card_no":"6222021234567890127"})").hitsOf(D::kBankCard), 0u);
}

TEST_F(ScannerTest, OtherIdentifiers) {
  EXPECT_EQ(scan("统一社会信用代码:91350100M000100Y43;").hitsOf(D::kUscc), 1u);
  EXPECT_EQ(scan("vin=1M8GDM9AXKP042788&").hitsOf(D::kVin), 1u);
  EXPECT_EQ(scan("vin=1M8GDM9A1KP042788&").hitsOf(D::kVin), 0u);
  EXPECT_EQ(scan("passport: E12345678.").hitsOf(D::kCnPassport), 1u);
  EXPECT_EQ(scan("contact zhang.san@qq.com.").hitsOf(D::kEmail), 1u);
  EXPECT_EQ(scan("see logo@2x.png").hitsOf(D::kEmail), 0u);
  EXPECT_EQ(scan("港澳通行证 C12345678").hitsOf(D::kHkMacauPermit), 1u);
  EXPECT_EQ(scan("ref C12345678").hitsOf(D::kHkMacauPermit), 0u);
}

TEST_F(ScannerTest, MrzCountsOncePerPassport) {
  std::string mrz = "P<CHNZHANG<<SAN<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nE123456784CHN9001011M3001013<<<<<<<<<<<<<<02\n";
  // Recompute the check digits rather than trusting hand arithmetic.
  std::string line = "E12345678" + std::string(1, '0' + mrzCheckDigit("E12345678")) + "CHN900101" +
                     std::string(1, '0' + mrzCheckDigit("900101")) + "M300101" +
                     std::string(1, '0' + mrzCheckDigit("300101")) + "<<<<<<<<<<<<<<0";
  ASSERT_EQ(line.size(), 43u);
  int sum = 0;
  std::string comp = line.substr(0, 10) + line.substr(13, 7) + line.substr(21, 22);
  sum = mrzCheckDigit(comp);
  line += static_cast<char>('0' + sum);
  ASSERT_TRUE(validMrzLine2(line));
  EXPECT_EQ(scan("P<CHNZHANG<<SAN<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\n" + line + "\n").hitsOf(D::kCnPassport), 1u);
  line[9] = line[9] == '9' ? '0' : static_cast<char>(line[9] + 1);
  EXPECT_EQ(scan("\n" + line + "\n").hitsOf(D::kCnPassport), 0u);
  (void)mrz;
}

TEST_F(ScannerTest, PlatesInUtf8AndGbkHashAlike) {
  auto u = scan("车牌号：苏E12345，");
  EXPECT_EQ(u.hitsOf(D::kCnPlate), 1u);
  auto gbkText = utf8ToGbk("车牌号：苏E12345，");
  ASSERT_TRUE(gbkText.has_value());
  auto g = scan(*gbkText);
  EXPECT_EQ(g.hitsOf(D::kCnPlate), 1u);
  ASSERT_EQ(u.hashes().size(), 1u);
  ASSERT_EQ(g.hashes().size(), 1u);
  EXPECT_EQ(u.hashes()[0].hash, g.hashes()[0].hash);
  EXPECT_EQ(scan("新能源 粤BD12345 ").hitsOf(D::kCnPlate), 1u);
  EXPECT_EQ(scan("教练车 苏E1234学").hitsOf(D::kCnPlate), 1u);
  EXPECT_EQ(scan("苏I12345 ").hitsOf(D::kCnPlate), 0u);  // I is never an authority letter
}

TEST_F(ScannerTest, GpsFormsAndBoundingBox) {
  EXPECT_EQ(scan(R"({"lat": 31.230416, "lng": 121.473701})").hitsOf(D::kGpsCoordinate), 1u);
  EXPECT_EQ(scan(R"({"lng":121.4737,"lat":31.2304})").hitsOf(D::kGpsCoordinate), 1u);
  EXPECT_EQ(scan(R"({"type":"Point","coordinates":[120.5853,31.2989]})").hitsOf(D::kGpsCoordinate), 1u);
  EXPECT_EQ(scan("POINT(120.5853 31.2989)").hitsOf(D::kGpsCoordinate), 1u);
  EXPECT_EQ(scan("$GPRMC,123519,A,3113.8240,N,12128.4220,E,022.4,084.4,230394,003.1,W*6A").hitsOf(D::kGpsCoordinate), 1u);
  EXPECT_EQ(scan(R"({"lat": 48.856613, "lng": 2.352222})").hitsOf(D::kGpsCoordinate), 0u);
  EXPECT_EQ(scan(R"({"lat": 31.23, "lng": 121.47})").hitsOf(D::kGpsCoordinate), 0u);
  auto r = scan(R"({"lat": 31.230416, "lng": 121.473701})");
  EXPECT_EQ(r.classHits[static_cast<size_t>(PiClass::kPreciseLocation)], 1u);
  EXPECT_EQ(r.sensitiveHits, 1u);
  EXPECT_TRUE(r.hashes().empty());
}

TEST_F(ScannerTest, MedicalNeedsFieldContextDicomDoesNot) {
  EXPECT_EQ(scan("诊断：J18.9 肺炎").hitsOf(D::kMedicalRecordFields), 1u);
  EXPECT_EQ(scan("flight A32 and vitamin B12").hitsOf(D::kMedicalRecordFields), 0u);
  // Field keys count once with their value; further codes in context count too.
  EXPECT_EQ(scan(R"({"diagnosis":"community-acquired pneumonia"})").hitsOf(D::kMedicalRecordFields), 1u);
  EXPECT_EQ(scan(R"({"diagnosis":"J18.9"})").hitsOf(D::kMedicalRecordFields), 1u);
  EXPECT_EQ(scan("诊断：J18.9, E11.9").hitsOf(D::kMedicalRecordFields), 2u);
  EXPECT_EQ(scan("the diagnosis of the outage took hours").hitsOf(D::kMedicalRecordFields), 0u);
  auto gbk = utf8ToGbk("病历：高血压");
  ASSERT_TRUE(gbk.has_value());
  EXPECT_EQ(scan(*gbk).hitsOf(D::kMedicalRecordFields), 1u);
  std::string dicom(128, '\0');
  dicom += "DICM";
  dicom += std::string("\x02\x00\x00\x00UL\x04\x00", 8);
  EXPECT_EQ(scan(dicom).hitsOf(D::kMedicalRecordFields), 1u);
}

TEST_F(ScannerTest, GenomicSignatures) {
  EXPECT_EQ(scan("##fileformat=VCFv4.2\n#CHROM\tPOS\n").hitsOf(D::kGenomicSequence), 1u);
  EXPECT_GE(scan("@SRR001666.1 071112_SLXA\nGATTTGGGGTTCAAAGCAGTATCGATCAAATAGTAAATCC\n+\nIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII9IG9IC\n")
                .hitsOf(D::kGenomicSequence),
            1u);
  std::string bgzf("\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00\x42\x43\x02\x00\x1b\x00", 18);
  EXPECT_EQ(scan(bgzf + "compressed").hitsOf(D::kGenomicSequence), 1u);
  std::string gzip("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  EXPECT_EQ(scan(gzip + "compressed").hitsOf(D::kGenomicSequence), 0u);
}

TEST_F(ScannerTest, FaceNeedsCameraEndpointAndImageType) {
  EXPECT_EQ(scan("POST /api/camera/upload HTTP/1.1\r\nContent-Type: image/jpeg\r\n\r\n").hitsOf(D::kFaceImageOrTemplate), 1u);
  EXPECT_EQ(scan("POST /api/avatar HTTP/1.1\r\nContent-Type: image/jpeg\r\n\r\n").hitsOf(D::kFaceImageOrTemplate), 0u);
  std::string vec = R"({"face_feature":[)";
  for (int i = 0; i < 128; ++i) vec += (i ? "," : "") + std::string("0.") + std::to_string(1000 + i);
  vec += "]}";
  EXPECT_EQ(scan(vec).hitsOf(D::kFaceImageOrTemplate), 1u);
}

TEST_F(ScannerTest, ClassifiedMarkingOnlyNearTheHead) {
  EXPECT_EQ(scan("机密★5年\n关于……的通知").hitsOf(D::kClassifiedMarking), 1u);
  EXPECT_EQ(scan(std::string(5000, 'a') + "机密★").hitsOf(D::kClassifiedMarking), 0u);
  auto gbk = utf8ToGbk("绝密★长期 文件");
  ASSERT_TRUE(gbk.has_value());
  EXPECT_EQ(scan(*gbk).hitsOf(D::kClassifiedMarking), 1u);
}

TEST_F(ScannerTest, DictionariesUtf8GbkAndEnglishBoundaries) {
  auto idx = set_->dictionaryIndex("kw_waybill");
  ASSERT_TRUE(idx.has_value());
  EXPECT_EQ(scan("运单号 123, waybill W1, trackingNo").dictionaryHits[*idx], 2u);
  EXPECT_EQ(scan("Waybill: 1; WAYBILL").dictionaryHits[*idx], 2u);
  EXPECT_EQ(scan("waybills").dictionaryHits[*idx], 0u);
  EXPECT_EQ(scan("myWaybill=1").dictionaryHits[*idx], 1u);  // camelCase hump
  auto gbk = utf8ToGbk("收件人：李四");
  ASSERT_TRUE(gbk.has_value());
  EXPECT_EQ(scan(*gbk).dictionaryHits[*idx], 1u);
}

TEST_F(ScannerTest, SplitAtEveryByteFindsTheSameHits) {
  const std::string text =
      R"({"身份证":"11010519491231002X","mobile":"13812345678","card_no":"6222021234567890128",)"
      R"("email":"li.si@163.com","lat":31.230416,"lng":121.473701,"vin":"1M8GDM9AXKP042788"})";
  auto whole = scan(text);
  EXPECT_EQ(whole.totalHits(), 6u);
  for (size_t cut = 1; cut < text.size(); ++cut) {
    auto r = scanSplit(*scanner_, text, {cut});
    ASSERT_EQ(r.hits, whole.hits) << "cut at " << cut;
    ASSERT_EQ(r.keyHashCount, whole.keyHashCount) << "cut at " << cut;
  }
}

TEST_F(ScannerTest, HashesAreKeyedAndRawIdentifiersAreNotKept) {
  const std::string id = "11010519491231002X";
  FlowScanState st;
  ASSERT_TRUE(scanner_->open(st));
  std::string text = "身份证 " + id + " ";
  scanner_->scan(st, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  scanner_->finish(st);
  ASSERT_EQ(st.result().keyHashCount, 1u);
  const uint64_t h = st.result().keyHashes[0].hash;
  // Same identifier, same key: same hash. Another key: a different hash.
  EXPECT_EQ(scanner_->keyedHash(static_cast<uint8_t>(D::kCnResidentId), id.data(), id.size()), h);
  std::vector<uint8_t> other(16, 7);
  auto sc2 = Scanner::create(set_, other, kToday);
  ASSERT_TRUE(sc2.ok());
  EXPECT_NE((*sc2)->keyedHash(static_cast<uint8_t>(D::kCnResidentId), id.data(), id.size()), h);
  // The result (what callers keep) holds no copy of the identifier.
  const auto* bytes = reinterpret_cast<const char*>(&st.result());
  EXPECT_EQ(std::string_view(bytes, sizeof(FlowScanResult)).find("1101051949"), std::string_view::npos);
}

TEST_F(ScannerTest, DistinctHashSetIsBounded) {
  std::string text = "身份证\n";
  auto withCheck = [](std::string first17) { return first17 + residentIdCheckChar(first17); };
  for (int i = 0; i < 40; ++i) {
    char seq[8];
    std::snprintf(seq, sizeof(seq), "%03d", i * 2 + 1);
    text += withCheck(std::string("32050519900307") + seq) + "\n";
  }
  text += withCheck("32050519900307001") + "\n";  // a repeat: not a new hash
  auto r = scan(text);
  EXPECT_EQ(r.hitsOf(D::kCnResidentId), 41u);
  EXPECT_EQ(r.keyHashCount, kMaxKeyHashes);
  // 40 distinct identifiers; the repeat matches a stored hash and is not "dropped".
  EXPECT_EQ(r.keyHashesDropped, 40u - kMaxKeyHashes);
}

TEST_F(ScannerTest, ResetReusesTheStream) {
  FlowScanState st;
  ASSERT_TRUE(scanner_->open(st));
  std::string a = "vin 1M8GDM9AXKP042788 ";
  scanner_->scan(st, reinterpret_cast<const uint8_t*>(a.data()), a.size());
  scanner_->finish(st);
  EXPECT_EQ(st.result().hitsOf(D::kVin), 1u);
  EXPECT_FALSE(scanner_->scan(st, reinterpret_cast<const uint8_t*>(a.data()), a.size()));
  scanner_->reset(st);
  EXPECT_EQ(st.result().totalHits(), 0u);
  std::string b = "VIN:1M8GDM9AXKP0";
  scanner_->scan(st, reinterpret_cast<const uint8_t*>(b.data()), b.size());
  std::string c = "42788";
  scanner_->scan(st, reinterpret_cast<const uint8_t*>(c.data()), c.size());
  scanner_->finish(st);  // the VIN ends the stream: only \z closes it
  EXPECT_EQ(st.result().hitsOf(D::kVin), 1u);
}

TEST_F(ScannerTest, WorkersShareOneSetWithTheirOwnScanners) {
  const std::string text = R"({"身份证":"11010519491231002X","mobile":"13812345678","email":"li.si@163.com"})";
  auto expected = scan(text);
  std::vector<std::thread> workers;
  std::vector<int> mismatches(2, 0);
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&, w] {
      auto sc = Scanner::create(set_, testKey(), kToday);
      if (!sc.ok()) {
        mismatches[static_cast<size_t>(w)] = -1;
        return;
      }
      for (int i = 0; i < 500; ++i) {
        auto r = scanSplit(**sc, text, {static_cast<size_t>(i % text.size())});
        if (r.hits != expected.hits || r.keyHashCount != expected.keyHashCount) ++mismatches[static_cast<size_t>(w)];
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(mismatches, std::vector<int>({0, 0}));
}

TEST_F(ScannerTest, StatesMoveIntoVectorsMidStream) {
  std::vector<FlowScanState> flows(3);
  for (auto& f : flows) ASSERT_TRUE(scanner_->open(f));
  const std::string a = "身份证 110105194912", b = "31002X ";
  scanner_->scan(flows[1], reinterpret_cast<const uint8_t*>(a.data()), a.size());
  flows.resize(64);  // reallocates: states move with their streams and tails
  EXPECT_TRUE(flows[1].isOpen());
  scanner_->scan(flows[1], reinterpret_cast<const uint8_t*>(b.data()), b.size());
  scanner_->finish(flows[1]);
  EXPECT_EQ(flows[1].result().hitsOf(D::kCnResidentId), 1u);
  FlowScanState moved = std::move(flows[1]);
  EXPECT_FALSE(flows[1].isOpen());
  EXPECT_EQ(moved.result().hitsOf(D::kCnResidentId), 1u);
}

TEST(DetectorSetTest, SerializeRoundTripAndSpecMismatch) {
  auto spec = fullSpec();
  auto set = DetectorSet::build(spec);
  ASSERT_TRUE(set.ok()) << set.status();
  auto bytes = (*set)->serialize();
  ASSERT_TRUE(bytes.ok());
  auto loaded = DetectorSet::deserialize(spec, *bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->patternCount(), (*set)->patternCount());
  auto sc = Scanner::create(*loaded, testing::testKey(), kToday);
  ASSERT_TRUE(sc.ok());
  EXPECT_EQ(scanSplit(**sc, "身份证 11010519491231002X").hitsOf(D::kCnResidentId), 1u);

  auto other = spec;
  other.dictionaries[0].keywords.push_back("快递单");
  EXPECT_EQ(DetectorSet::deserialize(other, *bytes).status().code(), absl::StatusCode::kFailedPrecondition);
  std::string corrupt = *bytes;
  corrupt[0] = 'Y';
  EXPECT_EQ(DetectorSet::deserialize(spec, corrupt).status().code(), absl::StatusCode::kInvalidArgument);
  corrupt = bytes->substr(0, 40);
  EXPECT_FALSE(DetectorSet::deserialize(spec, corrupt).ok());
}

TEST(DetectorSetTest, BuildRejectsBadSpecs) {
  DetectorSetSpec spec;
  spec.detectors.push_back({.name = "ssn"});
  spec.detectors.push_back({.name = "email"});
  spec.detectors.push_back({.name = "email"});
  auto r = DetectorSet::build(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown detector 'ssn'"), absl::string_view::npos);
  EXPECT_NE(r.status().message().find("listed twice"), absl::string_view::npos);
  EXPECT_FALSE(DetectorSet::build(DetectorSetSpec{}).ok());
  DetectorSetSpec gated;
  gated.detectors.push_back({.name = "email", .contextKeywords = {}, .proximityChars = 999999});
  EXPECT_FALSE(DetectorSet::build(gated).ok());
}

TEST(DetectorSetTest, OnlyEnabledDetectorsCount) {
  DetectorSetSpec spec;
  spec.detectors.push_back({.name = "vin"});
  auto set = DetectorSet::build(spec);
  ASSERT_TRUE(set.ok()) << set.status();
  auto sc = Scanner::create(*set, testing::testKey(), kToday);
  ASSERT_TRUE(sc.ok());
  auto r = scanSplit(**sc, "身份证 11010519491231002X vin 1M8GDM9AXKP042788");
  EXPECT_EQ(r.hitsOf(D::kVin), 1u);
  EXPECT_EQ(r.hitsOf(D::kCnResidentId), 0u);
  EXPECT_FALSE(Scanner::create(*set, std::vector<uint8_t>(8, 1)).ok());  // short key
}

}  // namespace
}  // namespace xborder::rules::detectors
