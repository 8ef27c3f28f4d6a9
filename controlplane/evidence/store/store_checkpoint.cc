#include "controlplane/evidence/store/store_checkpoint.h"

#include <openssl/evp.h>

#include <charconv>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace xborder::evidence {
namespace {

// Splits into "\n"-terminated lines; false if the text does not end in "\n".
bool splitLines(std::string_view text, std::vector<std::string_view>& lines) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return true;
}

bool parseDecimal(std::string_view s, uint64_t& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool validOrigin(std::string_view origin) {
  if (origin.empty() || origin.size() > 255) return false;
  for (char c : origin) {
    if (c <= ' ' || c > '~' || c == '+') return false;
  }
  return true;
}

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

absl::StatusOr<std::string> base64DecodeStrict(std::string_view text) {
  if (text.size() % 4 != 0) return absl::InvalidArgumentError("base64 length not a multiple of 4");
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) {
      return absl::InvalidArgumentError("invalid base64 character");
    }
  }
  std::string out(3 * (text.size() / 4) + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return absl::InvalidArgumentError("invalid base64");
  size_t len = static_cast<size_t>(n);
  if (!text.empty() && text.back() == '=') --len;  // EVP_DecodeBlock counts padding as zeros
  if (text.size() > 1 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  if (base64Encode(out) != text) return absl::InvalidArgumentError("non-canonical base64");
  return out;
}

std::string formatCheckpointBody(const CheckpointBody& body) {
  return absl::StrCat(body.origin, "\n", body.size, "\n",
                      base64Encode(std::string_view(reinterpret_cast<const char*>(body.root.data()),
                                                    body.root.size())),
                      "\n");
}

absl::StatusOr<CheckpointBody> parseCheckpointBody(std::string_view body) {
  std::vector<std::string_view> lines;
  if (!splitLines(body, lines)) return absl::InvalidArgumentError("checkpoint does not end in a newline");
  if (lines.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint has ", lines.size(), " lines, want 3"));
  }
  CheckpointBody out;
  if (!validOrigin(lines[0])) return absl::InvalidArgumentError("checkpoint origin line is invalid");
  out.origin = std::string(lines[0]);
  if (!parseDecimal(lines[1], out.size)) {
    return absl::InvalidArgumentError("checkpoint size is not a canonical decimal");
  }
  auto root = base64DecodeStrict(lines[2]);
  if (!root.ok()) return absl::InvalidArgumentError("checkpoint root: " + std::string(root.status().message()));
  auto h = hashFromBytes(*root);
  if (!h) return absl::InvalidArgumentError("checkpoint root is not 32 bytes");
  out.root = *h;
  return out;
}

absl::StatusOr<std::string_view> noteBody(std::string_view note) {
  const size_t blank = note.find("\n\n");
  if (blank == std::string_view::npos) return absl::InvalidArgumentError("note has no signature block");
  return note.substr(0, blank + 1);
}

std::string formatLogMeta(const LogMeta& meta) {
  return absl::StrCat("xborder-evidence-log 1\norigin ", meta.origin, "\nhash ",
                      std::string(hashAlgName(meta.hash)), "\nsegment_bytes ", meta.segmentBytes,
                      "\n");
}

absl::StatusOr<LogMeta> parseLogMeta(std::string_view text) {
  std::vector<std::string_view> lines;
  if (!splitLines(text, lines) || lines.size() != 4 || lines[0] != "xborder-evidence-log 1") {
    return absl::DataLossError("LOG file is not an xborder evidence log description");
  }
  auto value = [&](size_t i, std::string_view key) -> std::optional<std::string_view> {
    if (lines[i].substr(0, key.size() + 1) != absl::StrCat(std::string(key), " ")) return std::nullopt;
    return lines[i].substr(key.size() + 1);
  };
  LogMeta meta;
  auto origin = value(1, "origin");
  auto hash = value(2, "hash");
  auto seg = value(3, "segment_bytes");
  if (!origin || !validOrigin(*origin) || !hash || !seg) {
    return absl::DataLossError("LOG file has a malformed line");
  }
  meta.origin = std::string(*origin);
  auto alg = parseHashAlg(*hash);
  if (!alg) return absl::DataLossError("LOG file names an unknown hash");
  meta.hash = *alg;
  if (!parseDecimal(*seg, meta.segmentBytes) || meta.segmentBytes < 4096) {
    return absl::DataLossError("LOG file segment_bytes is invalid");
  }
  return meta;
}

}  // namespace xborder::evidence
