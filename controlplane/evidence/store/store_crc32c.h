#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as in iSCSI (RFC 3720) and
// ext4/etcd/Kafka. OpenSSL has no CRC32C and bookworm's Abseil (20220623) predates
// absl/crc, so it is here: SSE4.2 crc32 instructions when the CPU has them, a table
// otherwise. It detects accidental damage; the Merkle tree and signatures detect
// deliberate damage.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xborder::evidence {

// Extends a finished CRC (0 for a fresh one) over more bytes.
uint32_t crc32cExtend(uint32_t crc, const void* data, size_t size);
inline uint32_t crc32c(const void* data, size_t size) { return crc32cExtend(0, data, size); }
inline uint32_t crc32c(std::string_view data) { return crc32c(data.data(), data.size()); }
// The name the evidence interfaces agreed on.
inline uint32_t Crc32c(std::string_view data) { return crc32c(data); }

// Both paths, for tests and benchmarks; crc32cExtend picks one at start-up.
uint32_t crc32cExtendTable(uint32_t crc, const void* data, size_t size);
uint32_t crc32cExtendHw(uint32_t crc, const void* data, size_t size);  // needs SSE4.2
bool crc32cHardwareAvailable();

}  // namespace xborder::evidence
