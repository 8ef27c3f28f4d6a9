#include "controlplane/evidence/bundle/bundle_export.h"

#include <algorithm>
#include <functional>
#include <future>
#include <memory>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"
#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/bundle/bundle_proof_files.h"
#include "controlplane/evidence/bundle/bundle_tar.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/store/store_log.h"

namespace xborder::evidence::bundle {
namespace {

std::string raw(const Hash& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }

std::vector<std::string> raws(const std::vector<Hash>& hs) {
  std::vector<std::string> out;
  out.reserve(hs.size());
  for (const auto& h : hs) out.push_back(raw(h));
  return out;
}

// "evidence.example/appliance-01" -> "evidence.example_appliance-01"
std::string slug(std::string_view origin) {
  std::string s;
  for (char c : origin) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    s += keep ? c : '_';
  }
  return s.substr(0, 64);
}

// 2026-11-23T01:02:03Z -> 20261123T010203Z
std::string compactTime(std::string_view t) {
  std::string s;
  for (char c : t) {
    if (c != '-' && c != ':') s += c;
  }
  return s;
}

// Records worth a standalone proof: decisions and anything a regulator acts on.
bool autoCite(const evidence::v1::EvidenceRecord& r) {
  switch (r.type()) {
    case evidence::v1::ALARM:
    case evidence::v1::RECOVERY:
    case evidence::v1::KEY_ROTATION:
    case evidence::v1::THRESHOLD:
    case evidence::v1::GAP:
      return true;
    case evidence::v1::FLOW:
      return r.flow().policy_decision() == "block" || r.flow().policy_decision() == "flag";
    default:
      return false;
  }
}

class MerkleTreeView : public TreeView {
 public:
  explicit MerkleTreeView(const MerkleTree& tree) : tree_(tree) {}
  absl::StatusOr<Hash> root(uint64_t size) const override { return tree_.root(size); }
  absl::StatusOr<std::vector<Hash>> inclusionProof(uint64_t index, uint64_t size) const override {
    return tree_.inclusionProof(index, size);
  }
  absl::StatusOr<std::vector<Hash>> consistencyProof(uint64_t size1, uint64_t size2) const override {
    return tree_.consistencyProof(size1, size2);
  }
  absl::StatusOr<CompactRange> compactRange(uint64_t size) const override {
    if (size > tree_.size()) return absl::OutOfRangeError("compact range beyond the tree");
    return tree_.compactRange(size);
  }

 private:
  const MerkleTree& tree_;
};

// Reads [a, b) in chunks of about `chunk_bytes` (the chunk length in records adapts to
// the record sizes seen so far), optionally checking every frame.
class ChunkReader {
 public:
  // `bytes` may be moved from (pass 1 hands it to the SM3 thread); `frames` points into it.
  using Fn = std::function<absl::Status(uint64_t first, std::string& bytes, const std::vector<Frame>& frames)>;
  ChunkReader(const RecordSource& source, const ExportRequest& req) : source_(source), req_(req) {}

