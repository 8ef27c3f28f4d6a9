// xborder-dryrun: what would this negative list have logged, alerted, held or blocked
// in these captures, and what changes against another version. Runs the dataplane's
// own packet library (dataplane/engine: decode, flow table, nDPI) with the
// rules-backed policy (dataplane/verdict, dataplane/inspect) over pcap files: the same
// code as xborder-dataplane, without DPDK devices.
//
// Exit codes: 0 ok, 1 a capture could not be read, 2 bad command line or list errors.

#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/capture/capture_pcap.h"
#include "dataplane/engine/engine.h"
#include "dataplane/verdict/verdict_rules.h"
#include "rules/compile/compile_detectors.h"
#include "rules/compile/compile_ruleset.h"
#include "rules/detectors/detector_set.h"
#include "rules/eval/eval_ruleset.h"
#include "rules/lang/list_loader.h"

namespace {

using namespace xborder;

constexpr const char* kUsage = R"(usage: xborder-dryrun (--list LIST.yaml | --ruleset RULESET.pb) [options] CAPTURE...

Replays pcap/pcapng captures through the dataplane's packet code (decoder, flow table,
nDPI, content detectors) and judges every flow against a negative list, as the
gateway would: which flows would be logged, alerted, held or blocked, and why.

  --list FILE            the negative list (YAML), loaded and compiled in memory
  --ruleset FILE         a compiled ruleset (xborder-rulec -o) instead of --list
  --against FILE         also judge every flow under this other version (YAML, or a
                         compiled ruleset if it ends in .pb) and report what changes
  --as-of DATE           judge every flow at DATE (YYYY-MM-DD, noon in the list's time
                         zone) instead of at its capture time
  --json                 one JSON object per flow, then one summary object (stdout)
  --progress             progress on stderr even when it is not a terminal
  --no-progress          never show progress
  --geo FILE             prefix-to-country CSV instead of the list's geo_table
  --flow-log FILE        also write the engine's flow log (EVE JSON lines, with verdict)
  --inspect-flows N      flows inspected at once (default 4096; beyond: metadata only)
  --inspect-budget BYTES payload bytes scanned per flow direction (default 1048576)
  --flow-capacity N      flow table size (default 262144)
  --examples N           example flows listed per entry in the text report (default 3)
  -h, --help             this text

Exit codes: 0 ok, 1 a capture could not be read, 2 bad command line or list errors
(every list problem is printed as file:line:col: message).
)";

[[noreturn]] void usageFail(const std::string& why) {
  std::fprintf(stderr, "xborder-dryrun: %s (try --help)\n", why.c_str());
  std::exit(2);
}

std::string jsonEscape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 2);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (u < 0x20) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\u%04x", u);
      o += b;
    } else {
      o += c;
    }
  }
  return o;
}
std::string q(std::string_view s) { return "\"" + jsonEscape(s) + "\""; }

std::string ipText(const uint8_t* a, uint8_t version) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(version == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf)) == nullptr) return "?";
  return buf;
}

std::string protoText(uint8_t p) {
  switch (p) {
    case 6: return "TCP";
    case 17: return "UDP";
    case 1: return "ICMP";
    case 58: return "IPv6-ICMP";
    case 132: return "SCTP";
    default: return std::to_string(p);
  }
}

