// xborder-detect: run the content detectors over files (each file = one flow direction)
// and print one JSON line of counts per file. For operators checking what the gateway
// would count in a sample, and for building/serializing a detector database offline.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "rules/detectors/detector_scanner.h"
#include "rules/detectors/detector_set.h"

using namespace xborder::rules::detectors;

namespace {

constexpr char kUsage[] =
    "usage: xborder-detect [options] FILE...   (FILE '-' = stdin)\n"
    "Scans each file as one flow direction with the content detectors and prints one JSON\n"
    "line per file: hits per detector, high-confidence hits, hits per PI class, sensitive /\n"
    "non-sensitive totals, dictionary hits and the keyed hashes of distinct identifiers.\n"
    "\n"
    "  --detectors a,b,...   detectors to enable (default: all; see --list)\n"
    "  --dictionary N=k1,k2  a keyword dictionary (UTF-8; GBK forms added); repeatable\n"
    "  --key-file PATH       HMAC key (>= 16 bytes) for the identifier hashes\n"
    "                        (default: a random key, so hashes differ between runs)\n"
    "  --chunk N             scan in N-byte segments (default 1460, like TCP payloads)\n"
    "  --today YYYYMMDD      birth dates after this day are invalid (default: today, UTC)\n"
    "  --save-db PATH        write the serialized detector database and exit if no FILE\n"
    "  --load-db PATH        load a database saved with the same --detectors/--dictionary\n"
    "  --list                print the implemented detectors and exit\n"
    "  --help                this text\n";

int fail(const std::string& why) {
  std::fprintf(stderr, "xborder-detect: %s\n", why.c_str());
  return 2;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

bool readFile(const std::string& path, std::string& out) {
  if (path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  DetectorSetSpec spec;
  std::string keyFile, saveDb, loadDb;
  size_t chunk = 1460;
  uint32_t today = 0;
  std::vector<std::string> files;
  bool detectorsGiven = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--list") {
      for (const auto& d : detectorRegistry()) {
        std::printf("%-24s class=%-18s sensitive=%s context=%s keyed=%s\n", std::string(d.name).c_str(),
                    std::string(piClassName(d.piClass)).c_str(), isSensitive(d.piClass) ? "yes" : "no",
                    d.requireContextDefault ? "required" : "raises", d.keyed ? "yes" : "no");
      }
      return 0;
    } else if (a == "--detectors") {
      if (!value(v)) return fail("--detectors needs a value");
      detectorsGiven = true;
      for (const auto& n : split(v, ',')) spec.detectors.push_back({.name = n});
    } else if (a == "--dictionary") {
      if (!value(v)) return fail("--dictionary needs NAME=kw1,kw2");
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) return fail("--dictionary needs NAME=kw1,kw2, got '" + v + "'");
      spec.dictionaries.push_back({.name = v.substr(0, eq), .keywords = split(v.substr(eq + 1), ',')});
    } else if (a == "--key-file") {
      if (!value(keyFile)) return fail("--key-file needs a path");
    } else if (a == "--chunk") {
      if (!value(v)) return fail("--chunk needs a number");
      chunk = std::strtoul(v.c_str(), nullptr, 10);
      if (chunk == 0) return fail("--chunk must be a positive number, got '" + v + "'");
    } else if (a == "--today") {
      if (!value(v)) return fail("--today needs YYYYMMDD");
      today = static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
      if (v.size() != 8 || today < 19000101) return fail("--today needs YYYYMMDD, got '" + v + "'");
    } else if (a == "--save-db") {
      if (!value(saveDb)) return fail("--save-db needs a path");
    } else if (a == "--load-db") {
      if (!value(loadDb)) return fail("--load-db needs a path");
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      return fail("unknown option '" + a + "' (see --help)");
    } else {
      files.push_back(a);
    }
  }
  if (!detectorsGiven) {
    for (auto n : detectorNames()) spec.detectors.push_back({.name = std::string(n)});
  }
  if (files.empty() && saveDb.empty()) return fail("no input files (see --help)");

