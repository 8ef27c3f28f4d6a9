#pragma once
// A stand-in note signer for store tests (the real Ed25519/SM2 signers live in
// evidence/crypto): signature line "— test-signer <base64(HMAC-SHA256(key, body))>".
#include <openssl/hmac.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/store/store_checkpoint.h"
#include "controlplane/evidence/store/store_log.h"

namespace xborder::evidence::testing {

inline std::string testMac(std::string_view key, std::string_view body) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

inline NoteSigner testSigner(std::string key = "test-key") {
  return [key](std::string_view body) -> absl::StatusOr<std::string> {
    return std::string(body) + "\n\u2014 test-signer " + testMac(key, body) + "\n";
  };
}

inline NoteVerifier testVerifier(std::string key = "test-key") {
  return [key](std::string_view note) -> absl::StatusOr<std::string> {
    auto body = noteBody(note);
    if (!body.ok()) return body.status();
    const std::string want = std::string(*body) + "\n\u2014 test-signer " + testMac(key, *body) + "\n";
    if (note != want) return absl::PermissionDeniedError("test signature does not verify");
    return std::string(*body);
  };
}

}  // namespace xborder::evidence::testing
