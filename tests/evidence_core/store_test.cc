// CRC32C vectors, frame/segment/checkpoint formats, and the Log on a real directory:
// append/ack, proofs, segment roll, recovery (torn tail, mid-log damage, rollback below
// a signed checkpoint), checkpoint CAS across two processes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "controlplane/evidence/merkle/merkle_verify.h"
#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_crc32c.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/store/store_log.h"
#include "controlplane/evidence/store/store_segment.h"
#include "tests/evidence_core/ev_test_signer.h"
#include "tests/evidence_core/ev_test_util.h"

namespace xborder::evidence {
namespace {

namespace fs = std::filesystem;
using testing::ScopedTempDir;

// --- CRC32C: RFC 3720 B.4 ----------------------------------------------------------

TEST(Crc32c, Rfc3720Vectors) {
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0'), dec(32, '\0');
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<char>(i);
    dec[i] = static_cast<char>(31 - i);
  }
  for (auto fn : {&crc32cExtendTable, &crc32cExtendHw, &crc32cExtend}) {
    if (fn == &crc32cExtendHw && !crc32cHardwareAvailable()) continue;
    EXPECT_EQ(fn(0, zeros.data(), 32), 0x8a9136aau);
    EXPECT_EQ(fn(0, ones.data(), 32), 0x62a8ab43u);
    EXPECT_EQ(fn(0, inc.data(), 32), 0x46dd794eu);
    EXPECT_EQ(fn(0, dec.data(), 32), 0x113fdb5cu);
    EXPECT_EQ(fn(0, "123456789", 9), 0xe3069283u);
    // Extending in pieces equals one pass, at every split and odd length.
    const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
    for (size_t split = 0; split <= text.size(); ++split) {
      EXPECT_EQ(fn(fn(0, text.data(), split), text.data() + split, text.size() - split),
                crc32cExtendTable(0, text.data(), text.size()));
    }
  }
}

// --- frames ------------------------------------------------------------------------

TEST(Frames, RoundTripAndErrorsNameFrameAndOffset) {
  std::string bytes;
  appendFrame(bytes, "a");
  appendFrame(bytes, std::string(13, 'b'));
  appendFrame(bytes, std::string(16, 'c'));
  EXPECT_EQ(bytes.size(), frameSize(1) + frameSize(13) + frameSize(16));
  EXPECT_EQ(frameSize(1), 16u);
  EXPECT_EQ(frameSize(16), 24u);
  auto frames = parseFrames(bytes);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 3u);
  EXPECT_EQ((*frames)[1].payload, std::string(13, 'b'));
  EXPECT_EQ((*frames)[1].offset, 16u);

  std::string flipped = bytes;
  flipped[16 + 8 + 3] ^= 0x10;
  auto bad = parseFrames(flipped);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("frame 1 at offset 16: crc mismatch"), std::string::npos)
      << bad.status();

  std::string padded = bytes;
  padded[8 + 1] = 1;  // padding of frame 0
  EXPECT_NE(parseFrames(padded).status().message().find("frame 0 at offset 0: non-zero padding"),
            std::string::npos);
  EXPECT_FALSE(parseFrames(bytes.substr(0, bytes.size() - 3)).ok());
  EXPECT_FALSE(parseFrames(bytes + std::string(8, '\0')).ok());  // end marker is not a frame

  // A torn length field is caught by the CRC (it covers the length).
  std::string len = bytes;
  len[16] = 12;
  EXPECT_EQ(scanFrames(len).stop, FrameStop::kBadCrc);
  EXPECT_EQ(scanFrames(bytes + std::string(64, '\0')).stop, FrameStop::kEndMarker);
  EXPECT_EQ(scanFrames(bytes + std::string(64, '\0')).frames.size(), 3u);
}

