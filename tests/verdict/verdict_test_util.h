// Shared by the tests/verdict tests: the sample list compiled, checksum-valid resident
// IDs in JSON Lines uploads, a temporary evidence Log and reading it back, and
// hand-made flow views for driving RulesPolicy without the engine.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "controlplane/evidence/record/record.pb.h"
#include "controlplane/evidence/store/store_log.h"
#include "dataplane/verdict/verdict_rules.h"
#include "rules/compile/compile_ruleset.h"
#include "rules/lang/list_loader.h"

namespace xborder::verdict_test {

inline std::string sourceDir() {
  const char* s = std::getenv("XB_SOURCE_DIR");
  return s ? s : XB_TEST_SOURCE_DIR;
}

inline rules::pb::Ruleset sampleRuleset() {
  auto loaded = rules::lang::loadListFile(sourceDir() + "/rules/examples/sample-negative-list.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.formatAll();
  if (!loaded.ok()) return {};
  rules::compile::CompileOptions co;
  co.embedHyperscan = false;
  auto rs = rules::compile::compileList(*loaded.list, co);
  EXPECT_TRUE(rs.ok()) << rs.status();
  return rs.ok() ? *rs : rules::pb::Ruleset();
}

// 18-character resident ID with a valid ISO 7064 MOD 11-2 check character; distinct
// for i < 10^7 (the sequence part carries i).
inline std::string residentId(uint64_t i) {
  char body[18];
  std::snprintf(body, sizeof body, "3205%02u19%02u%02u%02u%03u", static_cast<unsigned>(10 + (i / 1000000) % 90),
                static_cast<unsigned>(60 + (i / 100000) % 10 * 3), static_cast<unsigned>(1 + (i / 1000) % 12),
                static_cast<unsigned>(1 + (i / 10000) % 10 * 2 + (i / 10) % 2), static_cast<unsigned>(i % 1000));
  static constexpr int kW[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int s = 0;
  for (int k = 0; k < 17; ++k) s += (body[k] - '0') * kW[k];
  return std::string(body, 17) + "10X98765432"[s % 11];
}

// JSON Lines waybills carrying residentId(first .. first+n-1), and a mobile number each
// when asked (each is a keyed identifier of its own: 2n identifiers then).
inline std::string waybills(uint64_t first, uint64_t n, bool mobiles = false) {
  std::string out;
  for (uint64_t i = first; i < first + n; ++i) {
    out += "{\"waybill\":\"SF" + std::to_string(i) + "\",\"consignee\":\"Zhang San\",";
    if (mobiles) out += "\"mobile\":\"1380013" + std::to_string(1000 + i % 9000) + "\",";
    out += "\"id_no\":\"" + residentId(i) + "\",\"city\":\"Suzhou\"}\n";
  }
  return out;
}

inline std::string post(const std::string& host, const std::string& body) {
  return "POST /api/v1/waybills HTTP/1.1\r\nHost: " + host +
         "\r\nContent-Type: application/x-ndjson\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

inline std::string tempDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("xb-verdict-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline std::unique_ptr<evidence::Log> makeLog(const std::string& dir) {
  evidence::LogOptions o;
  o.dir = dir;
  o.origin = "test.xborder/verdict";
  auto log = evidence::Log::create(o);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

inline std::vector<evidence::v1::EvidenceRecord> readAll(const evidence::Log& log) {
  std::vector<evidence::v1::EvidenceRecord> out;
  for (uint64_t i = 0; i < log.size(); ++i) {
    auto bytes = log.readRecord(i);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    if (!bytes.ok()) continue;
    evidence::v1::EvidenceRecord r;
    EXPECT_TRUE(r.ParseFromString(*bytes));
    out.push_back(std::move(r));
  }
  return out;
}

inline std::string hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : bytes) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

// SplitMix64 (Steele, Lea, Flood): a reproducible stream of test values.
inline uint64_t splitmix(uint64_t* s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// 2026-01-01 12:00 UTC: a day the sample list's filings are in force.
inline constexpr uint64_t kNewYearNoon = 1767268800ull * 1000000000ull;

// A TCP flow fed to the policy directly, as the engine would (views, sequence numbers).
struct Flow {
  uint8_t cli[16] = {}, srv[16] = {};
  uint32_t seq[2] = {100, 5000};
  dp::FlowView v;
  Flow(uint32_t c, uint32_t s, uint16_t cport, uint32_t index) {
    for (int i = 0; i < 4; ++i) {
      cli[i] = static_cast<uint8_t>(c >> (24 - 8 * i));
      srv[i] = static_cast<uint8_t>(s >> (24 - 8 * i));
    }
    v.flow_index = index;
    v.flow_gen = 1;
    v.client_ip = cli;
    v.server_ip = srv;
    v.proto = 6;
    v.client_port = cport;
    v.server_port = 80;
    v.first_ns = kNewYearNoon;
  }
  dp::PolicyAction send(dp::RulesPolicy& p, uint8_t dir, std::string_view payload, uint64_t t) {
    ++v.pkts[dir];
    v.bytes[dir] += 54 + payload.size();
    v.now_ns = kNewYearNoon + t;
    dp::PacketView pv;
    pv.dir = dir;
    pv.payload = reinterpret_cast<const uint8_t*>(payload.data());
    pv.payload_len = static_cast<uint32_t>(payload.size());
    pv.tcp = true;
    pv.has_seq = true;
    pv.tcp_seq = seq[dir];
    seq[dir] += static_cast<uint32_t>(payload.size());
    return p.onPacket(v, pv);
  }
  void classifyHttp() {
    v.classified = true;
    v.app = "HTTP";
    v.app_proto = "http";
    v.host = "upload.example.invalid";
  }
};

}  // namespace xborder::verdict_test
