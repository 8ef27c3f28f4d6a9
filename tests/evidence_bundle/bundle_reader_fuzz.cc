// libFuzzer target for everything that reads a bundle: the tar reader and hygiene
// check, MANIFEST.json, tlog-proof / consistency / compact-range files, and the whole
// verifier with a fixed trust file (its key signs the seed bundle, so mutations reach
// the checkpoint, record and proof checks, not just the manifest signature).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/bundle/bundle_proof_files.h"
#include "controlplane/evidence/bundle/bundle_tar.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/verify/verify_verifier.h"

namespace {

constexpr char kOrigin[] = "evidence.example/appliance-01";
constexpr char kSeed[] = "xborder-evidence-fuzz-seed-key!!";

const xborder::evidence::verify::VerifyOptions& options() {
  static const auto* opt = [] {
    namespace crypto = xborder::evidence::crypto;
    auto* o = new xborder::evidence::verify::VerifyOptions;
    auto key = crypto::PrivateKey::fromRaw(crypto::KeyType::kEd25519, std::string_view(kSeed, 32));
    auto signer = crypto::NoteSigner::create(kOrigin, *key);
    o->trust.set_origin(kOrigin);
    o->trust.set_hash("sha256");
    o->trust.add_log_vkeys(signer->verifier().vkey());
    return o;
  }();
  return *opt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace b = xborder::evidence::bundle;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto entries = b::readTar(in); entries.ok()) {
    (void)b::checkHygiene(*entries);
  }
  (void)b::manifestFromJson(in);
  (void)b::parseTlogProof(in);
  (void)b::parseConsistency(in);
  (void)b::parseCompact(in);
  auto r = xborder::evidence::verify::verifyBundle(in, options());
  if (r.ok()) (void)xborder::evidence::verify::summaryText(*r);
  return 0;
}
