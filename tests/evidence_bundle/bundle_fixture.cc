#include "tests/evidence_bundle/bundle_fixture.h"

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/merkle/merkle_tree.h"

namespace xborder::evidence::testing {

std::string makeRecord(uint64_t index, const std::string& origin, uint32_t version) {
  evidence::v1::EvidenceRecord r;
  r.set_format_version(version);
  r.set_index(index);
  r.set_origin(origin);
  r.set_observed_unix_nanos(1767225600000000000LL + static_cast<int64_t>(index) * 1000000000LL);
  r.set_tenant(index % 2 ? "acme-trading" : "globex-logistics");
  if (index % 11 == 10) {
    r.set_type(evidence::v1::ALARM);
    r.mutable_alert()->set_kind("detector");
    r.mutable_alert()->set_severity("warning");
    r.mutable_alert()->set_detail(absl::StrCat("burst ", index));
  } else {
    r.set_type(evidence::v1::FLOW);
    auto* f = r.mutable_flow();
    f->set_flow_id(absl::StrCat("flow-", index));
    f->set_dst_country(index % 3 ? "SG" : "DE");
    f->set_data_category(index % 2 ? "PI-HEALTH" : "IND-MAP");
    f->set_policy_decision(index % 7 == 3 ? "block" : "allow-filing");
    f->set_rule_id(absl::StrCat("R-", 1000 + index));
  }
  return r.SerializeAsString();
}

Fixture::Fixture(uint64_t n, std::vector<uint64_t> sizes, HashAlg a, std::string seed) : alg(a) {
  for (uint64_t i = 0; i < n; ++i) source.records.push_back(makeRecord(i));
  init(sizes, std::move(seed));
}

Fixture::Fixture(std::vector<std::string> records, std::vector<uint64_t> sizes) : alg(HashAlg::kSha256) {
  source.records = std::move(records);
  init(sizes, "");
}

void Fixture::init(const std::vector<uint64_t>& sizes, std::string seed) {
  auto key = seed.empty() ? crypto::PrivateKey::generate(crypto::KeyType::kEd25519)
                          : crypto::PrivateKey::fromRaw(crypto::KeyType::kEd25519, seed);
  signers.push_back(*crypto::NoteSigner::create(kOrigin, *key));
  Hasher h(alg);
  MerkleTree tree(h);
  for (const auto& r : source.records) tree.appendData(r);
  for (uint64_t s : sizes) {
    auto root = *tree.root(s);
    roots_[s] = std::string(reinterpret_cast<const char*>(root.data()), root.size());
    notes_[s] = signCheckpoint(s, roots_[s]);
  }
}

std::string Fixture::signCheckpoint(uint64_t size, std::string root) const {
  auto body = crypto::formatCheckpoint({kOrigin, size, std::move(root)});
  return *crypto::signNote(*body, signers);
}

absl::StatusOr<bundle::ExportResult> Fixture::exportRange(std::optional<uint64_t> from, std::optional<uint64_t> to,
                                                          std::map<uint64_t, std::string> tsr) {
  bundle::ExportRequest req;
  req.origin = kOrigin;
  req.hash = alg;
  for (const auto& [s, note] : notes_) req.checkpoints.push_back({s, note, tsr.count(s) ? tsr[s] : ""});
  req.signers = signers;
  req.from = from;
  req.to = to;
  req.created_at = "2026-11-23T01:00:00Z";
  return bundle::exportBundle(source, req);
}

Bundle Fixture::unpack(const std::string& tar) {
  Bundle b;
  auto entries = bundle::readTar(tar);
  if (!entries.ok()) return b;
  for (auto& e : *entries) {
    size_t slash = e.path.find('/');
    if (slash == std::string::npos) {
      b.top = e.path;
      continue;
    }
    b.files[e.path.substr(slash + 1)] = e.data;
  }
  return b;
}

std::string Fixture::pack(const Bundle& b, bool reseal) const {
  std::map<std::string, std::string> files = b.files;
  if (reseal) {
    auto m = *bundle::manifestFromJson(files["MANIFEST.json"]);
    files.erase("MANIFEST.json");
    files.erase("MANIFEST.sig");
    bundle::setManifestFiles(m, files);
    files["MANIFEST.json"] = bundle::manifestToJson(m);
    files["MANIFEST.sig"] = *crypto::signNote(bundle::manifestNoteBody(files["MANIFEST.json"]), signers);
  }
  std::vector<bundle::TarEntry> entries{{b.top, "", '5', ""}};
  for (const auto& [p, d] : files) entries.push_back({b.top + "/" + p, d, '0', ""});
  return *bundle::writeTar(std::move(entries));
}

bundle::v1::TrustFile Fixture::trust() const {
  bundle::v1::TrustFile t;
  t.set_format("xborder-trust/1");
  t.set_origin(kOrigin);
  t.set_hash(std::string(hashAlgName(alg)));
  for (const auto& s : signers) t.add_log_vkeys(s.verifier().vkey());
  t.mutable_policy()->set_clock_tolerance_seconds(5);
  return t;
}

verify::v1::Result Fixture::verify(const std::string& tar, std::optional<std::string> since,
                                   std::optional<bundle::v1::TrustFile> trust_file) const {
  verify::VerifyOptions o;
  o.trust = trust_file ? *trust_file : trust();
  o.since_checkpoint = since;
  auto r = verify::verifyBundle(tar, o);
  if (!r.ok()) {
    verify::v1::Result e;
    e.set_verdict(std::string("ERROR ") + std::string(r.status().message()));
    e.set_exit_code(3);
    return e;
  }
  return *r;
}

std::string reframe(const std::vector<std::string>& payloads) {
  std::string out;
  for (const auto& p : payloads) appendFrame(out, p);
  return out;
}

std::vector<std::string> payloadsOf(const std::string& frames) {
  std::vector<std::string> out;
  auto views = parseFrames(frames);
  if (!views.ok()) return out;
  for (const auto& v : *views) out.emplace_back(v.payload);
  return out;
}

bool hasFinding(const verify::v1::Result& r, verify::v1::Status status, const std::string& where) {
  for (const auto& c : r.checks()) {
    if (c.status() == status &&
        (c.location().find(where) != std::string::npos || c.detail().find(where) != std::string::npos)) {
      return true;
    }
  }
  return false;
}

}  // namespace xborder::evidence::testing
