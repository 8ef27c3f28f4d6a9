#include "controlplane/evidence/bundle/bundle_proof_files.h"

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"

namespace xborder::evidence::bundle {
namespace {

// Splits off one '\n'-terminated line; fails if there is no newline.
bool nextLine(std::string_view& rest, std::string_view& line) {
  size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) return false;
  line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return true;
}

absl::StatusOr<std::string> parseHashLine(std::string_view line) {
  auto raw = fromBase64Strict(line);
  if (!raw.ok() || raw->size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("bad hash line '", av(line.substr(0, 60)), "'"));
  }
  return *raw;
}

absl::StatusOr<uint64_t> parseKeyed(std::string_view line, std::string_view key) {
  if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ') {
    return absl::InvalidArgumentError(absl::StrCat("expected '", av(key), " <n>' line"));
  }
  return parseDecimal(line.substr(key.size() + 1));
}

// Hash lines until an empty line (consumed) or the end of text.
absl::StatusOr<std::vector<std::string>> parseHashes(std::string_view& rest, bool until_blank) {
  std::vector<std::string> out;
  while (!rest.empty()) {
    std::string_view line;
    if (!nextLine(rest, line)) return absl::InvalidArgumentError("missing final newline");
    if (line.empty()) {
      if (until_blank) return out;
      return absl::InvalidArgumentError("unexpected empty line");
    }
    if (out.size() >= kMaxProofHashes) return absl::InvalidArgumentError("too many proof hashes");
    auto h = parseHashLine(line);
    if (!h.ok()) return h.status();
    out.push_back(*std::move(h));
  }
  if (until_blank) return absl::InvalidArgumentError("missing blank line before checkpoint");
  return out;
}

}  // namespace

absl::StatusOr<uint64_t> parseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) {
    return absl::InvalidArgumentError(absl::StrCat("bad decimal '", av(s.substr(0, 24)), "'"));
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return absl::InvalidArgumentError("bad decimal");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return absl::InvalidArgumentError("decimal overflows");
    v = v * 10 + d;
  }
  return v;
}

std::string formatTlogProof(const TlogProof& p) {
  std::string out = absl::StrCat(av(kTlogProofHeader), "\n");
  if (!p.extra.empty()) absl::StrAppend(&out, "extra ", toBase64(p.extra), "\n");
  absl::StrAppend(&out, "index ", p.index, "\n");
  for (const auto& h : p.hashes) absl::StrAppend(&out, toBase64(h), "\n");
  absl::StrAppend(&out, "\n", p.checkpoint);
  return out;
}

absl::StatusOr<TlogProof> parseTlogProof(std::string_view text) {
  TlogProof p;
  std::string_view rest = text, line;
  if (!nextLine(rest, line) || line != kTlogProofHeader) {
    return absl::InvalidArgumentError("tlog-proof: missing 'c2sp.org/tlog-proof@v1' header");
  }
  if (!nextLine(rest, line)) return absl::InvalidArgumentError("tlog-proof: truncated");
  if (line.starts_with("extra ")) {
    auto e = fromBase64Strict(line.substr(6));
    if (!e.ok() || e->empty()) return absl::InvalidArgumentError("tlog-proof: bad extra line");
    p.extra = *e;
    if (!nextLine(rest, line)) return absl::InvalidArgumentError("tlog-proof: truncated");
  }
  auto idx = parseKeyed(line, "index");
  if (!idx.ok()) return absl::InvalidArgumentError(absl::StrCat("tlog-proof: ", idx.status().message()));
  p.index = *idx;
  auto hs = parseHashes(rest, /*until_blank=*/true);
  if (!hs.ok()) return absl::InvalidArgumentError(absl::StrCat("tlog-proof: ", hs.status().message()));
  p.hashes = *std::move(hs);
  if (rest.empty()) return absl::InvalidArgumentError("tlog-proof: missing checkpoint");
  p.checkpoint = std::string(rest);
  return p;
}

std::string formatConsistency(const ConsistencyFile& c) {
  std::string out = absl::StrCat("old ", c.old_size, "\nnew ", c.new_size, "\n");
  for (const auto& h : c.hashes) absl::StrAppend(&out, toBase64(h), "\n");
  return out;
}

absl::StatusOr<ConsistencyFile> parseConsistency(std::string_view text) {
  ConsistencyFile c;
  std::string_view rest = text, line;
  if (!nextLine(rest, line)) return absl::InvalidArgumentError("consistency: truncated");
  auto a = parseKeyed(line, "old");
  if (!a.ok()) return a.status();
  if (!nextLine(rest, line)) return absl::InvalidArgumentError("consistency: truncated");
  auto b = parseKeyed(line, "new");
  if (!b.ok()) return b.status();
  auto hs = parseHashes(rest, /*until_blank=*/false);
  if (!hs.ok()) return hs.status();
  c.old_size = *a;
  c.new_size = *b;
  c.hashes = *std::move(hs);
  return c;
}

std::string formatCompact(const CompactFile& c) {
  std::string out = absl::StrCat("size ", c.size, "\n");
  for (const auto& h : c.hashes) absl::StrAppend(&out, toBase64(h), "\n");
  return out;
}

absl::StatusOr<CompactFile> parseCompact(std::string_view text) {
  CompactFile c;
  std::string_view rest = text, line;
  if (!nextLine(rest, line)) return absl::InvalidArgumentError("compact range: truncated");
  auto n = parseKeyed(line, "size");
  if (!n.ok()) return n.status();
  auto hs = parseHashes(rest, /*until_blank=*/false);
  if (!hs.ok()) return hs.status();
  c.size = *n;
  c.hashes = *std::move(hs);
  return c;
}

}  // namespace xborder::evidence::bundle
