// xborder-evidence: the operator's tool for an evidence log directory.
//   init | append | checkpoint | export | trust   (each has --help)
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"
#include "controlplane/evidence/bundle/bundle_export.h"
#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/bundle/bundle_proof_files.h"
#include "controlplane/evidence/crypto/certificate.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/crypto/timestamp.h"
#include "controlplane/evidence/envelope/envelope_store.h"
#include "controlplane/evidence/tools/tools_args.h"
#include "controlplane/evidence/tools/tools_log_dir.h"

namespace xborder::evidence::tools {
namespace {

constexpr char kUsage[] =
    "usage: xborder-evidence <command> [options]\n"
    "\n"
    "Operator's tool for an evidence log directory (see docs/evidence.md).\n"
    "\n"
    "commands:\n"
    "  init        create a log and its signing keys\n"
    "  append      append records (JSON lines, protobuf JSON mapping) from stdin\n"
    "  checkpoint  sign a checkpoint over every synced record (+ RFC 3161 token)\n"
    "  export      write a deterministic evidence bundle for a regulator\n"
    "  trust       print the trust file a regulator records at enrolment\n"
    "\n"
    "Run 'xborder-evidence <command> --help' for a command's options.\n";

constexpr char kInitHelp[] =
    "usage: xborder-evidence init --log DIR [--origin ORIGIN] [--hash sha256|sm3]\n"
    "                             [--sign ed25519|ed25519+sm2] [--org NAME] [--serial SERIAL]\n"
    "                             [--regulator-key PUB.pem] [--segment-bytes N]\n"
    "Creates the log directory, its Ed25519 (and SM2) note keys (0600), a self-signed\n"
    "certificate and a CSR for the zone's CA under DIR/keys/. ORIGIN defaults to\n"
    "xborder.local/<hostname>; the hash is fixed for the life of the log.\n"
    "--regulator-key is the regulator's public key that payload snippets are sealed to:\n"
    "X25519 (HPKE envelopes), or SM2 (GM envelopes; needs --hash sm3 or --sign ed25519+sm2).\n"
    "It is copied to DIR/keys/regulator.pub.pem.\n"
    "--segment-bytes sets the size of each preallocated segment file (default 64 MiB,\n"
    "a multiple of 8, at least 4096; fixed for the life of the log). Small segments are\n"
    "for tests that fill a small disk.\n";
constexpr char kAppendHelp[] =
    "usage: xborder-evidence append --log DIR < records.jsonl\n"
    "Reads one EvidenceRecord per line (protobuf JSON mapping, e.g.\n"
    "{\"type\":\"FLOW\",\"tenant\":\"acme\",\"flow\":{\"dstCountry\":\"SG\",\"policyDecision\":\"block\"}}),\n"
    "fills format_version, index, origin and observed time, appends it, and prints the\n"
    "acknowledged index (after fdatasync) one per line.\n"
    "A FLOW line may carry a top-level side field that is removed before parsing:\n"
    "  \"sealed_snippets\":[{\"field\":\"payload\",\"data_b64\":\"<base64>\"}]\n"
    "Each snippet is sealed to the regulator key given at init, written to\n"
    "DIR/envelopes/<index>-<field>.env (durably, before the record), and committed to\n"
    "in flow.sealed_digests and flow.sample_commitment.\n";
constexpr char kCheckpointHelp[] =
    "usage: xborder-evidence checkpoint --log DIR [--tsa-url none] [--tsa-reply-cmd CMD]\n"
    "                                   [--tsa-roots PEM]\n"
    "Signs a checkpoint over every synced record and stores it under compare-and-swap.\n"
    "With --tsa-reply-cmd, CMD is run by /bin/sh with XB_TSQ (the DER request file) and\n"
    "XB_TSR (where to write the DER response) in the environment, e.g. a local\n"
    "'openssl ts -reply -queryfile \"$XB_TSQ\" ... -out \"$XB_TSR\"'. The token is kept in\n"
    "DIR/anchors/<size>.tsr and logged as an ANCHOR record. --tsa-roots checks it first.\n"
    "No network is used: --tsa-url accepts only 'none'.\n";
constexpr char kExportHelp[] =
    "usage: xborder-evidence export --log DIR --out BUNDLE.tar\n"
    "         [--from N --to M | --since TIME --until TIME] [--since-checkpoint FILE]\n"
    "         [--cite I,J,...] [--created-at TIME] [--operator ROLE] [--purpose TEXT] [--quiet]\n"
    "Writes a deterministic bundle (EVIDENCE.md §5.1) of records [N, M) or of records\n"
    "observed in [since, until) (RFC 3339 UTC or unix seconds). The range end is widened\n"
    "to the next checkpoint so every record is under a signed root. --since-checkpoint\n"
    "is the regulator's last-seen checkpoint note (consistency proofs start there).\n"
    "The export is then logged as an EXPORT record (chain of custody).\n"
    "The bundle is streamed to BUNDLE.tar.tmp and renamed to BUNDLE.tar once synced; an\n"
    "error or SIGINT/SIGTERM leaves nothing under BUNDLE.tar. Memory stays bounded (a few\n"
    "4 MiB chunks of records in flight) whatever the range. Long exports print progress on\n"
    "stderr every 2 s (records done/total, rate) unless --quiet.\n";
constexpr char kTrustHelp[] =
    "usage: xborder-evidence trust --log DIR [--tsa-roots PEM[,PEM...]] [--out FILE]\n"
    "Prints the trust file (JSON) the regulator records at enrolment: origin, hash,\n"
    "log verifier keys, the appliance certificate as CA root, TSA roots and policy.\n";

int fail(const std::string& msg, int code = 1) {
  std::cerr << "xborder-evidence: " << msg << "\n";
  return code;
}
int failStatus(const absl::Status& s) { return fail(std::string(s.message())); }

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// RFC 3339 UTC ("2026-11-23T01:00:00Z") or unix seconds, to unix nanoseconds.
std::optional<int64_t> parseTime(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    auto v = bundle::parseDecimal(s);
    if (!v.ok()) return std::nullopt;
    return static_cast<int64_t>(*v) * 1000000000LL;
  }
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000LL;
}

std::string hostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "appliance";
  return buf;
}