std::string isoTime(uint64_t ns) {
  const time_t t = static_cast<time_t>(ns / 1000000000ull);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

struct Version {
  rules::pb::Ruleset ruleset;
  std::string hash;
  std::string label;
  int tzMinutes = 480;
};

bool endsWith(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

// Loads a YAML list (compiled in memory) or a compiled ruleset; exits 2 on errors.
Version loadVersion(const std::string& path, bool compiled, const std::string& geo) {
  Version v;
  v.label = path;
  if (compiled) {
    std::ifstream in(path, std::ios::binary);
    if (!in) usageFail("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    if (!v.ruleset.ParseFromString(bytes)) usageFail(path + ": not a compiled ruleset");
    v.hash = rules::compile::sha256Hex(bytes);
    return v;
  }
  rules::lang::LoadOptions opts;
  opts.geoOverride = geo;
  // Filings that expired before the list's effective date are list errors (as for
  // xborder-rulec); later expiries are judged per flow at its time.
  const rules::lang::LoadResult r = rules::lang::loadListFile(path, opts);
  if (!r.ok()) {
    std::fputs(r.formatAll().c_str(), stderr);
    if (!r.formatAll().empty() && r.formatAll().back() != '\n') std::fputc('\n', stderr);
    std::exit(2);
  }
  v.tzMinutes = r.list->policy.tzOffsetMinutes;
  rules::compile::CompileOptions co;
  co.embedHyperscan = false;  // the dry run builds one detector set for all versions
  auto rs = rules::compile::compileList(*r.list, co);
  if (!rs.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), std::string(rs.status().message()).c_str());
    std::exit(2);
  }
  v.ruleset = std::move(*rs);
  v.hash = rules::compile::sha256Hex(rules::compile::serializeDeterministic(v.ruleset));
  return v;
}

// Detectors and dictionaries of every version, by name (one scanner serves them all).
rules::detectors::DetectorSetSpec mergedSpec(const std::vector<Version>& vs) {
  rules::detectors::DetectorSetSpec spec = rules::compile::detectorSpecOf(vs[0].ruleset);
  for (size_t i = 1; i < vs.size(); ++i) {
    const auto more = rules::compile::detectorSpecOf(vs[i].ruleset);
    for (const auto& d : more.detectors) {
      bool have = false;
      for (const auto& e : spec.detectors) have = have || e.name == d.name;
      if (!have) spec.detectors.push_back(d);
    }
    for (const auto& d : more.dictionaries) {
      bool have = false;
      for (const auto& e : spec.dictionaries) have = have || e.name == d.name;
      if (!have) spec.dictionaries.push_back(d);
    }
  }
  return spec;
}

struct Tally {
  std::array<uint64_t, 5> by_action{};
  std::vector<std::string> examples;
};

class Report final : public dp::OutcomeSink {
 public:
  Report(bool json, bool against, uint32_t examples) : json_(json), against_(against), examples_(examples) {}

  void onOutcome(const dp::FlowOutcome& o) override {
    const dp::FlowView& f = *o.flow;
    ++flows_;
    const dp::VersionOutcome& v = o.versions[0];
    const auto a = static_cast<size_t>(v.action);
    ++totals_[a];
    const std::string src = ipText(f.client_ip, f.ip_version);
    const std::string dst = ipText(f.server_ip, f.ip_version);
    const std::string entry = v.entry_id.empty() ? "-" : v.entry_id;
    const std::string tenant = v.tenant_id.empty() ? "(unattributed)" : v.tenant_id;
    const std::string line = src + ":" + std::to_string(f.client_port) + " -> " + dst + ":" +
                             std::to_string(f.server_port) + " " + protoText(f.proto) + " " +
                             std::string(f.app.empty() ? "?" : f.app) +
                             (f.host.empty() ? "" : " " + std::string(f.host)) + " | " + v.reason;
    Tally& te = by_entry_[entry];
    ++te.by_action[a];
    if (v.action != dp::PolicyAction::kAllow && te.examples.size() < examples_) te.examples.push_back(line);
    ++by_tenant_[tenant].by_action[a];
    if (v.action != dp::PolicyAction::kAllow) nonallow_.push_back(kNames[a] + std::string(": ") + line);
    if (against_) {
      const dp::VersionOutcome& w = o.versions[1];
      if (w.action != v.action || w.entry_id != v.entry_id || w.filing_id != v.filing_id) {
        ++changes_[std::string(kNames[static_cast<size_t>(w.action)]) + " -> " + kNames[a]];
        const std::string e = (w.entry_id.empty() ? "-" : w.entry_id) + " -> " + entry;
        ++entry_changes_[e + " (" + kNames[static_cast<size_t>(w.action)] + " -> " + kNames[a] + ")"];
        ++changed_;
        if (!json_ && changed_lines_.size() < 50) {
          changed_lines_.push_back(std::string(kNames[static_cast<size_t>(w.action)]) + " -> " + kNames[a] +
                                   ": " + line + "\n      was: " + w.reason);
        }
      }
    }
    if (!json_) return;
    std::string j = "{";
    j += "\"timestamp\":" + q(isoTime(f.first_ns));
    j += ",\"src_ip\":" + q(src) + ",\"src_port\":" + std::to_string(f.client_port);
    j += ",\"dest_ip\":" + q(dst) + ",\"dest_port\":" + std::to_string(f.server_port);
    j += ",\"proto\":" + q(protoText(f.proto));
    j += ",\"vlan\":" + std::to_string(f.vlan);
    j += ",\"app_proto\":" + q(f.app_proto) + ",\"app\":" + q(f.app);
    j += ",\"host\":" + q(f.host);
    j += ",\"direction\":" + q(o.outbound ? "outbound" : "inbound_pull");
    j += ",\"tenant\":" + q(v.tenant_id) + ",\"dest_country\":" + q(v.country);
    j += ",\"decision\":" + q(kNames[a]);
    j += ",\"entry_id\":" + q(v.entry_id) + ",\"filing_id\":" + q(v.filing_id);
    j += ",\"reason\":" + q(v.reason);
    j += ",\"detectors\":{";
    for (size_t i = 0; i < o.detectors.size(); ++i) {
      if (i) j += ",";
      j += q(o.detectors[i].first) + ":" + std::to_string(o.detectors[i].second);
    }
    j += "}";
    j += ",\"records\":" + std::to_string(o.records);
    j += ",\"new_individuals\":" + std::to_string(v.new_individuals);
    j += ",\"content_type\":" + q(o.content_type) + ",\"path\":" + q(o.path);
    j += ",\"inspected\":" + std::string(o.inspected ? "true" : "false");
    j += ",\"tcp_gaps\":" + std::to_string(o.gaps);
    j += ",\"pkts_toserver\":" + std::to_string(f.pkts[0]) + ",\"pkts_toclient\":" + std::to_string(f.pkts[1]);
    j += ",\"bytes_toserver\":" + std::to_string(f.bytes[0]) + ",\"bytes_toclient\":" + std::to_string(f.bytes[1]);
    j += ",\"ruleset\":" + q(hash0_);
    if (against_) {
      const dp::VersionOutcome& w = o.versions[1];
      j += ",\"against\":{\"decision\":" + q(kNames[static_cast<size_t>(w.action)]) +
           ",\"entry_id\":" + q(w.entry_id) + ",\"filing_id\":" + q(w.filing_id) +
           ",\"reason\":" + q(w.reason) + "}";
      j += ",\"changed\":" +
           std::string(w.action != v.action || w.entry_id != v.entry_id || w.filing_id != v.filing_id ? "true"
                                                                                                    : "false");
    }
    j += "}\n";
    std::fputs(j.c_str(), stdout);
  }

  void setHashes(std::string h0, std::string h1) {
    hash0_ = std::move(h0);
    hash1_ = std::move(h1);
  }

  void finish(uint64_t packets, double secs) {
    if (json_) {
      std::string j = "{\"summary\":true,\"packets\":" + std::to_string(packets) +
                      ",\"flows\":" + std::to_string(flows_);
      j += ",\"ruleset\":" + q(hash0_);
      j += ",\"decisions\":" + actions(totals_);
      j += ",\"entries\":{";
      bool first = true;
      for (const auto& [k, t] : by_entry_) {
        j += (first ? "" : ",") + q(k) + ":" + actions(t.by_action);
        first = false;
      }
      j += "},\"tenants\":{";
      first = true;
      for (const auto& [k, t] : by_tenant_) {
        j += (first ? "" : ",") + q(k) + ":" + actions(t.by_action);
        first = false;
      }
      j += "}";
      if (against_) {
        j += ",\"against_ruleset\":" + q(hash1_) + ",\"changed_flows\":" + std::to_string(changed_);
        j += ",\"changes\":{";
        first = true;
        for (const auto& [k, n] : changes_) {
          j += (first ? "" : ",") + q(k) + ":" + std::to_string(n);
          first = false;
        }
        j += "},\"entry_changes\":{";
        first = true;
        for (const auto& [k, n] : entry_changes_) {
          j += (first ? "" : ",") + q(k) + ":" + std::to_string(n);
          first = false;
        }
        j += "}";
      }
      j += ",\"seconds\":" + std::to_string(secs) + "}\n";
      std::fputs(j.c_str(), stdout);
      return;
    }
    std::printf("Dry run: %llu packets, %llu flows, ruleset %s\n\n", static_cast<unsigned long long>(packets),
                static_cast<unsigned long long>(flows_), hash0_.substr(0, 16).c_str());
    std::printf("%-22s %8s %8s %8s %8s %8s\n", "Per entry", "allow", "log", "alert", "hold", "block");
    for (const auto& [k, t] : by_entry_) row(k, t.by_action);
    std::printf("\n%-22s %8s %8s %8s %8s %8s\n", "Per tenant", "allow", "log", "alert", "hold", "block");
    for (const auto& [k, t] : by_tenant_) row(k, t.by_action);
    row("TOTAL", totals_);
    std::printf("\nExamples per entry:\n");
    for (const auto& [k, t] : by_entry_) {
      for (const auto& e : t.examples) std::printf("  %s: %s\n", k.c_str(), e.c_str());
    }
    std::printf("\nFlows that are not allowed (%zu):\n", nonallow_.size());
    for (const auto& l : nonallow_) std::printf("  %s\n", l.c_str());
    if (against_) {
      std::printf("\nChanges against %s: %llu flows\n", hash1_.substr(0, 16).c_str(),
                  static_cast<unsigned long long>(changed_));
      for (const auto& [k, n] : changes_) {
        std::printf("  %llu flows that were %s\n", static_cast<unsigned long long>(n),
                    replaceArrow(k).c_str());
      }
      for (const auto& [k, n] : entry_changes_) {
        std::printf("  entry %s: %llu flows\n", k.c_str(), static_cast<unsigned long long>(n));
      }
      for (const auto& l : changed_lines_) std::printf("  %s\n", l.c_str());
    }
  }

 private:
  static constexpr const char* kNames[] = {"allow", "log", "alert", "hold", "block"};
  static std::string replaceArrow(const std::string& k) {
    const size_t p = k.find(" -> ");
    if (p == std::string::npos) return k;
    const std::string from = k.substr(0, p), to = k.substr(p + 4);
    return from == to ? from + " and still are, under another entry or filing" : from + " are now " + to;
  }
  static std::string actions(const std::array<uint64_t, 5>& a) {
    std::string s = "{";
    for (size_t i = 0; i < 5; ++i) s += std::string(i ? "," : "") + q(kNames[i]) + ":" + std::to_string(a[i]);
    return s + "}";
  }
  static void row(const std::string& k, const std::array<uint64_t, 5>& a) {
    std::printf("%-22s %8llu %8llu %8llu %8llu %8llu\n", k.c_str(), static_cast<unsigned long long>(a[0]),
                static_cast<unsigned long long>(a[1]), static_cast<unsigned long long>(a[2]),
                static_cast<unsigned long long>(a[3]), static_cast<unsigned long long>(a[4]));
  }

  bool json_, against_;
  uint32_t examples_;
  std::string hash0_, hash1_;
  uint64_t flows_ = 0, changed_ = 0;
  std::array<uint64_t, 5> totals_{};
  std::map<std::string, Tally> by_entry_, by_tenant_;
  std::map<std::string, uint64_t> changes_, entry_changes_;
  std::vector<std::string> nonallow_, changed_lines_;
};

class FileLog final : public dp::FlowLogSink {
 public:
  explicit FileLog(FILE* f) : f_(f) {}
  void onFlowRecord(std::string_view line) noexcept override {
    if (f_ == nullptr) return;
    std::fwrite(line.data(), 1, line.size(), f_);
    std::fputc('\n', f_);
  }

 private:
  FILE* f_;
};

bool parseU32(const char* s, uint32_t* out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0' || v == 0 || v > 0xFFFFFFFFull) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string list, rulesetPath, against, asOf, geo, flowLog;
  bool json = false;
  int progress = -1;  // -1: when stderr is a terminal
  uint32_t inspectFlows = 4096, flowCapacity = 1u << 18, examples = 3;
  uint32_t budget = 1u << 20;
  std::vector<std::string> captures;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageFail(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> uint32_t {
      const std::string v = value();
      uint32_t n = 0;
      if (!parseU32(v.c_str(), &n)) usageFail(a + " needs a positive number, not '" + v + "'");
      return n;
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--list") {
      list = value();
    } else if (a == "--ruleset") {
      rulesetPath = value();
    } else if (a == "--against") {
      against = value();
    } else if (a == "--as-of") {
      asOf = value();
    } else if (a == "--json") {
      json = true;
    } else if (a == "--progress") {
      progress = 1;
    } else if (a == "--no-progress") {
      progress = 0;
    } else if (a == "--geo") {
      geo = value();
    } else if (a == "--flow-log") {
      flowLog = value();
    } else if (a == "--inspect-flows") {
      inspectFlows = number();
    } else if (a == "--inspect-budget") {
      budget = number();
    } else if (a == "--flow-capacity") {
      flowCapacity = number();
    } else if (a == "--examples") {
      examples = number();
    } else if (!a.empty() && a[0] == '-') {
      usageFail("unknown option " + a);
    } else {
      captures.push_back(a);
    }
  }
  if (list.empty() == rulesetPath.empty()) usageFail("give exactly one of --list or --ruleset");
  if (captures.empty()) usageFail("no capture files");

  std::vector<Version> versions;
  versions.push_back(list.empty() ? loadVersion(rulesetPath, true, geo) : loadVersion(list, false, geo));
  if (!against.empty()) versions.push_back(loadVersion(against, endsWith(against, ".pb"), geo));

  int64_t asOfUnix = 0;
  if (!asOf.empty()) {
    const auto d = rules::lang::parseDate(asOf);
    if (!d) usageFail("--as-of needs a date YYYY-MM-DD, not '" + asOf + "'");
    // Noon in the list's time zone: the whole day is unambiguous for filings dated by day.
    asOfUnix = d->daysSinceEpoch() * 86400 + 12 * 3600 - int64_t{versions[0].tzMinutes} * 60;
  }

  std::vector<dp::RulesVersion> rv;
  for (auto& v : versions) {
    auto ev = rules::eval::Evaluator::create(v.ruleset);
    if (!ev.ok()) usageFail(v.label + ": " + std::string(ev.status().message()));
    rv.push_back({std::shared_ptr<const rules::eval::Evaluator>(std::move(*ev)), v.hash});
  }
  const auto spec = mergedSpec(versions);
  absl::StatusOr<std::shared_ptr<const rules::detectors::DetectorSet>> set =
      absl::InternalError("not built");
  if (versions.size() == 1 && !versions[0].ruleset.hyperscan_db().empty()) {
    set = rules::detectors::DetectorSet::deserialize(spec, versions[0].ruleset.hyperscan_db());
  }
  if (!set.ok()) set = rules::detectors::DetectorSet::build(spec);
  if (!set.ok()) usageFail("detectors: " + std::string(set.status().message()));

  // Individuals are de-duplicated within this run only: a fresh random key is enough.
  std::array<uint8_t, 32> key{};
  std::random_device rd;
  for (auto& b : key) b = static_cast<uint8_t>(rd());

  Report report(json, versions.size() == 2, examples);
  report.setHashes(versions[0].hash, versions.size() == 2 ? versions[1].hash : "");
  dp::RulesPolicyConfig pc;
  // The engine rounds its capacity up to a power of two; the policy indexes by slot.
  uint32_t cap = 1;
  while (cap < flowCapacity) cap <<= 1;
  pc.flow_capacity = cap;
  pc.inspect.max_flows = inspectFlows;
  pc.inspect.byte_budget = budget;
  pc.as_of_unix = asOfUnix;
  auto policy = dp::RulesPolicy::create(pc, std::move(rv), *set, key, &report);
  if (!policy.ok()) usageFail(std::string(policy.status().message()));

  FILE* logFile = nullptr;
  if (!flowLog.empty()) {
    logFile = std::fopen(flowLog.c_str(), "w");
    if (logFile == nullptr) usageFail("cannot write " + flowLog);
  }
  FileLog sink(logFile);
  dp::EngineConfig ec;
  ec.flow_capacity = cap;
  ec.policy = policy->get();
  // Decisions are reported, not enforced: an inline drop of an outer (tunnel) flow
  // would hide its inner flows from the judgement.
  ec.inline_mode = false;
  std::string err;
  auto engine = dp::Engine::create(ec, &sink, &err);
  if (!engine) usageFail("engine: " + err);

  const bool showProgress = progress == 1 || (progress == -1 && isatty(2));
  constexpr uint16_t kBurst = 32;
  std::array<dp::PacketIn, kBurst> burst{};
  std::array<dp::Verdict, kBurst> verdicts{};
  std::array<std::vector<uint8_t>, kBurst> bufs;
  uint16_t n = 0;
  uint64_t packets = 0, lastTs = 0;
  auto flush = [&]() {
    if (n == 0) return;
    engine->processBurst(burst.data(), n, verdicts.data());
    engine->advanceTime(lastTs);
    n = 0;
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto lastShow = t0;
  for (size_t fi = 0; fi < captures.size(); ++fi) {
    dp::CaptureReader reader;
    const absl::Status st = reader.open(captures[fi]);
    if (!st.ok()) {
      std::fprintf(stderr, "xborder-dryrun: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    dp::CapturedPacket cp;
    while (reader.next(&cp)) {
      // libpcap reuses its buffer on the next read: copy while the burst fills.
      bufs[n].assign(cp.data, cp.data + cp.caplen);
      dp::PacketIn& in = burst[n++];
      in.data = bufs[n - 1].data();
      in.caplen = cp.caplen;
      in.wirelen = cp.wirelen;
      in.ts_ns = cp.ts_ns;
      // The side does not decide direction here: the list's tenant CIDRs do.
      in.side = dp::Side::kInside;
      lastTs = cp.ts_ns > lastTs ? cp.ts_ns : lastTs;
      ++packets;
      if (n == kBurst) flush();
      if (showProgress && (packets & 4095) == 0) {
        const auto now = std::chrono::steady_clock::now();
        if (now - lastShow >= std::chrono::seconds(1)) {
          lastShow = now;
          const double pct = reader.fileSize() ? 100.0 * reader.bytesRead() / reader.fileSize() : 0.0;
          std::fprintf(stderr, "\r[%zu/%zu] %s: %llu packets, %llu active flows, %.1f%%   ", fi + 1,
                       captures.size(), captures[fi].c_str(), static_cast<unsigned long long>(packets),
                       static_cast<unsigned long long>(engine->activeFlows()), pct);
        }
      }
    }
    flush();
  }
  engine->flushAll(lastTs);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (showProgress) std::fputs("\n", stderr);
  if (logFile) std::fclose(logFile);
  report.finish(packets, secs);
  std::fprintf(stderr, "xborder-dryrun: %llu packets, %.3f s, %.0f packets/s, %llu payload bytes inspected\n",
               static_cast<unsigned long long>(packets), secs, secs > 0 ? packets / secs : 0.0,
               static_cast<unsigned long long>((*policy)->inspector().bytesScanned()));
  return 0;
}
