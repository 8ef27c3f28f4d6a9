// Published vectors shared by the evidence crypto tests. Sources: golang/mod
// sumdb/note/note_test.go (BSD-3-Clause, The Go Authors) for the PeterNeumann
// key and notes; EVIDENCE.md §7.3/§7.4 for the golden checkpoint and SM2 vector
// (GM/T 0003.5-2012 Annex A sample key). All keys here are public test keys.
#pragma once

#include <string>
#include <string_view>

namespace xborder::evidence::crypto::testing {

// golang/mod "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV..." = 0x01 || seed.
inline constexpr std::string_view kPeterSkeyB64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
inline constexpr std::string_view kPeterVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
inline constexpr std::string_view kEnochVkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
inline constexpr std::string_view kPeterText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
inline constexpr std::string_view kPeterSig =
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
inline constexpr std::string_view kEnochSig =
    "\xE2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// EVIDENCE.md §7.3: the golden checkpoint (reference tree of size 8).
inline constexpr std::string_view kGoldenOrigin = "evidence.example/appliance-01";
inline constexpr std::string_view kGoldenRootB64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
inline constexpr std::string_view kGoldenBody =
    "evidence.example/appliance-01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
inline constexpr std::string_view kGoldenEd25519Line =
    "\xE2\x80\x94 evidence.example/appliance-01 "
    "b8kmfb1x54AgJLDtiahRlXr7f8klirjCGjAQEo+LmJx9Yf/0FyPNVa1jh6oZl5DrllEFHaTU7ugIRPSvfmotW9iPoAA=\n";
inline constexpr std::string_view kGoldenEd25519Vkey =
    "evidence.example/appliance-01+6fc9267d+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

// EVIDENCE.md §7.4: SM2-with-SM3 signature over the golden body (verify only).
inline constexpr std::string_view kGoldenSm2Line =
    "\xE2\x80\x94 evidence.example/appliance-01 "
    "QXDo1htd8S0TkkYoVfqnzzBYE3VLuVY+ZT7wpxN1GCPS7U0+2TfgdjXofhQhnMBrTedswlqUzpKPAiOrx31OyRJJInc=\n";
inline constexpr std::string_view kGoldenSm2Vkey =
    "evidence.example/appliance-01+4170e8d6+/2NuLmV2aWRlbmNlL3NtMi1zbTMvdjEECfnfMR5UIaFQ3X0WHkvFxnIXn60YM/"
    "wHa7CP81bzUCDM6kkM4md1pS3G6nGMwapgCu0F+/NeCEpmMvYHLamtEw==";
inline constexpr std::string_view kGoldenSm2RsHex =
    "1b5df12d1392462855faa7cf305813754bb9563e653ef0a713751823d2ed4d3e"
    "d937e07635e87e14219cc06b4de76cc25a94ce928f0223abc77d4ec912492277";
// GM/T 0003.5-2012 Annex A sample private key d (public).
inline constexpr std::string_view kGmSampleDHex = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";

}  // namespace xborder::evidence::crypto::testing