TEST(Segment, HeaderRoundTripAndDamage) {
  SegmentHeader h{HashAlg::kSm3, 1048576, originDigest("o.example/x")};
  const std::string bytes = encodeSegmentHeader(h);
  ASSERT_EQ(bytes.size(), kSegmentHeaderSize);
  EXPECT_EQ(bytes.substr(0, 8), std::string("EVSEG\0\0\x01", 8));
  auto back = decodeSegmentHeader(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->hash, HashAlg::kSm3);
  EXPECT_EQ(back->firstIndex, 1048576u);
  EXPECT_EQ(back->originSha256, h.originSha256);
  for (size_t i = 0; i < kSegmentHeaderSize; ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    EXPECT_FALSE(decodeSegmentHeader(bad).ok()) << "byte " << i;
  }
  EXPECT_EQ(segmentFileName(42), "seg-00000000000000000042.log");
  EXPECT_EQ(parseSegmentFileName("seg-00000000000000000042.log"), 42u);
  EXPECT_FALSE(parseSegmentFileName("seg-0000000000000000042.log"));
  EXPECT_FALSE(parseSegmentFileName("seg-99999999999999999999.log"));  // overflows u64
}

TEST(CheckpointBody, StrictFormat) {
  CheckpointBody b{"evidence.example/appliance-01", 8, {}};
  const auto root = testing::base64Decode("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=");
  b.root = *hashFromBytes(*root);
  const std::string text = formatCheckpointBody(b);
  EXPECT_EQ(text, "evidence.example/appliance-01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n");
  auto back = parseCheckpointBody(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->size, 8u);
  EXPECT_EQ(back->root, b.root);
  for (const std::string bad : {
           "evidence.example/appliance-01\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
           "evidence.example/appliance-01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
           "evidence.example/appliance-01\r\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
           "evidence.example/appliance-01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n",
           "evidence.example/appliance-01\n-8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
           "evidence.example/appliance-01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQ=\n",
           "evidence.example/appliance-01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nextra\n",
           "evidence example\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
           "evidence.example/appliance-01\n18446744073709551616\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
       }) {
    EXPECT_FALSE(parseCheckpointBody(bad).ok()) << bad;
  }
}

