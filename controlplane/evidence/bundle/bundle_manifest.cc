#include "controlplane/evidence/bundle/bundle_manifest.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"

namespace xborder::evidence::bundle {
namespace {

std::string toJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  // Printing a well-formed message cannot fail; an empty result would fail verification.
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

template <typename M>
absl::StatusOr<M> fromJson(std::string_view json, const char* what) {
  M m;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &m, o);
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", std::string(st.message())));
  }
  return m;
}

}  // namespace

std::string manifestToJson(const v1::Manifest& m) { return toJson(m); }

absl::StatusOr<v1::Manifest> manifestFromJson(std::string_view json) {
  return fromJson<v1::Manifest>(json, "MANIFEST.json");
}

std::string manifestNoteBody(std::string_view manifest_json) {
  return absl::StrCat(av(kBundleFormat), "\n", toBase64(sha256Bytes(manifest_json)), "\n",
                      toBase64(sm3Bytes(manifest_json)), "\n");
}

void setManifestFiles(v1::Manifest& m, const std::map<std::string, std::string>& files) {
  m.clear_files();
  for (const auto& [path, data] : files) {
    v1::ManifestFile* f = m.add_files();
    f->set_path(path);
    f->set_size(data.size());
    f->set_sha256(toHex(sha256Bytes(data)));
    f->set_sm3(toHex(sm3Bytes(data)));
  }
}

absl::StatusOr<v1::TrustFile> trustFromJson(std::string_view json) {
  return fromJson<v1::TrustFile>(json, "trust file");
}

std::string trustToJson(const v1::TrustFile& t) { return toJson(t); }

}  // namespace xborder::evidence::bundle
