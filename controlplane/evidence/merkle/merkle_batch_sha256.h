#pragma once
// RFC 9162 SHA-256 leaf and node hashes of many independent inputs at once, two at a
// time through the x86 SHA extensions. Why: a SHA-NI compression is a chain of 32
// dependent sha256rnds2 instructions, so one hash leaves the unit idle between them;
// two interleaved hashes nearly double the rate (docs/benchmarks/evbundle.md). The
// verifier hashes a leaf and a node per record, which is most of its SHA-256 time.
// Results equal Hasher(HashAlg::kSha256)'s bit for bit; without SHA-NI (or for an input
// too long for the lane buffer) these functions fall back to Hasher.
#include <cstddef>
#include <string_view>

#include "controlplane/evidence/merkle/merkle_hasher.h"

namespace xborder::evidence {

// True when this CPU has SHA-NI (the two-lane path); the functions work either way.
bool batchSha256Accelerated();

// out[i] = SHA-256(0x00 || data[i]) for i < n.
void sha256LeafHashes(const std::string_view* data, size_t n, Hash* out);

// out[i] = SHA-256(0x01 || children[2i] || children[2i+1]) for i < pairs. out may be
// children itself (each output is written after both its inputs are read).
void sha256NodeHashes(const Hash* children, size_t pairs, Hash* out);

}  // namespace xborder::evidence
