#pragma once
// A deterministic ustar writer and a strict reader for evidence bundles.
//
// Written by hand rather than with libarchive: the bundle must be byte-identical for
// the same input (sorted names, mtime 0, uid/gid 0, fixed modes, no pax headers), and
// the reader must report every hostile entry (symlinks, '..', duplicates) instead of
// resolving or skipping it. ustar is 512-byte blocks, so the code stays small.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace xborder::evidence::bundle {

struct TarEntry {
  std::string path;   // '/'-separated, as stored
  std::string data;   // file content (empty for non-regular entries)
  char type = '0';    // ustar typeflag: '0' file, '5' dir, '2' symlink, '1' hardlink, ...
  std::string link;   // link target for '1'/'2'
};

// Writes entries sorted by path with mtime 0, uid/gid 0, mode 0644 (0755 for dirs).
// Fails on a path longer than ustar can hold. Entries are written as given otherwise
// (tests use this to build hostile archives).
absl::StatusOr<std::string> writeTar(std::vector<TarEntry> entries);

// One entry as read: `data` points into the archive passed to readTarViews, so the
// verifier reads a 3 GB bundle without copying it (the archive must outlive the views).
struct TarView {
  std::string path;
  std::string_view data;  // file content (empty for non-regular entries)
  char type = '0';
  std::string link;
};

// Parses every header (checksum, magic, octal fields) and returns the entries in
// archive order. Structural damage (bad checksum, truncated data) is an error; policy
// (which types and paths are allowed) is checkHygiene's job.
absl::StatusOr<std::vector<TarView>> readTarViews(std::string_view archive);
// The same, with each file's bytes copied out (tests and tools that edit bundles).
absl::StatusOr<std::vector<TarEntry>> readTar(std::string_view archive);

struct HygieneProblem {
  std::string path;
  std::string reason;
};

// EVIDENCE.md §5.2 step 1: absolute paths, '..', empty or '.' components, backslashes,
// control characters, links, devices, anything but regular files and directories,
// and duplicate names.
std::vector<HygieneProblem> checkHygiene(const std::vector<TarView>& entries);
std::vector<HygieneProblem> checkHygiene(const std::vector<TarEntry>& entries);

}  // namespace xborder::evidence::bundle
