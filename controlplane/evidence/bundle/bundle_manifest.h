#pragma once
// MANIFEST.json (protobuf JSON mapping of bundle.proto's Manifest) and the body of
// MANIFEST.sig, a signed note over both digests of the manifest's exact bytes.

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/bundle/bundle.pb.h"

namespace xborder::evidence::bundle {

inline constexpr std::string_view kBundleFormat = "evb/1";

// Deterministic: fields in proto order, two-space indent, trailing newline.
std::string manifestToJson(const v1::Manifest& m);
// Unknown fields are an error (a newer format must not be half-understood).
absl::StatusOr<v1::Manifest> manifestFromJson(std::string_view json);
// "evb/1\n<b64 sha256(json)>\n<b64 sm3(json)>\n"
std::string manifestNoteBody(std::string_view manifest_json);

// Fills files[] with size, sha256 and sm3 of every file, sorted by path.
void setManifestFiles(v1::Manifest& m, const std::map<std::string, std::string>& files);

absl::StatusOr<v1::TrustFile> trustFromJson(std::string_view json);
std::string trustToJson(const v1::TrustFile& t);

}  // namespace xborder::evidence::bundle
