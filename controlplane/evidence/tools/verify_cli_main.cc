// xborder-verify BUNDLE --trust TRUST.json [--since CHECKPOINT] [--json] [--report DIR]
// Offline verification of an evidence bundle. Exit: 0 verified, 1 tampered or invalid,
// 2 incomplete (unverifiable), 3 usage or I/O error.
#include <ctime>
#include <iostream>

#include "absl/strings/str_cat.h"

#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/tools/tools_args.h"
#include "controlplane/evidence/tools/tools_log_dir.h"
#include "controlplane/evidence/verify/verify_input.h"
#include "controlplane/evidence/verify/verify_report.h"
#include "controlplane/evidence/verify/verify_verifier.h"

namespace xborder::evidence::tools {
namespace {

constexpr char kHelp[] =
    "usage: xborder-verify BUNDLE.tar --trust TRUST.json [--since CHECKPOINT.note]\n"
    "                      [--regulator-key PRIV.pem] [--json] [--report DIR]\n"
    "\n"
    "Verifies an evidence bundle offline, in the order of EVIDENCE.md §5.2: archive\n"
    "hygiene, manifest signature and hashes, checkpoints (signatures, RFC 3161 tokens,\n"
    "equivocation), append-only (consistency with --since, the regulator's last-seen\n"
    "checkpoint), records (frames, CRC32C, index, origin, every checkpoint root),\n"
    "semantics, cited-record tlog-proofs, sealed envelopes (each envelopes/<index>-<field>.env\n"
    "must match its record's sealed_digests). Trust anchors come only from TRUST.json\n"
    "(xborder-evidence trust), never from the bundle. No network is used.\n"
    "\n"
    "  --regulator-key PRIV.pem  the regulator's X25519 or SM2 private key: open every\n"
    "                envelope (AAD binds origin, record index and field) and check the\n"
    "                record's sample_commitment\n"
    "  --json        print the result as JSON on stdout\n"
    "  --report DIR  write DIR/report.zh.html and DIR/report.en.html\n"
    "\n"
    "exit status: 0 verified, 1 tampered or invalid (the output names the file, record\n"
    "index or checkpoint), 2 incomplete / unverifiable, 3 usage or I/O error.\n";

int usage(const std::string& msg) {
  std::cerr << "xborder-verify: " << msg << "\n";
  return verify::kExitUsage;
}

int run(int argc, char** argv) {
  auto args = parseArgs(argc, argv, 1, {"--trust", "--since", "--report", "--regulator-key"}, {"--json", "--help"});
  if (!args.ok()) return usage(std::string(args.status().message()) + " (try --help)");
  if (args->has("--help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positional.size() != 1) return usage("exactly one BUNDLE is required (try --help)");
  auto trust_path = args->get("--trust");
  if (!trust_path) return usage("--trust TRUST.json is required");
  auto bundle = verify::readBundleFile(args->positional[0]);
  if (!bundle.ok()) return usage(std::string(bundle.status().message()));
  auto trust_text = readFile(*trust_path);
  if (!trust_text.ok()) return usage(std::string(trust_text.status().message()));
  auto trust = bundle::trustFromJson(*trust_text);
  if (!trust.ok()) return usage(std::string(trust.status().message()));
  verify::VerifyOptions opt;
  opt.trust = *trust;
  opt.now_unix = std::time(nullptr);
  if (auto since = args->get("--since")) {
    auto note = readFile(*since);
    if (!note.ok()) return usage(std::string(note.status().message()));
    opt.since_checkpoint = *note;
  }
  if (auto key = args->get("--regulator-key")) {
    auto k = crypto::PrivateKey::load(*key);
    if (!k.ok()) return usage(absl::StrCat("--regulator-key: ", k.status().message()));
    if (k->type() != crypto::KeyType::kX25519 && k->type() != crypto::KeyType::kSm2) {
      return usage("--regulator-key must be an X25519 or SM2 private key");
    }
    opt.regulator_key = *std::move(k);
  }
  auto result = verify::verifyBundle(bundle->view(), opt);
  if (!result.ok()) return usage(std::string(result.status().message()));
  if (auto s = bundle->unchanged(); !s.ok()) return usage(std::string(s.message()));
  if (auto dir = args->get("--report")) {
    if (auto s = verify::writeReports(*result, *dir); !s.ok()) return usage(std::string(s.message()));
  }
  if (args->has("--json")) {
    std::cout << verify::resultJson(*result);
  } else {
    std::cout << verify::summaryText(*result);
  }
  return result->exit_code();
}

}  // namespace
}  // namespace xborder::evidence::tools

int main(int argc, char** argv) { return xborder::evidence::tools::run(argc, argv); }
