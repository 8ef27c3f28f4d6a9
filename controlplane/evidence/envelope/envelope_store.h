#pragma once
// Payload snippets sealed to the regulator and stored beside the evidence log
// (EVIDENCE.md §3.3, §5.1):
//
//   <log>/envelopes/<index>-<field>.env   "EVHP" (HPKE, X25519) or "EVGM" (SM2/SM4/SM3)
//
// Each envelope's plaintext is salt[32] || snippet; all snippets of one record share
// the salt. The record commits to them with
//   sealed_digests[i]  = H(envelope i)                  (H = the log's hash)
//   sample_commitment  = HMAC-H(salt, for each snippet in order:
//                          u16 len(field) || field || u64 len(data) || data)
// and the AAD binds each envelope to (origin, record index, field, recipient key id).
// Envelopes are written (tmp + fsync + rename + fsync dir) before the record is
// appended, so a committed digest always has its file; an envelope whose index was
// never committed is an orphan that removeOrphanEnvelopes() deletes.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/keys.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"
#include "controlplane/evidence/record/record.pb.h"

namespace xborder::evidence::envelope {

struct Snippet {
  std::string field;
  std::string data;
};

inline constexpr size_t kSaltSize = 32;

// [a-z0-9_]{1,32}: it becomes part of a file name.
bool validField(std::string_view field);

// The AAD's recipient_key_id: the first 4 bytes (big-endian) of SHA-256(raw public key).
uint32_t recipientKeyId(const crypto::PublicKey& key);

// "envelopes/<index>-<field>.env" (relative to the log directory or bundle top).
std::string envelopeName(uint64_t index, std::string_view field);
// Parses such a name (without the directory); false if it is not one.
bool parseEnvelopeName(std::string_view name, uint64_t* index, std::string* field);

std::string commitment(HashAlg alg, std::string_view salt, std::span<const Snippet> snippets);

// Seals `snippets` for record `index` of the log in `log_dir`, writes the envelopes
// durably, and sets record.sealed_digests and record.sample_commitment. The recipient
// must be X25519 (HPKE) or SM2 (GM envelope). Call before appending the record, with
// the index the append will assign (the caller holds the log's writer lock).
absl::Status sealSnippets(const std::string& log_dir, const crypto::PublicKey& recipient, std::string_view origin,
                          HashAlg alg, uint64_t index, std::span<const Snippet> snippets,
                          evidence::v1::EvidenceRecord& record);

// Opens one envelope (HPKE or GM by its magic) bound to (origin, index, field).
// Returns salt || snippet.
absl::StatusOr<std::string> openEnvelope(const crypto::PrivateKey& recipient, std::string_view origin,
                                         uint64_t index, std::string_view field, std::string_view envelope);

// Deletes envelopes under log_dir/envelopes whose index >= committed_size (left by a
// crash between the envelope write and the append). Returns how many were removed.
absl::StatusOr<size_t> removeOrphanEnvelopes(const std::string& log_dir, uint64_t committed_size);

// Envelope files of records [from, to) under log_dir/envelopes, keyed by bundle path
// ("envelopes/<index>-<field>.env").
absl::StatusOr<std::map<std::string, std::string>> readEnvelopes(const std::string& log_dir, uint64_t from,
                                                                 uint64_t to);

// Splits one append line: removes the top-level "sealed_snippets" member from the JSON
// object text and parses it. The rest is returned unchanged for the record parser.
struct SplitLine {
  std::string record_json;
  std::vector<Snippet> snippets;
};
absl::StatusOr<SplitLine> splitSealedSnippets(std::string_view json_line);

}  // namespace xborder::evidence::envelope