int cmdInit(const Args& a) {
  auto dir = a.get("--log");
  if (!dir) return fail("init: --log DIR is required", 2);
  std::string origin = a.get("--origin").value_or("xborder.local/" + hostName());
  auto alg = parseHashAlg(a.get("--hash").value_or("sha256"));
  if (!alg) return fail("init: --hash must be sha256 or sm3", 2);
  std::string sign = a.get("--sign").value_or("ed25519");
  if (sign != "ed25519" && sign != "ed25519+sm2") return fail("init: --sign must be ed25519 or ed25519+sm2", 2);
  LogOptions o;
  o.dir = *dir;
  o.origin = origin;
  o.hash = *alg;
  if (auto v = a.get("--segment-bytes")) {
    auto n = bundle::parseDecimal(*v);
    if (!n.ok()) return fail("init: --segment-bytes takes a number of bytes", 2);
    o.segment_bytes = *n;  // Log::create checks the range
  }
  auto log = Log::create(o);
  if (!log.ok()) return failStatus(log.status());
  std::filesystem::create_directories(*dir + "/keys");
  std::filesystem::create_directories(*dir + "/anchors");
  ::chmod((*dir + "/keys").c_str(), 0700);
  crypto::CertSubject subject;
  subject.common_name = origin;
  subject.organization = a.get("--org").value_or("xborder operator");
  subject.serial_number = a.get("--serial").value_or(hostName());
  std::vector<std::pair<crypto::KeyType, std::string>> wanted = {{crypto::KeyType::kEd25519, "log-ed25519"}};
  if (sign == "ed25519+sm2") wanted.push_back({crypto::KeyType::kSm2, "log-sm2"});
  for (const auto& [type, name] : wanted) {
    auto key = crypto::PrivateKey::generate(type);
    if (!key.ok()) return failStatus(key.status());
    if (auto s = key->save(absl::StrCat(*dir, "/keys/", name, ".pem")); !s.ok()) return failStatus(s);
    if (type == crypto::KeyType::kEd25519) {
      auto cert = crypto::makeSelfSignedCert(*key, subject);
      auto csr = crypto::makeCsr(*key, subject);
      if (!cert.ok()) return failStatus(cert.status());
      if (!csr.ok()) return failStatus(csr.status());
      if (auto s = writeFileAtomic(*dir + "/keys/appliance.crt.pem", *cert); !s.ok()) return failStatus(s);
      if (auto s = writeFileAtomic(*dir + "/keys/appliance.csr.pem", *csr); !s.ok()) return failStatus(s);
    }
  }
  if (auto r = a.get("--regulator-key")) {
    auto pem = readFile(*r);
    if (!pem.ok()) return failStatus(pem.status());
    auto pub = crypto::PublicKey::fromPem(*pem);
    if (!pub.ok()) return fail(absl::StrCat("init: --regulator-key: ", pub.status().message()));
    bool gm = *alg == HashAlg::kSm3 || sign == "ed25519+sm2";
    if (pub->type() == crypto::KeyType::kSm2 && !gm) {
      return fail("init: an SM2 regulator key needs the GM profile (--hash sm3 or --sign ed25519+sm2)", 2);
    }
    if (pub->type() != crypto::KeyType::kX25519 && pub->type() != crypto::KeyType::kSm2) {
      return fail("init: --regulator-key must be an X25519 or SM2 public key", 2);
    }
    if (auto s = writeFileAtomic(*dir + "/keys/regulator.pub.pem", *pem); !s.ok()) return failStatus(s);
  }
  auto keys = loadKeys(*dir, origin);
  if (!keys.ok()) return failStatus(keys.status());
  std::cout << "created log " << *dir << "\norigin " << origin << "\nhash " << hashAlgName(*alg) << "\n";
  for (const auto& v : keys->verifiers) std::cout << "vkey " << v.vkey() << "\n";
  return 0;
}

