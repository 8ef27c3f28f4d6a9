#pragma once
// Step 8 of the offline verifier (EVIDENCE.md §5.2): sealed-snippet envelopes.
// Without a regulator key the bundle's envelopes/<index>-<field>.env files are
// checked against the records' sealed_digests (every digest has its file, every file
// is committed by its record). With the regulator's private key each envelope is also
// opened (the AAD binds origin, index and field) and the record's sample_commitment
// is recomputed from the salt inside (controlplane/evidence/envelope/envelope_store.h).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/evidence/crypto/keys.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"
#include "controlplane/evidence/verify/verify_result.pb.h"

namespace xborder::evidence::verify {

struct EnvelopeInputs {
  const std::map<std::string, std::string_view>* files = nullptr;  // bundle path (without top dir) -> bytes
  uint64_t from = 0;                                                // index of records[0]
  std::span<const std::string_view> records;                        // stored record bytes, checked by step 5
  // Positions in `records` (ascending) of the records with sealed_digests, as step 5
  // found them; null: parse every record to find them.
  const std::vector<uint64_t>* sealed = nullptr;
  std::string_view origin;
  HashAlg hash = HashAlg::kSha256;
  const crypto::PrivateKey* regulator_key = nullptr;           // null: digests only
};

// Step-8 rows: FAIL names the file (digest mismatch, uncommitted file, does not open)
// or the record (commitment); UNVERIFIABLE names the record whose envelope is missing.
std::vector<v1::Check> verifyEnvelopes(const EnvelopeInputs& in);

}  // namespace xborder::evidence::verify