  absl::StatusOr<std::shared_ptr<const DetectorSet>> set;
  if (!loadDb.empty()) {
    std::string bytes;
    if (!readFile(loadDb, bytes)) return fail("cannot read " + loadDb);
    set = DetectorSet::deserialize(spec, bytes);
  } else {
    set = DetectorSet::build(spec);
  }
  if (!set.ok()) return fail(std::string(set.status().message()));
  if (!saveDb.empty()) {
    auto bytes = (*set)->serialize();
    if (!bytes.ok()) return fail(std::string(bytes.status().message()));
    std::ofstream out(saveDb, std::ios::binary);
    if (!out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()))) return fail("cannot write " + saveDb);
    if (files.empty()) return 0;
  }

  std::vector<uint8_t> key;
  if (!keyFile.empty()) {
    std::string k;
    if (!readFile(keyFile, k)) return fail("cannot read key file " + keyFile);
    key.assign(k.begin(), k.end());
  } else {
    std::random_device rd;
    for (int i = 0; i < 32; ++i) key.push_back(static_cast<uint8_t>(rd()));
  }
  auto sc = Scanner::create(*set, key, today);
  if (!sc.ok()) return fail(std::string(sc.status().message()));

  int rc = 0;
  for (const auto& f : files) {
    std::string data;
    if (!readFile(f, data)) {
      std::fprintf(stderr, "xborder-detect: cannot read %s\n", f.c_str());
      rc = 1;
      continue;
    }
    FlowScanState st;
    if (!(*sc)->open(st)) return fail("hs_open_stream failed");
    for (size_t off = 0; off < data.size(); off += chunk) {
      (*sc)->scan(st, reinterpret_cast<const uint8_t*>(data.data()) + off, std::min(chunk, data.size() - off));
    }
    (*sc)->finish(st);
    const FlowScanResult& r = st.result();
    std::string out = "{\"file\":\"" + jsonEscape(f) + "\",\"bytes\":" + std::to_string(r.bytes) + ",\"hits\":{";
    std::string high = ",\"high_confidence\":{";
    bool first = true;
    for (const auto& d : detectorRegistry()) {
      size_t i = static_cast<size_t>(d.id);
      if (!(*set)->enabled(d.id)) continue;
      std::string sep = first ? "" : ",";
      out += sep + "\"" + std::string(d.name) + "\":" + std::to_string(r.hits[i]);
      high += sep + "\"" + std::string(d.name) + "\":" + std::to_string(r.highConfidence[i]);
      first = false;
    }
    out += "}" + high + "},\"classes\":{";
    first = true;
    for (size_t c = 0; c < kPiClassCount; ++c) {
      if (!r.classHits[c]) continue;
      out += std::string(first ? "" : ",") + "\"" + std::string(piClassName(static_cast<PiClass>(c))) + "\":" +
             std::to_string(r.classHits[c]);
      first = false;
    }
    out += "},\"sensitive_hits\":" + std::to_string(r.sensitiveHits) +
           ",\"non_sensitive_hits\":" + std::to_string(r.nonSensitiveHits) + ",\"dictionaries\":{";
    for (size_t i = 0; i < (*set)->dictionaryCount(); ++i) {
      out += std::string(i ? "," : "") + "\"" + jsonEscape((*set)->dictionaryName(i)) + "\":" +
             std::to_string(r.dictionaryHits[i]);
    }
    out += "},\"key_hashes\":[";
    for (size_t i = 0; i < r.keyHashCount; ++i) {
      char h[17];
      std::snprintf(h, sizeof(h), "%016llx", static_cast<unsigned long long>(r.keyHashes[i].hash));
      out += std::string(i ? "," : "") + "{\"detector\":\"" + std::string(detectorInfo(r.keyHashes[i].detector).name) +
             "\",\"hash\":\"" + h + "\"}";
    }
    out += "],\"key_hashes_dropped\":" + std::to_string(r.keyHashesDropped) +
           ",\"unvalidated\":" + std::to_string(r.unvalidated) + "}";
    std::puts(out.c_str());
    (*sc)->release(st);
  }
  return rc;
}