TEST(LogMeta, RoundTripAndStrict) {
  LogMeta m{"a.example/b", HashAlg::kSm3, 1 << 20};
  auto back = parseLogMeta(formatLogMeta(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->origin, "a.example/b");
  EXPECT_EQ(back->hash, HashAlg::kSm3);
  EXPECT_FALSE(parseLogMeta("xborder-evidence-log 2\norigin a\nhash sha256\nsegment_bytes 4096\n").ok());
  EXPECT_FALSE(parseLogMeta("xborder-evidence-log 1\norigin a\nhash md5\nsegment_bytes 4096\n").ok());
}

TEST(RecordCheck, VersionIndexOriginUnknownFields) {
  v1::EvidenceRecord r;
  r.set_format_version(1);
  r.set_index(7);
  r.set_origin("o.example/1");
  r.mutable_flow()->set_dst_country("US");
  std::string bytes = r.SerializeAsString();
  EXPECT_TRUE(parseRecord(bytes, {.index = 7, .origin = "o.example/1"}).ok());
  EXPECT_EQ(parseRecord(bytes, {.index = 8}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(parseRecord(bytes, {.origin = "x"}).status().code(), absl::StatusCode::kDataLoss);
  // Unknown field 99 (varint) inside the flow body: a newer format, not silently skipped.
  v1::EvidenceRecord withUnknown = r;
  auto* flow = withUnknown.mutable_flow();
  flow->GetReflection()->MutableUnknownFields(flow)->AddVarint(99, 1);
  EXPECT_EQ(parseRecord(withUnknown.SerializeAsString()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  r.set_format_version(2);
  EXPECT_EQ(parseRecord(r.SerializeAsString()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(parseRecord("\xff\xff\xff").ok());
}

// parseRecord checks unknown fields of the top level and of the body only; that is
// complete as long as every body message is flat.
TEST(RecordCheck, BodyMessagesAreFlat) {
  const auto* oneof = v1::EvidenceRecord::descriptor()->FindOneofByName("body");
  ASSERT_NE(oneof, nullptr);
  EXPECT_GE(oneof->field_count(), 11);
  for (int i = 0; i < oneof->field_count(); ++i) {
    const auto* msg = oneof->field(i)->message_type();
    ASSERT_NE(msg, nullptr);
    for (int j = 0; j < msg->field_count(); ++j) {
      EXPECT_NE(msg->field(j)->type(), google::protobuf::FieldDescriptor::TYPE_MESSAGE)
          << msg->full_name() << "." << msg->field(j)->name();
    }
  }
  // No map fields anywhere (wire order undefined).
  for (const auto* d : {v1::EvidenceRecord::descriptor(), v1::FlowEvidence::descriptor()}) {
    for (int j = 0; j < d->field_count(); ++j) EXPECT_FALSE(d->field(j)->is_map());
  }
}

// --- the Log on a real directory ---------------------------------------------------

constexpr char kOrigin[] = "evidence.test/appliance-01";

LogOptions testOptions(const std::string& dir, uint64_t segmentBytes = 4096) {
  LogOptions o;
  o.dir = dir;
  o.origin = kOrigin;
  o.segment_bytes = segmentBytes;
  o.checkpoint_verifier = testing::testVerifier();
  return o;
}

v1::EvidenceRecord flowRecord(int i) {
  v1::EvidenceRecord r;
  r.set_type(v1::FLOW);
  r.set_observed_unix_nanos(1'700'000'000'000'000'000 + i);
  auto* f = r.mutable_flow();
  f->set_flow_id(std::string(16, static_cast<char>(i)));
  f->set_dst_country(i % 2 ? "US" : "SG");
  f->set_policy_decision(i % 3 ? "log" : "block");
  f->set_bytes_out(1000 + i);
  return r;
}

std::string segPath(const std::string& dir, uint64_t first) { return dir + "/" + segmentFileName(first); }

std::string readAll(const std::string& p) { return testing::readWholeFile(p); }
void writeAll(const std::string& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

TEST(Log, AppendAcknowledgesProvesAndReopens) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  std::vector<std::string> bytes;
  Hash rootAt40;
  {
    auto log = Log::create(testOptions(dir));
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_FALSE(Log::create(testOptions(dir)).ok());  // exists (and locked)
    for (int i = 0; i < 100; ++i) {
      auto idx = (*log)->appendRecord(flowRecord(i));
      ASSERT_TRUE(idx.ok()) << idx.status();
      EXPECT_EQ(*idx, static_cast<uint64_t>(i));
      bytes.push_back(*(*log)->readRecord(i));
    }
    EXPECT_EQ((*log)->size(), 100u);
    rootAt40 = *(*log)->root(40);
    // Many segments with 4 KiB each: rolls happened.
    EXPECT_TRUE(fs::exists(segPath(dir, 0)));
    int segs = 0;
    for (const auto& e : fs::directory_iterator(dir)) segs += e.path().filename().string().rfind("seg-", 0) == 0;
    EXPECT_GE(segs, 2);
    // Explicit-index appends must name the next leaf.
    v1::EvidenceRecord r = flowRecord(1);
    r.set_format_version(1);
    r.set_origin(kOrigin);
    r.set_index(5);
    EXPECT_EQ((*log)->append(r.SerializeAsString()).status().code(), absl::StatusCode::kFailedPrecondition);
    r.set_index(100);
    EXPECT_EQ(*(*log)->append(r.SerializeAsString()), 100u);
    bytes.push_back(r.SerializeAsString());
    r.set_origin("other.example/x");
    r.set_index(101);
    EXPECT_EQ((*log)->append(r.SerializeAsString()).status().code(), absl::StatusCode::kInvalidArgument);
    // Second opener is refused while the first holds the lock.
    EXPECT_EQ(Log::open(testOptions(dir)).status().code(), absl::StatusCode::kFailedPrecondition);
  }
  auto log = Log::open(testOptions(dir));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->state(), LogState::kOpen);
  EXPECT_FALSE((*log)->recovery().truncated);
  ASSERT_EQ((*log)->size(), 101u);
  Hasher h;
  for (uint64_t i = 0; i < 101; ++i) ASSERT_EQ(*(*log)->readRecord(i), bytes[i]);
  EXPECT_EQ(*(*log)->root(40), rootAt40);
  const Hash root = *(*log)->root(101);
  for (uint64_t i : {0, 17, 63, 100}) {
    auto proof = (*log)->inclusionProof(i, 101);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(merkle::verifyInclusion(h, i, 101, h.leafHash(bytes[i]), *proof, root).ok());
  }
  auto cons = (*log)->consistencyProof(40, 101);
  EXPECT_TRUE(merkle::verifyConsistency(h, 40, 101, *cons, rootAt40, root).ok());
  // Exported frames parse offline and hash to the same root.
  auto frames = (*log)->readFrames(0, 101);
  ASSERT_TRUE(frames.ok());
  auto parsed = parseFrames(*frames);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 101u);
  MerkleTree t(h);
  for (const auto& f : *parsed) t.appendData(f.payload);
  EXPECT_EQ(t.root(), root);
  auto mid = (*log)->readFrames(30, 70);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(parseFrames(*mid)->size(), 40u);
  EXPECT_EQ(std::string((*parseFrames(*mid))[0].payload), bytes[30]);
}

TEST(Log, ConcurrentAppendersShareSyncsAndGetDistinctIndexes) {
  ScopedTempDir tmp;
  LogOptions o = testOptions(tmp.path() + "/log", 1 << 20);
  o.group_commit_interval = std::chrono::microseconds(200);
  o.group_commit_records = 64;
  auto log = Log::create(o);
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> got(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        auto idx = (*log)->appendRecord(flowRecord(t * 1000 + i));
        if (idx.ok()) got[t].push_back(*idx);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(*all.rbegin(), 999u);
  for (uint64_t i = 0; i < 1000; i += 97) {
    auto rec = parseRecord(*(*log)->readRecord(i), {.index = i, .origin = kOrigin});
    EXPECT_TRUE(rec.ok()) << rec.status();
  }
}

TEST(Log, CheckpointsAreSignedOverSyncedDataAndStored) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  auto log = Log::create(testOptions(dir));
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
  auto c1 = (*log)->publishCheckpoint(testing::testSigner());
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_EQ(c1->size, 10u);
  EXPECT_EQ(c1->root, *(*log)->root(10));
  EXPECT_EQ(readAll(dir + "/checkpoint"), c1->note);
  EXPECT_TRUE(testing::testVerifier()(c1->note).ok());
  // A signer that signs something else is refused.
  ASSERT_TRUE((*log)->appendRecord(flowRecord(10)).ok());
  auto liar = [](std::string_view) -> absl::StatusOr<std::string> {
    return testing::testSigner()("evidence.test/appliance-01\n999\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n");
  };
  EXPECT_FALSE((*log)->publishCheckpoint(liar).ok());
  auto c2 = (*log)->publishCheckpoint(testing::testSigner());
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->size, 11u);
  EXPECT_EQ((*log)->checkpoints().size(), 2u);
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/00000000000000000010.note"));
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/00000000000000000011.note"));
  // Nothing new: the same checkpoint comes back.
  EXPECT_EQ((*log)->publishCheckpoint(testing::testSigner())->note, c2->note);
}

TEST(Log, AutomaticCheckpointsByRecordCount) {
  ScopedTempDir tmp;
  LogOptions o = testOptions(tmp.path() + "/log");
  o.checkpoint_signer = testing::testSigner();
  o.checkpoint_every_records = 25;
  auto log = Log::create(o);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
  const auto cps = (*log)->checkpoints();
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_EQ(cps[0].size, 25u);
  EXPECT_EQ(cps[1].size, 50u);
  EXPECT_TRUE((*log)->lastAutoCheckpointError().ok());
}

// A torn tail: a partial frame after the last good one. Recovery copies the segment
// to quarantine, truncates, and logs a RECOVERY record.
TEST(LogRecovery, TornTailIsQuarantinedTruncatedAndRecorded) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  uint64_t lastSeg = 0;
  std::vector<std::string> bytes;
  {
    auto log = Log::create(testOptions(dir, 1 << 16));
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
      bytes.push_back(*(*log)->readRecord(i));
    }
    ASSERT_TRUE((*log)->publishCheckpoint(testing::testSigner()).ok());
  }
  // Simulate a half-written 21st frame: a valid length and CRC field but only part of
  // the payload reached the disk.
  std::string seg = readAll(segPath(dir, lastSeg));
  auto scan = scanFrames(std::string_view(seg).substr(64), 64);
  ASSERT_EQ(scan.frames.size(), 20u);
  v1::EvidenceRecord r = flowRecord(20);
  r.set_format_version(1);
  r.set_index(20);
  r.set_origin(kOrigin);
  std::string frame;
  appendFrame(frame, r.SerializeAsString());
  seg.replace(scan.endOffset, frame.size() / 2, frame.substr(0, frame.size() / 2));
  writeAll(segPath(dir, lastSeg), seg);

  auto log = Log::open(testOptions(dir, 1 << 16));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->state(), LogState::kOpen) << (*log)->alarm();
  const RecoveryInfo& rec = (*log)->recovery();
  ASSERT_TRUE(rec.truncated);
  EXPECT_EQ(rec.reason, "torn-tail");
  EXPECT_EQ(rec.offset, scan.endOffset);
  EXPECT_EQ(rec.recoveredSize, 20u);
  EXPECT_TRUE(fs::exists(dir + "/quarantine/" + rec.quarantineFile));
  EXPECT_EQ(readAll(dir + "/quarantine/" + rec.quarantineFile), seg);
  ASSERT_EQ((*log)->size(), 21u);
  ASSERT_TRUE(rec.recordIndex.has_value());
  EXPECT_EQ(*rec.recordIndex, 20u);
  auto logged = parseRecord(*(*log)->readRecord(20), {.index = 20, .origin = kOrigin});
  ASSERT_TRUE(logged.ok());
  EXPECT_EQ(logged->type(), v1::RECOVERY);
  EXPECT_EQ(logged->recovery().truncated_at_offset(), scan.endOffset);
  EXPECT_GT(logged->recovery().truncated_bytes(), 0u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(*(*log)->readRecord(i), bytes[i]);
  // And appends carry on.
  EXPECT_EQ(*(*log)->appendRecord(flowRecord(21)), 21u);
}

TEST(LogRecovery, MidLogDamageRaisesIntegrityAlarm) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  {
    auto log = Log::create(testOptions(dir));
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
  }
  // Flip one bit inside the second frame of the first (sealed) segment.
  std::string seg = readAll(segPath(dir, 0));
  auto scan = scanFrames(std::string_view(seg).substr(64), 64);
  ASSERT_GE(scan.frames.size(), 3u);
  const std::string original = seg;
  seg[scan.frames[1].offset + 12] ^= 0x04;
  writeAll(segPath(dir, 0), seg);
  auto log = Log::open(testOptions(dir));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
  EXPECT_NE((*log)->alarm().find("seg-00000000000000000000.log"), std::string::npos) << (*log)->alarm();
  EXPECT_NE((*log)->alarm().find("sealed segment"), std::string::npos) << (*log)->alarm();
  EXPECT_EQ((*log)->appendRecord(flowRecord(1)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE((*log)->publishCheckpoint(testing::testSigner()).ok());
  // Nothing was repaired: the damaged file is untouched.
  EXPECT_EQ(readAll(segPath(dir, 0)), seg);
  (void)original;
}

TEST(LogRecovery, DamageFollowedByGoodFramesInLastSegmentIsNotTorn) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  {
    auto log = Log::create(testOptions(dir, 1 << 16));
    for (int i = 0; i < 30; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
  }
  std::string seg = readAll(segPath(dir, 0));
  auto scan = scanFrames(std::string_view(seg).substr(64), 64);
  seg[scan.frames[10].offset + 20] ^= 0x01;
  writeAll(segPath(dir, 0), seg);
  auto log = Log::open(testOptions(dir, 1 << 16));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
  EXPECT_NE((*log)->alarm().find("mid-log damage"), std::string::npos) << (*log)->alarm();
  EXPECT_EQ(readAll(segPath(dir, 0)), seg);
}

TEST(LogRecovery, RecordOutOfPlaceRaisesAlarm) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  {
    auto log = Log::create(testOptions(dir, 1 << 16));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
  }
  // Rewrite frame 3 with a valid CRC but the record of index 4 (a duplicate/reorder).
  std::string seg = readAll(segPath(dir, 0));
  auto scan = scanFrames(std::string_view(seg).substr(64), 64);
  std::string frames;
  for (int i : {0, 1, 2, 4, 4}) appendFrame(frames, scan.frames[i].payload);
  seg.replace(64, frames.size(), frames);
  writeAll(segPath(dir, 0), seg);
  auto log = Log::open(testOptions(dir, 1 << 16));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
  EXPECT_NE((*log)->alarm().find("leaf 3"), std::string::npos) << (*log)->alarm();
}

// Tearing off records that a checkpoint already covers is not recoverable.
TEST(LogRecovery, NeverBelowTheSignedCheckpoint) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  {
    auto log = Log::create(testOptions(dir, 1 << 16));
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
    ASSERT_TRUE((*log)->publishCheckpoint(testing::testSigner()).ok());
  }
  std::string seg = readAll(segPath(dir, 0));
  auto scan = scanFrames(std::string_view(seg).substr(64), 64);
  // Zero the tail from frame 8 on: it looks exactly like a torn write.
  std::fill(seg.begin() + static_cast<long>(scan.frames[8].offset) + 8, seg.end(), '\0');
  writeAll(segPath(dir, 0), seg);
  auto log = Log::open(testOptions(dir, 1 << 16));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
  EXPECT_NE((*log)->alarm().find("below the signed checkpoint size 10"), std::string::npos)
      << (*log)->alarm();
  EXPECT_EQ(readAll(segPath(dir, 0)), seg);  // not truncated
}

TEST(LogRecovery, MissingSegmentOrForeignCheckpointRaisesAlarm) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  {
    auto log = Log::create(testOptions(dir));
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
    ASSERT_TRUE((*log)->publishCheckpoint(testing::testSigner()).ok());
  }
  std::vector<std::string> segs;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (parseSegmentFileName(e.path().filename().string())) segs.push_back(e.path());
  }
  std::sort(segs.begin(), segs.end());
  ASSERT_GT(segs.size(), 2u);
  // Deleting the last segment drops leaves the checkpoint covers.
  const std::string lastSeg = readAll(segs.back());
  fs::remove(segs.back());
  {
    auto log = Log::open(testOptions(dir));
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
    EXPECT_NE((*log)->alarm().find("signed, but only"), std::string::npos) << (*log)->alarm();
  }
  writeAll(segs.back(), lastSeg);
  // Deleting a middle segment breaks the index chain.
  const std::string midSeg = readAll(segs[1]);
  fs::remove(segs[1]);
  {
    auto log = Log::open(testOptions(dir));
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
    EXPECT_NE((*log)->alarm().find("does not continue the log"), std::string::npos) << (*log)->alarm();
  }
  writeAll(segs[1], midSeg);
  // A validly signed checkpoint over another root (a forked history) is caught.
  const std::string good = readAll(dir + "/checkpoint");
  writeAll(dir + "/checkpoint",
           *testing::testSigner()("evidence.test/appliance-01\n50\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"));
  {
    auto log = Log::open(testOptions(dir));
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
    EXPECT_NE((*log)->alarm().find("differs from the signed checkpoint"), std::string::npos) << (*log)->alarm();
  }
  // A checkpoint signed by another key is not accepted either.
  writeAll(dir + "/checkpoint", *testing::testSigner("other-key")(*noteBody(good)));
  {
    auto log = Log::open(testOptions(dir));
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->state(), LogState::kIntegrityAlarm);
    EXPECT_NE((*log)->alarm().find("does not verify"), std::string::npos) << (*log)->alarm();
  }
  writeAll(dir + "/checkpoint", good);
  auto log = Log::open(testOptions(dir));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->state(), LogState::kOpen) << (*log)->alarm();
  EXPECT_EQ((*log)->size(), 100u);
}

