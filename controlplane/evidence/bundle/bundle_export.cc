#include "controlplane/evidence/bundle/bundle_export.h"

#include <algorithm>
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

}  // namespace

absl::StatusOr<ExportResult> exportBundle(const RecordSource& source, const ExportRequest& req) {
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
  return out;
}

}  // namespace xborder::evidence::bundle