  absl::Status run(std::string_view phase, uint64_t a, uint64_t b, bool parse, const Fn& fn) {
    const size_t target = std::max<size_t>(req_.chunk_bytes, 1);
    std::vector<Frame> frames;
    for (uint64_t i = a; i < b;) {
      const uint64_t j = std::min(b, i + records_);
      auto bytes = source_.frames(i, j);
      if (!bytes.ok()) return bytes.status();
      frames.clear();
      if (parse) {
        auto parsed = parseFrames(*bytes);
        if (!parsed.ok()) {
          return absl::DataLossError(absl::StrCat("records [", i, ", ", j, "): ", parsed.status().message()));
        }
        if (parsed->size() != j - i) {
          return absl::DataLossError(absl::StrCat("records [", i, ", ", j, "): ", parsed->size(), " frames"));
        }
        frames = *std::move(parsed);
      }
      const uint64_t per = std::max<uint64_t>(bytes->size() / (j - i), 1);
      if (auto s = fn(i, *bytes, frames); !s.ok()) return s;
      records_ = std::clamp<uint64_t>(target / per, 1, uint64_t{1} << 20);
      i = j;
      if (req_.progress) {
        if (auto s = req_.progress({phase, i - a, b - a}); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  const RecordSource& source_;
  const ExportRequest& req_;
  uint64_t records_ = 1;  // the first chunk measures the record size
};

}  // namespace

absl::StatusOr<std::string> RecordSource::frames(uint64_t from, uint64_t to) const {
  std::string out;
  for (uint64_t i = from; i < to; ++i) {
    auto bytes = record(i);
    if (!bytes.ok()) return bytes.status();
    if (bytes->empty() || bytes->size() > kMaxFramePayload) {
      return absl::InvalidArgumentError(absl::StrCat("record ", i, " has ", bytes->size(), " bytes: not storable"));
    }
    appendFrame(out, *bytes);
  }
  return out;
}

uint64_t LogRecordSource::size() const { return log_.size(); }
absl::StatusOr<std::string> LogRecordSource::record(uint64_t index) const { return log_.readRecord(index); }
absl::StatusOr<std::string> LogRecordSource::frames(uint64_t from, uint64_t to) const {
  return log_.readFrames(from, to);
}
absl::StatusOr<Hash> LogRecordSource::root(uint64_t size) const { return log_.root(size); }
absl::StatusOr<std::vector<Hash>> LogRecordSource::inclusionProof(uint64_t index, uint64_t size) const {
  return log_.inclusionProof(index, size);
}
absl::StatusOr<std::vector<Hash>> LogRecordSource::consistencyProof(uint64_t size1, uint64_t size2) const {
  return log_.consistencyProof(size1, size2);
}
absl::StatusOr<CompactRange> LogRecordSource::compactRange(uint64_t size) const { return log_.compactRange(size); }

absl::StatusOr<ExportResult> exportBundleBuffered(const RecordSource& source, const ExportRequest& req) {
  if (req.signers.empty()) return absl::InvalidArgumentError("export needs at least one signer");
  if (req.created_at.empty()) return absl::InvalidArgumentError("export needs created_at");
  const Hasher hasher(req.hash);
  const uint64_t log_size = source.size();

  std::map<uint64_t, const PublishedCheckpoint*> cps;
  for (const auto& c : req.checkpoints) cps[c.size] = &c;
  if (cps.empty()) return absl::FailedPreconditionError("no published checkpoint; run `checkpoint` first");

  // Resolve the range.
  uint64_t from = req.from.value_or(0), to = req.to.value_or(cps.rbegin()->first);
  if (req.since_nanos || req.until_nanos) {
    int64_t since = req.since_nanos.value_or(INT64_MIN), until = req.until_nanos.value_or(INT64_MAX);
    std::optional<uint64_t> first, last;
    for (uint64_t i = 0; i < std::min(log_size, cps.rbegin()->first); ++i) {
      auto bytes = source.record(i);
      if (!bytes.ok()) return bytes.status();
      auto r = parseRecord(*bytes);
      if (!r.ok()) return absl::DataLossError(absl::StrCat("record ", i, ": ", r.status().message()));
      if (r->observed_unix_nanos() >= since && r->observed_unix_nanos() < until) {
        if (!first) first = i;
        last = i;
      }
    }
    if (!first) return absl::NotFoundError("no checkpointed record in that time range");
    from = *first;
    to = *last + 1;
  }
  if (from > to) return absl::InvalidArgumentError("range: from > to");
  // Widen `to` to the next checkpoint so every exported record is covered by a signed root.
  auto cover = cps.lower_bound(std::max<uint64_t>(to, 1));
  if (cover == cps.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("records up to ", to, " are not covered by a checkpoint yet; run `checkpoint` first"));
  }
  to = cover->first;
  if (to > log_size) return absl::DataLossError("a checkpoint is larger than the log");

  // One pass over [0, to): leaf hashes for proofs, frames for [from, to).
  MerkleTree tree(hasher);
  std::string frames;
  std::vector<uint64_t> cited;
  std::set<uint64_t> cite_set(req.cite.begin(), req.cite.end());
  for (uint64_t i = 0; i < to; ++i) {
    auto bytes = source.record(i);
    if (!bytes.ok()) return bytes.status();
    tree.appendData(*bytes);
    if (i < from) continue;
    appendFrame(frames, *bytes);
    if (cite_set.count(i)) {
      cited.push_back(i);
      continue;
    }
    if (cited.size() < req.max_auto_cited) {
      auto r = parseRecord(*bytes);
      if (r.ok() && autoCite(*r)) cited.push_back(i);
    }
  }
  for (uint64_t c : cite_set) {
    if (c < from || c >= to) return absl::OutOfRangeError(absl::StrCat("cited record ", c, " is outside the range"));
  }
  std::sort(cited.begin(), cited.end());

  std::map<std::string, std::string> files;
  files[absl::StrCat("records/", from, "-", to, ".frames")] = std::move(frames);

  // Checkpoints in range, each checked against the records we just hashed.
  std::vector<uint64_t> chain;
  std::optional<crypto::Checkpoint> since;
  if (req.since_checkpoint) {
    auto s = crypto::parseCheckpoint(req.since_checkpoint->substr(0, req.since_checkpoint->find("\n\n") + 1));
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("--since-checkpoint: ", s.status().message()));
    if (s->size > to) return absl::InvalidArgumentError("--since-checkpoint is newer than the export");
    auto root = tree.root(s->size);
    if (!root.ok() || raw(*root) != s->root) {
      return absl::FailedPreconditionError("--since-checkpoint is not a checkpoint of this log");
    }
    since = *s;
    chain.push_back(s->size);
  }
  for (auto it = cps.lower_bound(std::max<uint64_t>(from, 1)); it != cps.end() && it->first <= to; ++it) {
    auto body = it->second->note.substr(0, it->second->note.find("\n\n") + 1);
    auto cp = crypto::parseCheckpoint(body);
    if (!cp.ok()) return absl::DataLossError(absl::StrCat("published checkpoint ", it->first, ": ", cp.status().message()));
    auto root = tree.root(it->first);
    if (!root.ok() || raw(*root) != cp->root) {
      return absl::DataLossError(absl::StrCat("published checkpoint ", it->first, " does not match the records"));
    }
    files[absl::StrCat("checkpoints/", it->first, ".note")] = it->second->note;
    if (!it->second->tsr.empty()) files[absl::StrCat("checkpoints/", it->first, ".tsr")] = it->second->tsr;
    if (chain.empty() || it->first > chain.back()) chain.push_back(it->first);
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (chain[i - 1] == 0) continue;
    auto proof = tree.consistencyProof(chain[i - 1], chain[i]);
    if (!proof.ok()) return proof.status();
    files[absl::StrCat("proofs/consistency/", chain[i - 1], "-", chain[i], ".txt")] =
        formatConsistency({chain[i - 1], chain[i], raws(*proof)});
  }
  if (from > 0) {
    CompactRange cr = tree.compactRange(from);
    files[absl::StrCat("proofs/compact/", from, ".txt")] = formatCompact({from, raws(cr.hashes())});
  }
  const std::string& last_note = cps[to]->note;
  for (uint64_t i : cited) {
    auto proof = tree.inclusionProof(i, to);
    if (!proof.ok()) return proof.status();
    files[absl::StrCat("proofs/records/", i, ".tlog-proof")] = formatTlogProof({i, "", raws(*proof), last_note});
  }

  std::string vkeys;
  for (const auto& s : req.signers) absl::StrAppend(&vkeys, s.verifier().vkey(), "\n");
  files["keys/log.vkeys"] = vkeys;
  if (req.envelopes) {
    auto envs = req.envelopes(from, to);
    if (!envs.ok()) return envs.status();
    for (auto& [path, data] : *envs) files[path] = std::move(data);
  }
  if (!req.appliance_chain_pem.empty()) files["keys/appliance-chain.pem"] = req.appliance_chain_pem;
  if (!req.tsa_chain_pem.empty()) files["keys/tsa-chain.pem"] = req.tsa_chain_pem;

  // Chain of custody: who exported what and when; the caller logs it at index log_size.
  auto custody = crypto::signNote(
      absl::StrCat("xborder-export/1\norigin ", req.origin, "\nrange ", from, " ", to, "\ncreated ", req.created_at,
                   "\noperator ", req.operator_role, "\npurpose ", req.purpose, "\nexport-record ", log_size, "\n"),
      req.signers);
  if (!custody.ok()) return custody.status();
  files["custody/export.note"] = *custody;
  files["VERIFY.txt"] = absl::StrCat(
      "Evidence bundle ", req.origin, " records [", from, ", ", to, ")\n\n",
      "Verify offline with the trust file recorded at enrolment (never with keys/ from this bundle):\n",
      "  xborder-verify <this bundle>.tar --trust TRUST.json [--since LAST-SEEN.note] --report DIR\n\n",
      "Exit codes: 0 verified, 1 tampered or invalid, 2 incomplete (unverifiable), 3 usage or I/O error.\n",
      "Log verifier keys used to sign (compare with your trust file):\n", vkeys);

  v1::Manifest m;
  m.set_format(std::string(kBundleFormat));
  m.set_origin(req.origin);
  m.mutable_profile()->set_hash(std::string(hashAlgName(req.hash)));
  for (const auto& s : req.signers) m.mutable_profile()->add_sigs(std::string(crypto::keyTypeName(s.verifier().keyType())));
  m.set_range_from(from);
  m.set_range_to(to);
  m.set_prev_bundle_sha256(req.prev_bundle_sha256);
  m.set_created_at(req.created_at);
  m.set_generator("xborder-evidence 0.1.0");
  for (uint64_t c : cited) m.add_cited(c);
  setManifestFiles(m, files);
  std::string json = manifestToJson(m);
  auto sig = crypto::signNote(manifestNoteBody(json), req.signers);
  if (!sig.ok()) return sig.status();
  files["MANIFEST.json"] = json;
  files["MANIFEST.sig"] = *sig;

  ExportResult out;
  out.from = from;
  out.to = to;
  out.cited = cited;
  out.name = absl::StrCat("EVB-", slug(req.origin), "-", from, "-", to, "-", compactTime(req.created_at));
  out.manifest_sha256 = sha256Bytes(json);
  out.manifest_sm3 = sm3Bytes(json);
  std::vector<TarEntry> entries;
  entries.push_back({out.name, "", '5', ""});
  for (auto& [path, data] : files) entries.push_back({absl::StrCat(out.name, "/", path), std::move(data), '0', ""});
  auto tar = writeTar(std::move(entries));
  if (!tar.ok()) return tar.status();
  out.bundle = *std::move(tar);
  out.bundle_bytes = out.bundle.size();
  out.bundle_sha256 = sha256Bytes(out.bundle);
  return out;
}


absl::StatusOr<ExportResult> exportBundleTo(const RecordSource& source, const ExportRequest& req, ByteSink& sink) {
  if (req.signers.empty()) return absl::InvalidArgumentError("export needs at least one signer");
  if (req.created_at.empty()) return absl::InvalidArgumentError("export needs created_at");
  const Hasher hasher(req.hash);
  const uint64_t log_size = source.size();
  ChunkReader reader(source, req);

  std::map<uint64_t, const PublishedCheckpoint*> cps;
  for (const auto& c : req.checkpoints) cps[c.size] = &c;
  if (cps.empty()) return absl::FailedPreconditionError("no published checkpoint; run `checkpoint` first");

  // Resolve the range.
  uint64_t from = req.from.value_or(0), to = req.to.value_or(cps.rbegin()->first);
  if (req.since_nanos || req.until_nanos) {
    const int64_t since = req.since_nanos.value_or(INT64_MIN), until = req.until_nanos.value_or(INT64_MAX);
    std::optional<uint64_t> first, last;
    auto s = reader.run("scan", 0, std::min(log_size, cps.rbegin()->first), true,
                        [&](uint64_t base, std::string&, const std::vector<Frame>& frames) {
                          for (size_t k = 0; k < frames.size(); ++k) {
                            auto r = parseRecord(frames[k].payload);
                            if (!r.ok()) {
                              return absl::DataLossError(absl::StrCat("record ", base + k, ": ", r.status().message()));
                            }
                            if (r->observed_unix_nanos() >= since && r->observed_unix_nanos() < until) {
                              if (!first) first = base + k;
                              last = base + k;
                            }
                          }
                          return absl::OkStatus();
                        });
    if (!s.ok()) return s;
    if (!first) return absl::NotFoundError("no checkpointed record in that time range");
    from = *first;
    to = *last + 1;
  }
  if (from > to) return absl::InvalidArgumentError("range: from > to");
  // Widen `to` to the next checkpoint so every exported record is covered by a signed root.
  auto cover = cps.lower_bound(std::max<uint64_t>(to, 1));
  if (cover == cps.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("records up to ", to, " are not covered by a checkpoint yet; run `checkpoint` first"));
  }
  to = cover->first;
  if (to > log_size) return absl::DataLossError("a checkpoint is larger than the log");

