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

}  // namespace xborder::verdict_test