int cmdAppend(const Args& a) {
  auto dir = a.get("--log");
  if (!dir) return fail("append: --log DIR is required", 2);
  LogKeys keys;
  auto log = openLog(*dir, keys);
  if (!log.ok()) return failStatus(log.status());
  std::string line;
  uint64_t lineno = 0;
  google::protobuf::util::JsonParseOptions jo;
  jo.ignore_unknown_fields = false;
  // Envelopes left by a crash between the envelope write and the append.
  if (auto r = envelope::removeOrphanEnvelopes(*dir, (*log)->size()); !r.ok()) return failStatus(r.status());
  std::optional<crypto::PublicKey> regulator;
  if (fileExists(*dir + "/keys/regulator.pub.pem")) {
    auto pem = readFile(*dir + "/keys/regulator.pub.pem");
    if (!pem.ok()) return failStatus(pem.status());
    auto pub = crypto::PublicKey::fromPem(*pem);
    if (!pub.ok()) return fail(absl::StrCat("append: keys/regulator.pub.pem: ", pub.status().message()));
    regulator = *std::move(pub);
  }
  while (std::getline(std::cin, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto split = envelope::splitSealedSnippets(line);
    if (!split.ok()) return fail(absl::StrCat("append: line ", lineno, ": ", split.status().message()));
    v1::EvidenceRecord rec;
    auto st = google::protobuf::util::JsonStringToMessage(split->record_json, &rec, jo);
    if (!st.ok()) return fail(absl::StrCat("append: line ", lineno, ": ", std::string(st.message())));
    // This process holds the log's writer lock and appends one record at a time, so
    // the next index is the log's size.
    uint64_t expected = (*log)->size();
    if (!split->snippets.empty()) {
      if (!regulator) return fail(absl::StrCat("append: line ", lineno, ": sealed_snippets but no regulator key (init --regulator-key)"));
      auto s = envelope::sealSnippets(*dir, *regulator, (*log)->origin(), (*log)->hashAlg(), expected,
                                      split->snippets, rec);
      if (!s.ok()) return fail(absl::StrCat("append: line ", lineno, ": ", s.message()));
    }
    auto idx = (*log)->appendRecord(std::move(rec));
    if (!idx.ok()) return fail(absl::StrCat("append: line ", lineno, ": ", idx.status().message()));
    if (!split->snippets.empty() && *idx != expected) {
      return fail(absl::StrCat("append: line ", lineno, ": record landed at ", *idx, ", envelopes were bound to ", expected));
    }
    std::cout << *idx << "\n";
  }
  std::cout.flush();
  return 0;
}

std::string noteBody(const std::string& note) { return note.substr(0, note.find("\n\n") + 1); }

int cmdCheckpoint(const Args& a) {
  auto dir = a.get("--log");
  if (!dir) return fail("checkpoint: --log DIR is required", 2);
  if (auto url = a.get("--tsa-url"); url && *url != "none") {
    return fail("checkpoint: this tool never uses the network; use --tsa-reply-cmd with a local TSA", 2);
  }
  LogKeys keys;
  auto log = openLog(*dir, keys);
  if (!log.ok()) return failStatus(log.status());
  const auto* signers = &keys.signers;
  auto cp = (*log)->publishCheckpoint(
      [signers](std::string_view body) { return crypto::signNote(body, *signers); });
  if (!cp.ok()) return failStatus(cp.status());
  std::cout << "checkpoint " << cp->size << " " << toHex(cp->root) << "\n";
  auto cmd = a.get("--tsa-reply-cmd");
  std::string tsr_path = absl::StrCat(*dir, "/anchors/", cp->size, ".tsr");
  if (!cmd || cp->size == 0 || fileExists(tsr_path)) return 0;
  std::string body = noteBody(cp->note);
  auto req = crypto::tsaRequest(body, (*log)->hashAlg() == HashAlg::kSm3 ? crypto::TsaHash::kSm3
                                                                           : crypto::TsaHash::kSha256);
  if (!req.ok()) return failStatus(req.status());
  std::string tmp = absl::StrCat(*dir, "/anchors/.tsa-", ::getpid());
  if (auto s = writeFileAtomic(tmp + ".tsq", req->der); !s.ok()) return failStatus(s);
  ::setenv("XB_TSQ", (tmp + ".tsq").c_str(), 1);
  ::setenv("XB_TSR", (tmp + ".tsr").c_str(), 1);
  int rc = std::system(cmd->c_str());
  auto resp = readFile(tmp + ".tsr");
  std::filesystem::remove(tmp + ".tsq");
  std::filesystem::remove(tmp + ".tsr");
  if (rc != 0 || !resp.ok()) return fail(absl::StrCat("checkpoint: --tsa-reply-cmd failed (status ", rc, ")"));
  auto token = crypto::tsaTokenFromResponse(*resp);
  if (!token.ok()) return failStatus(token.status());
  if (auto roots = a.get("--tsa-roots")) {
    auto pem = readFile(*roots);
    if (!pem.ok()) return failStatus(pem.status());
    crypto::TsaVerifyOptions vo;
    vo.trusted_roots_pem = *pem;
    vo.nonce = req->nonce;
    auto v = crypto::verifyTsaToken(*token, body, vo);
    if (!v.ok()) return failStatus(v.status());
    std::cout << "timestamp " << v->gen_time << " " << v->tsa_name << "\n";
  }
  if (auto s = writeFileAtomic(tsr_path, *token); !s.ok()) return failStatus(s);
  v1::EvidenceRecord anchor;
  anchor.set_type(v1::ANCHOR);
  anchor.mutable_anchor()->set_kind("rfc3161");
  anchor.mutable_anchor()->set_blob(*token);
  anchor.mutable_anchor()->set_covers_tree_size(cp->size);
  anchor.mutable_anchor()->set_covers_root(std::string(reinterpret_cast<const char*>(cp->root.data()), cp->root.size()));
  auto idx = (*log)->appendRecord(std::move(anchor));
  if (!idx.ok()) return failStatus(idx.status());
  std::cout << "anchor record " << *idx << "\n";
  return 0;
}

// Set by SIGINT/SIGTERM during an export: the exporter stops at the next chunk and the
// partial BUNDLE.tmp is removed, so nothing partial is left under the final name.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void onExportSignal(int) { g_interrupted = 1; }

// Progress on stderr for long exports: at most one line every 2 s, none for short ones.
class ExportProgressLine {
 public:
  explicit ExportProgressLine(bool quiet) : quiet_(quiet), start_(std::chrono::steady_clock::now()) {}
  absl::Status operator()(const bundle::ExportProgress& p) {
    if (g_interrupted) return absl::CancelledError("interrupted");
    if (quiet_) return absl::OkStatus();
    auto now = std::chrono::steady_clock::now();
    if (p.phase != phase_) {
      phase_ = std::string(p.phase);
      phase_start_ = now;
    }
    if (now - last_ < std::chrono::seconds(2) || now - start_ < std::chrono::seconds(2)) return absl::OkStatus();
    last_ = now;
    double secs = std::chrono::duration<double>(now - phase_start_).count();
    std::fprintf(stderr, "xborder-evidence: export %s %llu/%llu records (%.0f records/s)\n", phase_.c_str(),
                 static_cast<unsigned long long>(p.done), static_cast<unsigned long long>(p.total),
                 secs > 0 ? static_cast<double>(p.done) / secs : 0.0);
    return absl::OkStatus();
  }

 private:
  bool quiet_;
  std::chrono::steady_clock::time_point start_, last_{}, phase_start_{};
  std::string phase_;
};

int cmdExport(const Args& a) {
  auto dir = a.get("--log");
  auto out = a.get("--out");
  if (!dir || !out) return fail("export: --log DIR and --out BUNDLE are required", 2);
  bool by_index = a.has("--from") || a.has("--to");
  bool by_time = a.has("--since") || a.has("--until");
  if (by_index && by_time) return fail("export: use --from/--to or --since/--until, not both", 2);
  LogKeys keys;
  auto log = openLog(*dir, keys);
  if (!log.ok()) return failStatus(log.status());
  bundle::ExportRequest req;
  req.origin = (*log)->origin();
  req.hash = (*log)->hashAlg();
  req.signers = keys.signers;
  for (const auto& c : (*log)->checkpoints()) {
    bundle::PublishedCheckpoint pc{c.size, c.note, ""};
    if (auto t = readFile(absl::StrCat(*dir, "/anchors/", c.size, ".tsr")); t.ok()) pc.tsr = *t;
    req.checkpoints.push_back(std::move(pc));
  }
  if (auto c = readFile(*dir + "/keys/appliance.crt.pem"); c.ok()) req.appliance_chain_pem = *c;
  if (auto c = readFile(*dir + "/keys/tsa-chain.pem"); c.ok()) req.tsa_chain_pem = *c;
  if (auto p = readFile(*dir + "/exports/last.sha256"); p.ok()) req.prev_bundle_sha256 = p->substr(0, 64);
  for (const char* f : {"--from", "--to"}) {
    if (auto v = a.get(f)) {
      auto n = bundle::parseDecimal(*v);
      if (!n.ok()) return fail(absl::StrCat("export: ", f, " must be a record index"), 2);
      (std::string(f) == "--from" ? req.from : req.to) = *n;
    }
  }
  for (const char* f : {"--since", "--until"}) {
    if (auto v = a.get(f)) {
      auto t = parseTime(*v);
      if (!t) return fail(absl::StrCat("export: ", f, " must be RFC 3339 UTC or unix seconds"), 2);
      (std::string(f) == "--since" ? req.since_nanos : req.until_nanos) = *t;
    }
  }
  if (auto f = a.get("--since-checkpoint")) {
    auto note = readFile(*f);
    if (!note.ok()) return failStatus(note.status());
    req.since_checkpoint = *note;
  }
  if (auto c = a.get("--cite")) {
    for (size_t pos = 0; pos <= c->size();) {
      size_t comma = c->find(',', pos);
      if (comma == std::string::npos) comma = c->size();
      auto n = bundle::parseDecimal(c->substr(pos, comma - pos));
      if (!n.ok()) return fail("export: --cite takes record indices separated by commas", 2);
      req.cite.push_back(*n);
      pos = comma + 1;
    }
  }
  req.created_at = a.get("--created-at").value_or(nowRfc3339());
  if (!parseTime(req.created_at)) return fail("export: --created-at must be RFC 3339 UTC", 2);
  req.operator_role = a.get("--operator").value_or("operator");
  req.purpose = a.get("--purpose").value_or("regulator export");
  req.envelopes = [&](uint64_t from, uint64_t to) { return envelope::readEnvelopes(*dir, from, to); };
  ExportProgressLine progress(a.has("--quiet"));
  req.progress = [&progress](const bundle::ExportProgress& p) { return progress(p); };
  // Streams into OUT.tmp (fsync, rename, fsync dir on commit); an error, a signal or a
  // crash leaves nothing under OUT.
  auto sink = bundle::AtomicFileSink::create(*out);
  if (!sink.ok()) return failStatus(sink.status());
  std::signal(SIGINT, onExportSignal);
  std::signal(SIGTERM, onExportSignal);
  bundle::LogRecordSource source(**log);
  auto res = bundle::exportBundleTo(source, req, **sink);
  if (res.ok()) {
    if (auto s = (*sink)->commit(); !s.ok()) res = s;
  }
  sink->reset();  // removes OUT.tmp unless committed
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!res.ok()) return fail(absl::StrCat("export: ", res.status().message()));
  std::string bundle_sha = bundle::toHex(res->bundle_sha256);
  // Chain of custody: the export itself becomes a record.
  v1::EvidenceRecord rec;
  rec.set_type(v1::EXPORT);
  auto* ev = rec.mutable_export_event();
  ev->set_from_index(res->from);
  ev->set_to_index(res->to);
  ev->set_manifest_sha256(res->manifest_sha256);
  ev->set_manifest_sm3(res->manifest_sm3);
  ev->set_operator_role(req.operator_role);
  ev->set_purpose(req.purpose);
  ev->set_bundle_name(res->name);
  auto idx = (*log)->appendRecord(std::move(rec));
  if (!idx.ok()) return failStatus(idx.status());
  std::filesystem::create_directories(*dir + "/exports");
  if (auto s = writeFileAtomic(*dir + "/exports/last.sha256", bundle_sha + "\n"); !s.ok()) return failStatus(s);
  std::cout << "bundle " << res->name << "\nrange " << res->from << " " << res->to << "\ncited " << res->cited.size()
            << "\nsha256 " << bundle_sha << "\nexport record " << *idx << "\n";
  return 0;
}

