// Masks the packet counter so the sealed packet has no plaintext sequence number,
// as QUIC does (RFC 9001 §5.4): the mask comes from the header key and a sample of
// the ciphertext. docs/protocol.md, "Sealed packet".
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "parley/crypto/secret.h"

namespace parley::crypto {

inline constexpr std::size_t kHeaderSampleSize = 16;
// Counters stay below 2^62, so the masked counter's first byte can carry the fixed
// bits 01 (0x40..0x7F, a QUIC short header's first byte) and still be unmasked:
// masked[0] = 0x40 | ((counter[0] XOR mask[0]) & 0x3F).
inline constexpr uint64_t kCounterLimit = uint64_t{1} << 62;
inline constexpr uint8_t kMaskedFirstByteFixedBits = 0x40;

// mask = ChaCha20(header_key, block counter = LE32(sample[0..4]), nonce = sample[4..16])
// applied to 8 zero bytes (RFC 9001 §5.4.4). Pure; any thread.
std::array<uint8_t, 8> HeaderMask(const Secret<32>& header_key, std::span<const uint8_t, kHeaderSampleSize> sample);

// The AEAD nonce: 16-byte epoch nonce prefix || counter as 8 bytes big-endian.
std::array<uint8_t, 24> PacketNonce(const Secret<16>& prefix, uint64_t counter);

void StoreBigEndian64(uint64_t value, uint8_t* out);
uint64_t LoadBigEndian64(const uint8_t* in);

}  // namespace parley::crypto
