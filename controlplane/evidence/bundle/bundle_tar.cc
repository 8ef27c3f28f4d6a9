#include "controlplane/evidence/bundle/bundle_tar.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"

namespace xborder::evidence::bundle {
namespace {

constexpr size_t kBlock = 512;

void putOctal(char* field, size_t width, uint64_t value) {
  // width-1 octal digits and a NUL, zero padded: the classic ustar layout.
  std::string digits(width - 1, '0');
  for (size_t i = width - 1; i-- > 0 && value != 0;) {
    digits[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

absl::StatusOr<uint64_t> getOctal(const char* field, size_t width) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (v > (UINT64_MAX >> 3)) return absl::InvalidArgumentError("octal field overflows");
    v = (v << 3) | static_cast<uint64_t>(field[i] - '0');
    any = true;
  }
  for (; i < width; ++i) {
    if (field[i] != '\0' && field[i] != ' ') return absl::InvalidArgumentError("bad octal field");
  }
  if (!any) return absl::InvalidArgumentError("empty octal field");
  return v;
}

uint32_t headerChecksum(const unsigned char* h) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum;
}

std::string fieldString(const char* f, size_t width) {
  size_t n = 0;
  while (n < width && f[n] != '\0') ++n;
  return std::string(f, n);
}

}  // namespace

absl::StatusOr<std::string> writeTar(std::vector<TarEntry> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TarEntry& a, const TarEntry& b) { return a.path < b.path; });
  std::string out;
  for (const TarEntry& e : entries) {
    char h[kBlock];
    std::memset(h, 0, sizeof(h));
    std::string name = e.path, prefix;
    if (name.size() > 100) {
      // Split at a '/' so the name fits in 100 and the prefix in 155.
      size_t cut = name.rfind('/', name.size() - 1);
      while (cut != std::string::npos && name.size() - cut - 1 > 100) cut = std::string::npos;
      if (cut == std::string::npos || cut > 155) {
        return absl::InvalidArgumentError(absl::StrCat("tar: path too long: ", e.path));
      }
      prefix = name.substr(0, cut);
      name = name.substr(cut + 1);
    }
    if (e.link.size() > 100) return absl::InvalidArgumentError("tar: link target too long");
    std::memcpy(h, name.data(), name.size());
    putOctal(h + 100, 8, e.type == '5' ? 0755 : 0644);
    putOctal(h + 108, 8, 0);
    putOctal(h + 116, 8, 0);
    putOctal(h + 124, 12, e.type == '0' ? e.data.size() : 0);
    putOctal(h + 136, 12, 0);
    h[156] = e.type;
    std::memcpy(h + 157, e.link.data(), e.link.size());
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memcpy(h + 265, "root", 4);
    std::memcpy(h + 297, "root", 4);
    std::memcpy(h + 345, prefix.data(), prefix.size());
    uint32_t sum = headerChecksum(reinterpret_cast<unsigned char*>(h));
    putOctal(h + 148, 7, sum);
    h[155] = ' ';
    out.append(h, kBlock);
    if (e.type == '0') {
      out.append(e.data);
      out.append((kBlock - e.data.size() % kBlock) % kBlock, '\0');
    }
  }
  out.append(2 * kBlock, '\0');
  return out;
}

absl::StatusOr<std::vector<TarView>> readTarViews(std::string_view archive) {
  std::vector<TarView> entries;
  size_t off = 0;
  while (true) {
    if (off + kBlock > archive.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tar: archive truncated at byte ", off, " (no end-of-archive marker)"));
    }
    const auto* h = reinterpret_cast<const unsigned char*>(archive.data() + off);
    if (std::all_of(h, h + kBlock, [](unsigned char c) { return c == 0; })) break;
    const char* hc = reinterpret_cast<const char*>(h);
    auto stored = getOctal(hc + 148, 8);
    if (!stored.ok() || *stored != headerChecksum(h)) {
      return absl::InvalidArgumentError(absl::StrCat("tar: bad header checksum at byte ", off));
    }
    if (std::memcmp(hc + 257, "ustar", 5) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("tar: not a ustar header at byte ", off));
    }
    auto size = getOctal(hc + 124, 12);
    if (!size.ok()) return absl::InvalidArgumentError(absl::StrCat("tar: bad size at byte ", off));
    TarView e;
    std::string name = fieldString(hc, 100), prefix = fieldString(hc + 345, 155);
    e.path = prefix.empty() ? name : absl::StrCat(prefix, "/", name);
    e.type = hc[156] == '\0' ? '0' : hc[156];
    e.link = fieldString(hc + 157, 100);
    off += kBlock;
    if (*size > archive.size() - off) {
      return absl::InvalidArgumentError(absl::StrCat("tar: entry '", e.path, "' truncated"));
    }
    // Only regular files carry data we keep; other types' data is skipped but bounded.
    if (e.type == '0' || e.type == '7') e.data = archive.substr(off, *size);
    off += (*size + kBlock - 1) / kBlock * kBlock;
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::StatusOr<std::vector<TarEntry>> readTar(std::string_view archive) {
  auto views = readTarViews(archive);
  if (!views.ok()) return views.status();
  std::vector<TarEntry> entries;
  entries.reserve(views->size());
  for (auto& v : *views) entries.push_back({std::move(v.path), std::string(v.data), v.type, std::move(v.link)});
  return entries;
}

std::vector<HygieneProblem> checkHygiene(const std::vector<TarEntry>& entries) {
  std::vector<TarView> views;
  views.reserve(entries.size());
  for (const TarEntry& e : entries) views.push_back({e.path, e.data, e.type, e.link});
  return checkHygiene(views);
}

std::vector<HygieneProblem> checkHygiene(const std::vector<TarView>& entries) {
  std::vector<HygieneProblem> problems;
  std::set<std::string> seen;
  for (const TarView& e : entries) {
    std::string_view p = e.path;
    auto bad = [&](std::string reason) { problems.push_back({e.path, std::move(reason)}); };
    if (e.type != '0' && e.type != '5') {
      bad(e.type == '2' ? absl::StrCat("symlink to '", e.link, "'")
          : e.type == '1' ? absl::StrCat("hardlink to '", e.link, "'")
                          : absl::StrCat("unsupported entry type '", std::string(1, e.type), "'"));
      continue;
    }
    if (p.empty()) { bad("empty path"); continue; }
    if (p.front() == '/') { bad("absolute path"); continue; }
    if (std::any_of(p.begin(), p.end(), [](char c) {
          return c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        })) {
      bad("backslash or control character in path");
      continue;
    }
    std::string_view trimmed = p;
    if (e.type == '5' && trimmed.back() == '/') trimmed.remove_suffix(1);
    bool comp_bad = false;
    for (size_t start = 0; start <= trimmed.size();) {
      size_t slash = trimmed.find('/', start);
      if (slash == std::string_view::npos) slash = trimmed.size();
      std::string_view c = trimmed.substr(start, slash - start);
      if (c == "..") { bad("path contains '..'"); comp_bad = true; break; }
      if (c.empty() || c == ".") { bad("empty or '.' path component"); comp_bad = true; break; }
      start = slash + 1;
    }
    if (comp_bad) continue;
    if (!seen.insert(std::string(trimmed)).second) bad("duplicate entry");
  }
  return problems;
}

}  // namespace xborder::evidence::bundle