int cmdTrust(const Args& a) {
  auto dir = a.get("--log");
  if (!dir) return fail("trust: --log DIR is required", 2);
  LogKeys keys;
  auto log = openLog(*dir, keys);
  if (!log.ok()) return failStatus(log.status());
  bundle::v1::TrustFile t;
  t.set_format("xborder-trust/1");
  t.set_origin((*log)->origin());
  t.set_hash(std::string(hashAlgName((*log)->hashAlg())));
  for (const auto& v : keys.verifiers) t.add_log_vkeys(v.vkey());
  if (auto c = readFile(*dir + "/keys/appliance.crt.pem"); c.ok()) {
    t.set_ca_root_pem(*c);
    if (auto fp = crypto::certFingerprint(*c, "SHA256"); fp.ok()) t.set_appliance_cert_sha256(*fp);
  }
  if (auto roots = a.get("--tsa-roots")) {
    for (size_t pos = 0; pos <= roots->size();) {
      size_t comma = roots->find(',', pos);
      if (comma == std::string::npos) comma = roots->size();
      auto pem = readFile(roots->substr(pos, comma - pos));
      if (!pem.ok()) return failStatus(pem.status());
      t.add_tsa_roots_pem(*pem);
      pos = comma + 1;
    }
  }
  t.mutable_policy()->set_require_tsa(t.tsa_roots_pem_size() > 0);
  t.mutable_policy()->set_require_sm2(keys.verifiers.size() > 1);
  t.mutable_policy()->set_clock_tolerance_seconds(300);
  std::string json = bundle::trustToJson(t);
  if (auto out = a.get("--out")) {
    if (auto s = writeFileAtomic(*out, json); !s.ok()) return failStatus(s);
  } else {
    std::cout << json;
  }
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  struct Spec {
    const char* help;
    std::set<std::string> values;
    int (*fn)(const Args&);
  };
  static const std::map<std::string, Spec> kCommands = {
      {"init", {kInitHelp, {"--log", "--origin", "--hash", "--sign", "--org", "--serial", "--regulator-key", "--segment-bytes"},
        cmdInit}},
      {"append", {kAppendHelp, {"--log"}, cmdAppend}},
      {"checkpoint", {kCheckpointHelp, {"--log", "--tsa-url", "--tsa-reply-cmd", "--tsa-roots"}, cmdCheckpoint}},
      {"export",
       {kExportHelp,
        {"--log", "--out", "--from", "--to", "--since", "--until", "--since-checkpoint", "--cite", "--created-at",
         "--operator", "--purpose"},
        cmdExport}},
      {"trust", {kTrustHelp, {"--log", "--tsa-roots", "--out"}, cmdTrust}},
  };
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) return fail(absl::StrCat("unknown command '", cmd, "' (try --help)"), 2);
  std::set<std::string> switches = {"--help"};
  if (cmd == "export") switches.insert("--quiet");
  auto args = parseArgs(argc, argv, 2, it->second.values, switches);
  if (!args.ok()) return fail(absl::StrCat(cmd, ": ", args.status().message(), " (try --help)"), 2);
  if (args->has("--help")) {
    std::cout << it->second.help;
    return 0;
  }
  if (!args->positional.empty()) return fail(absl::StrCat(cmd, ": unexpected argument '", args->positional[0], "'"), 2);
  return it->second.fn(*args);
}

}  // namespace
}  // namespace xborder::evidence::tools

int main(int argc, char** argv) { return xborder::evidence::tools::run(argc, argv); }
