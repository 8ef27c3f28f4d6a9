#pragma once
// Small helpers for the evidence-core tests: hex/base64 decoding and a reader for the
// flat JSON probe files of transparency-dev/merkle (numbers up to 2^64-1, so a
// double-based JSON library would lose precision).
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <stdlib.h>

namespace xborder::evidence::testing {

inline std::string hexDecode(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

inline std::optional<std::string> base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      if (in[i + j] == '=') {
        v[j] = 0;
        ++pad;
      } else {
        v[j] = val(in[i + j]);
        if (v[j] < 0) return std::nullopt;
      }
    }
    const uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

inline std::string base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], kAlphabet[n & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t n = uint8_t(in[i]) << 16;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

// One flat JSON object whose values are strings, unsigned integers, booleans, null,
// or arrays of strings.
struct ProbeJson {
  std::map<std::string, std::string> strings;
  std::map<std::string, uint64_t> numbers;
  std::map<std::string, bool> bools;
  std::map<std::string, std::vector<std::string>> arrays;  // null is an empty array
};

inline std::optional<ProbeJson> parseProbeJson(const std::string& text) {
  ProbeJson out;
  size_t i = 0;
  auto ws = [&] { while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
  auto str = [&]() -> std::optional<std::string> {
    ws();
    if (i >= text.size() || text[i] != '"') return std::nullopt;
    const size_t end = text.find('"', i + 1);  // probe strings hold no escapes
    if (end == std::string::npos) return std::nullopt;
    std::string s = text.substr(i + 1, end - i - 1);
    i = end + 1;
    return s;
  };
  ws();
  if (i >= text.size() || text[i++] != '{') return std::nullopt;
  while (true) {
    ws();
    if (text[i] == '}') break;
    auto key = str();
    if (!key) return std::nullopt;
    ws();
    if (text[i++] != ':') return std::nullopt;
    ws();
    if (text[i] == '"') {
      out.strings[*key] = *str();
    } else if (text.compare(i, 4, "true") == 0) {
      out.bools[*key] = true;
      i += 4;
    } else if (text.compare(i, 5, "false") == 0) {
      out.bools[*key] = false;
      i += 5;
    } else if (text.compare(i, 4, "null") == 0) {
      out.arrays[*key] = {};
      i += 4;
    } else if (text[i] == '[') {
      ++i;
      std::vector<std::string> items;
      ws();
      while (text[i] != ']') {
        auto s = str();
        if (!s) return std::nullopt;
        items.push_back(*s);
        ws();
        if (text[i] == ',') ++i;
        ws();
      }
      ++i;
      out.arrays[*key] = items;
    } else {
      size_t end = i;
      while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
      if (end == i) return std::nullopt;
      out.numbers[*key] = std::stoull(text.substr(i, end - i));
      i = end;
    }
    ws();
    if (text[i] == ',') ++i;
  }
  return out;
}

inline std::string readWholeFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ../shared as the build passes it (XB_SHARED_DIR), or empty if absent.
inline std::filesystem::path sharedDir() {
  const char* env = std::getenv("XB_SHARED_DIR");
  std::filesystem::path p = env ? env : "";
  if (p.empty() || !std::filesystem::is_directory(p)) return {};
  return p;
}

}  // namespace xborder::evidence::testing

namespace xborder::evidence::testing {

// A fresh directory under $TMPDIR (or /tmp), removed at scope exit.
class ScopedTempDir {
 public:
  ScopedTempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/evcore-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~ScopedTempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace xborder::evidence::testing
