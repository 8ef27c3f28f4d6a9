#include "controlplane/evidence/bundle/bundle_digest.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"

namespace xborder::evidence::bundle {
namespace {

std::string digestWith(const char* name, std::string_view data) {
  // EVP_MD_fetch once per algorithm: the implicit fetch in EVP_Digest is slow on 3.0.
  static EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* sm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
  const EVP_MD* md = name[1] == 'H' ? sha : sm3;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) {
    // Only possible if the OpenSSL default provider is missing: nothing can be trusted.
    return std::string();
  }
  return std::string(reinterpret_cast<char*>(out), n);
}

}  // namespace

std::string sha256Bytes(std::string_view data) { return digestWith("SHA256", data); }
std::string sm3Bytes(std::string_view data) { return digestWith("SM3", data); }

std::string toHex(std::string_view raw) { return absl::BytesToHexString(absl::string_view(raw.data(), raw.size())); }
std::string toBase64(std::string_view raw) { return absl::Base64Escape(absl::string_view(raw.data(), raw.size())); }

absl::StatusOr<std::string> fromBase64Strict(std::string_view text) {
  std::string out;
  if (text.empty() || text.size() % 4 != 0 || !absl::Base64Unescape(absl::string_view(text.data(), text.size()), &out) ||
      absl::Base64Escape(out) != text) {
    return absl::InvalidArgumentError("non-canonical base64");
  }
  return out;
}

}  // namespace xborder::evidence::bundle