  // The tree: the source's own, or one hashed here over [0, from) and pass 1.
  std::optional<MerkleTree> own;
  std::optional<MerkleTreeView> own_view;
  const TreeView* tree = source.tree();
  if (tree == nullptr) {
    own.emplace(hasher);
    own_view.emplace(*own);
    auto s = reader.run("hash", 0, from, true, [&](uint64_t, std::string&, const std::vector<Frame>& frames) {
      for (const Frame& f : frames) own->appendData(f.payload);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    tree = &*own_view;
  }

  // Pass 1 over [from, to): both digests of the frames file, the records to cite.
  StreamDigest frames_sha(StreamDigest::Alg::kSha256), frames_sm3(StreamDigest::Alg::kSm3);
  // SM3 (~0.4 GB/s, the slowest step) runs on a second core one chunk behind; declared
  // after frames_sm3 so that an early return waits for it before frames_sm3 goes away.
  // async|deferred: libstdc++ runs it inline if no thread can be started.
  std::future<void> sm3_job;
  uint64_t frames_size = 0;
  std::vector<uint64_t> cited;
  std::set<uint64_t> cite_set(req.cite.begin(), req.cite.end());
  auto pass1 = reader.run("hash", from, to, true,
                          [&](uint64_t base, std::string& bytes, const std::vector<Frame>& frames) {
                            frames_sha.update(bytes);
                            frames_size += bytes.size();
                            for (size_t k = 0; k < frames.size(); ++k) {
                              const uint64_t i = base + k;
                              if (own) own->appendData(frames[k].payload);
                              if (cite_set.count(i)) {
                                cited.push_back(i);
                                continue;
                              }
                              if (cited.size() < req.max_auto_cited) {
                                auto r = parseRecord(frames[k].payload);
                                if (r.ok() && autoCite(*r)) cited.push_back(i);
                              }
                            }
                            if (sm3_job.valid()) sm3_job.get();
                            auto held = std::make_shared<const std::string>(std::move(bytes));
                            sm3_job = std::async(std::launch::async | std::launch::deferred,
                                                 [&frames_sm3, held] { frames_sm3.update(*held); });
                            return absl::OkStatus();
                          });
  if (sm3_job.valid()) sm3_job.get();
  if (!pass1.ok()) return pass1;
  for (uint64_t c : cite_set) {
    if (c < from || c >= to) return absl::OutOfRangeError(absl::StrCat("cited record ", c, " is outside the range"));
  }
  std::sort(cited.begin(), cited.end());
  const std::string frames_path = absl::StrCat("records/", from, "-", to, ".frames");
  const std::string frames_sha256 = frames_sha.finish();

  // Every other file is small: built in memory, in path order.
  std::map<std::string, std::string> files;
  std::vector<uint64_t> chain;
  if (req.since_checkpoint) {
    auto s = crypto::parseCheckpoint(req.since_checkpoint->substr(0, req.since_checkpoint->find("\n\n") + 1));
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("--since-checkpoint: ", s.status().message()));
    if (s->size > to) return absl::InvalidArgumentError("--since-checkpoint is newer than the export");
    auto root = tree->root(s->size);
    if (!root.ok() || raw(*root) != s->root) {
      return absl::FailedPreconditionError("--since-checkpoint is not a checkpoint of this log");
    }
    chain.push_back(s->size);
  }
  for (auto it = cps.lower_bound(std::max<uint64_t>(from, 1)); it != cps.end() && it->first <= to; ++it) {
    auto body = it->second->note.substr(0, it->second->note.find("\n\n") + 1);
    auto cp = crypto::parseCheckpoint(body);
    if (!cp.ok()) return absl::DataLossError(absl::StrCat("published checkpoint ", it->first, ": ", cp.status().message()));
    auto root = tree->root(it->first);
    if (!root.ok() || raw(*root) != cp->root) {
      return absl::DataLossError(absl::StrCat("published checkpoint ", it->first, " does not match the records"));
    }
    files[absl::StrCat("checkpoints/", it->first, ".note")] = it->second->note;
    if (!it->second->tsr.empty()) files[absl::StrCat("checkpoints/", it->first, ".tsr")] = it->second->tsr;
    if (chain.empty() || it->first > chain.back()) chain.push_back(it->first);
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (chain[i - 1] == 0) continue;
    auto proof = tree->consistencyProof(chain[i - 1], chain[i]);
    if (!proof.ok()) return proof.status();
    files[absl::StrCat("proofs/consistency/", chain[i - 1], "-", chain[i], ".txt")] =
        formatConsistency({chain[i - 1], chain[i], raws(*proof)});
  }
  if (from > 0) {
    auto cr = tree->compactRange(from);
    if (!cr.ok()) return cr.status();
    files[absl::StrCat("proofs/compact/", from, ".txt")] = formatCompact({from, raws(cr->hashes())});
  }
  const std::string& last_note = cps[to]->note;
  for (uint64_t i : cited) {
    auto proof = tree->inclusionProof(i, to);
    if (!proof.ok()) return proof.status();
    files[absl::StrCat("proofs/records/", i, ".tlog-proof")] = formatTlogProof({i, "", raws(*proof), last_note});
  }

  std::string vkeys;
  for (const auto& s : req.signers) absl::StrAppend(&vkeys, s.verifier().vkey(), "\n");
  files["keys/log.vkeys"] = vkeys;
  if (req.envelopes) {
    auto envs = req.envelopes(from, to);
    if (!envs.ok()) return envs.status();
    for (auto& [path, data] : *envs) files[path] = std::move(data);
  }
  if (!req.appliance_chain_pem.empty()) files["keys/appliance-chain.pem"] = req.appliance_chain_pem;
  if (!req.tsa_chain_pem.empty()) files["keys/tsa-chain.pem"] = req.tsa_chain_pem;

  auto custody = crypto::signNote(
      absl::StrCat("xborder-export/1\norigin ", req.origin, "\nrange ", from, " ", to, "\ncreated ", req.created_at,
                   "\noperator ", req.operator_role, "\npurpose ", req.purpose, "\nexport-record ", log_size, "\n"),
      req.signers);
  if (!custody.ok()) return custody.status();
  files["custody/export.note"] = *custody;
  files["VERIFY.txt"] = absl::StrCat(
      "Evidence bundle ", req.origin, " records [", from, ", ", to, ")\n\n",
      "Verify offline with the trust file recorded at enrolment (never with keys/ from this bundle):\n",
      "  xborder-verify <this bundle>.tar --trust TRUST.json [--since LAST-SEEN.note] --report DIR\n\n",
      "Exit codes: 0 verified, 1 tampered or invalid, 2 incomplete (unverifiable), 3 usage or I/O error.\n",
      "Log verifier keys used to sign (compare with your trust file):\n", vkeys);
  if (files.count(frames_path)) return absl::InvalidArgumentError(absl::StrCat("an envelope is named ", frames_path));

  v1::Manifest m;
  m.set_format(std::string(kBundleFormat));
  m.set_origin(req.origin);
  m.mutable_profile()->set_hash(std::string(hashAlgName(req.hash)));
  for (const auto& s : req.signers) m.mutable_profile()->add_sigs(std::string(crypto::keyTypeName(s.verifier().keyType())));
  m.set_range_from(from);
  m.set_range_to(to);
  m.set_prev_bundle_sha256(req.prev_bundle_sha256);
  m.set_created_at(req.created_at);
  m.set_generator("xborder-evidence 0.1.0");
  for (uint64_t c : cited) m.add_cited(c);
  setManifestFiles(m, files);
  v1::ManifestFile* ff = m.add_files();
  ff->set_path(frames_path);
  ff->set_size(frames_size);
  ff->set_sha256(toHex(frames_sha256));
  ff->set_sm3(toHex(frames_sm3.finish()));
  std::sort(m.mutable_files()->begin(), m.mutable_files()->end(),
            [](const v1::ManifestFile& a, const v1::ManifestFile& b) { return a.path() < b.path(); });
  std::string json = manifestToJson(m);
  auto sig = crypto::signNote(manifestNoteBody(json), req.signers);
  if (!sig.ok()) return sig.status();
  files["MANIFEST.json"] = json;
  files["MANIFEST.sig"] = *sig;

  ExportResult out;
  out.from = from;
  out.to = to;
  out.cited = cited;
  out.name = absl::StrCat("EVB-", slug(req.origin), "-", from, "-", to, "-", compactTime(req.created_at));
  out.manifest_sha256 = sha256Bytes(json);
  out.manifest_sm3 = sm3Bytes(json);

  // The tar, in path order; pass 2 streams the frames where they sort.
  TarWriter tar(sink);
  if (auto s = tar.addDirectory(out.name); !s.ok()) return s;
  auto writeFrames = [&]() -> absl::Status {
    if (auto s = tar.beginFile(absl::StrCat(out.name, "/", frames_path), frames_size); !s.ok()) return s;
    StreamDigest again(StreamDigest::Alg::kSha256);
    auto s = reader.run("write", from, to, false, [&](uint64_t, std::string& bytes, const std::vector<Frame>&) {
      again.update(bytes);
      return tar.append(bytes);
    });
    if (!s.ok()) return s;
    if (auto e = tar.endFile(); !e.ok()) {
      return absl::DataLossError(absl::StrCat("records [", from, ", ", to, ") changed during the export: ", e.message()));
    }
    if (again.finish() != frames_sha256) {
      return absl::DataLossError(absl::StrCat("records [", from, ", ", to, ") changed during the export"));
    }
    return absl::OkStatus();
  };
  bool frames_done = false;
  for (const auto& [path, data] : files) {
    if (!frames_done && frames_path < path) {
      if (auto s = writeFrames(); !s.ok()) return s;
      frames_done = true;
    }
    if (auto s = tar.addFile(absl::StrCat(out.name, "/", path), data); !s.ok()) return s;
  }
  if (!frames_done) {
    if (auto s = writeFrames(); !s.ok()) return s;
  }
  if (auto s = tar.finish(); !s.ok()) return s;
  out.bundle_bytes = tar.bytesWritten();
  out.bundle_sha256 = tar.sha256();
  return out;
}

absl::StatusOr<ExportResult> exportBundle(const RecordSource& source, const ExportRequest& req) {
  StringSink sink;
  auto out = exportBundleTo(source, req, sink);
  if (!out.ok()) return out.status();
  out->bundle = std::move(sink.str());
  return out;
}

}  // namespace xborder::evidence::bundle
