#include "controlplane/evidence/verify/verify_report.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace xborder::evidence::verify {
namespace {

std::string esc(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// Hex grouped by 4 so a reader can compare it by eye (§5.3).
std::string grouped(std::string_view hex) {
  std::string o;
  for (size_t i = 0; i < hex.size(); i += 4) {
    if (i) o += ' ';
    o += hex.substr(i, 4);
  }
  return o;
}

struct Labels {
  const char* lang; const char* title; const char* verdict; const char* identity;
  const char* origin; const char* hash; const char* range; const char* created;
  const char* generator; const char* cert_subject; const char* cert_fp; const char* manifest;
  const char* counts; const char* dimension; const char* key; const char* count;
  const char* checkpoints; const char* size; const char* root; const char* sigs;
  const char* tsa_time; const char* tsa_name; const char* status; const char* checks;
  const char* step; const char* check; const char* location; const char* detail;
  const char* cited; const char* index; const char* type; const char* summary;
  const char* proof_hash; const char* files; const char* path; const char* anomalies;
  const char* records; const char* custody; const char* custody_text; const char* none;
  const char* flows; const char* flows_ended; const char* flows_open;
};

constexpr Labels kZh = {
    "zh-CN", "跨境数据存证包核验报告", "核验结论", "身份信息",
    "日志标识 (origin)", "哈希算法", "记录范围", "导出时间",
    "生成程序", "设备证书主题", "设备证书指纹", "清单 MANIFEST.json 完整性校验值",
    "统计", "维度", "取值", "数量",
    "检查点", "树大小", "根哈希", "有效签名",
    "可信时间 (TSA genTime)", "时间戳机构", "状态", "核验步骤",
    "步骤", "检查项", "位置", "说明",
    "引用记录", "序号", "类型", "摘要",
    "证明文件 SHA-256", "文件清单", "路径", "异常与告警",
    "记录数", "提取笔录", "本报告由离线核验程序根据监管方信任锚生成；信任锚来自监管方备案文件，不取自存证包。", "无",
    "数据流", "已结束（有结束记录）", "未结束（包内无结束记录）"};

constexpr Labels kEn = {
    "en", "Cross-border evidence bundle verification report", "Verdict", "Identity",
    "Log origin", "Hash algorithm", "Record range", "Exported at",
    "Generator", "Appliance certificate subject", "Appliance certificate fingerprint",
    "MANIFEST.json integrity values",
    "Counts", "Dimension", "Value", "Count",
    "Checkpoints", "Tree size", "Root hash", "Verified signatures",
    "Trusted time (TSA genTime)", "TSA", "Status", "Verification steps",
    "Step", "Check", "Location", "Detail",
    "Cited records", "Index", "Type", "Summary",
    "Proof file SHA-256", "Files", "Path", "Anomalies and alarms",
    "Records", "Extraction record", "Generated offline from the regulator's trust anchors; no trust anchor was taken from the bundle.", "none",
    "Flows", "ended (final record)", "open (no final record in the bundle)"};

std::string statusName(v1::Status s, Lang lang) {
  bool zh = lang == Lang::kZh;
  switch (s) {
    case v1::PASS: return zh ? "通过 PASS" : "PASS";
    case v1::FAIL: return zh ? "失败 FAIL" : "FAIL";
    case v1::UNVERIFIABLE: return zh ? "无法核验 UNVERIFIABLE" : "UNVERIFIABLE";
    case v1::SKIPPED: return zh ? "未执行 SKIPPED" : "SKIPPED";
    case v1::WARN: return zh ? "警告 WARN" : "WARN";
    default: return "?";
  }
}

std::string verdictText(const std::string& v, Lang lang) {
  if (lang == Lang::kEn) return v;
  if (v == "VERIFIED") return "核验通过 (VERIFIED)";
  if (v == "TAMPERED") return "检出篡改或无效 (TAMPERED)";
  if (v == "UNVERIFIABLE") return "不完整，无法核验 (UNVERIFIABLE)";
  return "错误 (" + v + ")";
}

std::string dimensionName(const std::string& d, Lang lang) {
  if (lang == Lang::kEn) return d;
  if (d == "tenant") return "租户 tenant";
  if (d == "dst_country") return "目的国家/地区 dst_country";
  if (d == "data_category") return "负面清单条目 data_category";
  if (d == "policy_decision") return "处置决定 policy_decision";
  if (d == "type") return "记录类型 type";
  return d;
}

void row(std::string& o, std::initializer_list<std::string> cells) {
  o += "<tr>";
  for (const auto& c : cells) absl::StrAppend(&o, "<td>", c, "</td>");
  o += "</tr>\n";
}
void head(std::string& o, std::initializer_list<const char*> cells) {
  o += "<tr>";
  for (const char* c : cells) absl::StrAppend(&o, "<th>", c, "</th>");
  o += "</tr>\n";
}

}  // namespace

std::string renderReport(const v1::Result& r, Lang lang) {
  const Labels& L = lang == Lang::kZh ? kZh : kEn;
  const auto& id = r.identity();
  std::string o;
  absl::StrAppend(&o, "<!DOCTYPE html>\n<html lang=\"", L.lang,
                  "\"><head><meta charset=\"utf-8\"><title>", L.title,
                  "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
                  "collapse;margin-bottom:1.5em}td,th{border:1px solid #888;padding:3px 6px;"
                  "font-size:90%}code{font-family:monospace}.FAIL{color:#b00}.PASS{color:#070}"
                  "</style></head><body>\n<h1>", L.title, "</h1>\n");
  absl::StrAppend(&o, "<p><b>", L.verdict, ":</b> <span class=\"", esc(r.verdict()), "\">",
                  esc(verdictText(r.verdict(), lang)), "</span> (exit ", r.exit_code(), ")</p>\n");

  absl::StrAppend(&o, "<h2>", L.identity, "</h2>\n<table>\n");
  row(o, {L.origin, "<code>" + esc(id.origin()) + "</code>"});
  row(o, {L.hash, esc(id.hash())});
  row(o, {L.range, absl::StrCat("[", id.range_from(), ", ", id.range_to(), ")")});
  row(o, {L.records, absl::StrCat(r.records())});
  row(o, {L.flows, absl::StrCat(r.flows(), " ", L.flows_ended, "<br>", r.flows_open(), " ", L.flows_open)});
  row(o, {L.created, esc(id.created_at())});
  row(o, {L.generator, esc(id.generator())});
  row(o, {L.cert_subject, esc(id.cert_subject().empty() ? L.none : id.cert_subject())});
  row(o, {L.cert_fp, "SHA-256 <code>" + esc(grouped(id.cert_sha256())) + "</code><br>SM3 <code>" +
                         esc(grouped(id.cert_sm3())) + "</code>"});
  row(o, {L.manifest, "SHA-256 <code>" + esc(id.manifest_sha256()) + "</code><br>SM3 <code>" +
                          esc(id.manifest_sm3()) + "</code>"});
  o += "</table>\n";

  absl::StrAppend(&o, "<h2>", L.checks, "</h2>\n<table>\n");
  head(o, {L.step, L.check, L.status, L.location, L.detail});
  for (const auto& c : r.checks()) {
    row(o, {absl::StrCat(c.step()), esc(c.id()),
            absl::StrCat("<span class=\"", v1::Status_Name(c.status()), "\">",
                         statusName(c.status(), lang), "</span>"),
            esc(c.location()), esc(c.detail())});
  }
  o += "</table>\n";

  absl::StrAppend(&o, "<h2>", L.counts, "</h2>\n<table>\n");
  head(o, {L.dimension, L.key, L.count});
  for (const auto& c : r.counts()) {
    row(o, {esc(dimensionName(c.dimension(), lang)), esc(c.key()), absl::StrCat(c.count())});
  }
  o += "</table>\n";

  absl::StrAppend(&o, "<h2>", L.checkpoints, "</h2>\n<table>\n");
  head(o, {L.size, L.root, L.sigs, L.tsa_time, L.tsa_name, L.status});
  for (const auto& c : r.checkpoints()) {
    std::string sigs;
    for (const auto& s : c.signatures()) absl::StrAppend(&sigs, sigs.empty() ? "" : "<br>", esc(s));
    row(o, {absl::StrCat(c.size()), "<code>" + esc(grouped(c.root_hex())) + "</code>", sigs,
            esc(c.tsa_gen_time()), esc(c.tsa_name()), esc(c.status())});
  }
  o += "</table>\n";

  absl::StrAppend(&o, "<h2>", L.cited, "</h2>\n<table>\n");
  head(o, {L.index, L.type, L.summary, L.proof_hash, L.status});
  for (const auto& c : r.cited()) {
    row(o, {absl::StrCat(c.index()), esc(c.type()), esc(c.summary()),
            "<code>" + esc(c.proof_sha256()) + "</code>", esc(c.status())});
  }
  o += "</table>\n";

  absl::StrAppend(&o, "<h2>", L.anomalies, "</h2>\n<ul>\n");
  if (r.anomalies().empty()) absl::StrAppend(&o, "<li>", L.none, "</li>\n");
  for (const auto& a : r.anomalies()) absl::StrAppend(&o, "<li>", esc(a), "</li>\n");
  o += "</ul>\n";

  absl::StrAppend(&o, "<h2>", L.files, "</h2>\n<table>\n");
  head(o, {L.path, L.size, "SHA-256", "SM3"});
  for (const auto& f : r.files()) {
    row(o, {esc(f.path()), absl::StrCat(f.size()), "<code>" + esc(f.sha256()) + "</code>",
            "<code>" + esc(f.sm3()) + "</code>"});
  }
  o += "</table>\n";
  absl::StrAppend(&o, "<h2>", L.custody, "</h2>\n<p>", L.custody_text, "</p>\n</body></html>\n");
  return o;
}

absl::Status writeReports(const v1::Result& r, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  for (auto [lang, name] : {std::pair{Lang::kZh, "report.zh.html"}, std::pair{Lang::kEn, "report.en.html"}}) {
    std::string path = dir + "/" + name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << renderReport(r, lang);
    f.close();
    if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace xborder::evidence::verify