// Two processes: the second cannot open while the first holds the lock; and if the
// lock is defeated (LOCK file replaced), the checkpoint compare-and-swap still stops
// the second writer from publishing over a checkpoint it has not seen.
TEST(LogCas, TwoProcessesCannotForkTheLog) {
  ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  {
    auto log = Log::create(testOptions(dir));
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
    ASSERT_TRUE((*log)->publishCheckpoint(testing::testSigner()).ok());
  }
  int toChild[2], toParent[2];
  ASSERT_EQ(pipe(toChild), 0);
  ASSERT_EQ(pipe(toParent), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: writer A. Opens, appends, signals, waits, then publishes a checkpoint.
    auto log = Log::open(testOptions(dir));
    if (!log.ok()) _exit(10);
    for (int i = 10; i < 20; ++i) {
      if (!(*log)->appendRecord(flowRecord(i)).ok()) _exit(11);
    }
    char c = 'o';
    if (write(toParent[1], &c, 1) != 1) _exit(12);
    if (read(toChild[0], &c, 1) != 1) _exit(13);
    if (!(*log)->publishCheckpoint(testing::testSigner()).ok()) _exit(14);
    if (write(toParent[1], &c, 1) != 1) _exit(15);
    if (read(toChild[0], &c, 1) != 1) _exit(16);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(toParent[0], &c, 1), 1);
  // Writer B is refused by the flock while A holds the log.
  auto refused = Log::open(testOptions(dir));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  // Defeat the lock: a new LOCK inode. B now opens and sees checkpoint 10.
  fs::remove(dir + "/LOCK");
  auto b = Log::open(testOptions(dir));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->latestCheckpoint()->size, 10u);
  // A publishes its checkpoint at 20.
  ASSERT_EQ(write(toChild[1], &c, 1), 1);
  ASSERT_EQ(read(toParent[0], &c, 1), 1);
  // B's compare-and-swap fails: the stored checkpoint is no longer the one B saw.
  auto forked = (*b)->publishCheckpoint(testing::testSigner());
  EXPECT_EQ(forked.status().code(), absl::StatusCode::kAborted) << forked.status();
  ASSERT_EQ(write(toChild[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  b->reset();
  auto log = Log::open(testOptions(dir));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->latestCheckpoint()->size, 20u);
  EXPECT_EQ((*log)->state(), LogState::kOpen) << (*log)->alarm();
}

TEST(Log, Sm3LogRootsUseSm3) {
  ScopedTempDir tmp;
  LogOptions o = testOptions(tmp.path() + "/log");
  o.hash = HashAlg::kSm3;
  {
    auto log = Log::create(o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->appendRecord(flowRecord(i)).ok());
  }
  auto log = Log::open(testOptions(tmp.path() + "/log"));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->hashAlg(), HashAlg::kSm3);
  Hasher sm3(HashAlg::kSm3);
  MerkleTree t(sm3);
  for (uint64_t i = 0; i < 5; ++i) t.appendData(*(*log)->readRecord(i));
  EXPECT_EQ(t.root(), *(*log)->root(5));
}

}  // namespace
}  // namespace xborder::evidence
