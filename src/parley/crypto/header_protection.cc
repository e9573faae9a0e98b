// Counter masking (RFC 9001 §5.4.4 with libsodium's ChaCha20) and nonce layout.
#include "parley/crypto/header_protection.h"

#include <sodium.h>

#include <cstring>

namespace parley::crypto {

std::array<uint8_t, 8> HeaderMask(const Secret<32>& header_key, std::span<const uint8_t, kHeaderSampleSize> sample) {
  const uint32_t block_counter = uint32_t{sample[0]} | uint32_t{sample[1]} << 8 | uint32_t{sample[2]} << 16 |
                                 uint32_t{sample[3]} << 24;
  static constexpr uint8_t kZeros[8] = {};
  std::array<uint8_t, 8> mask{};
  crypto_stream_chacha20_ietf_xor_ic(mask.data(), kZeros, sizeof kZeros, sample.data() + 4, block_counter,
                                     header_key.data());
  return mask;
}

std::array<uint8_t, 24> PacketNonce(const Secret<16>& prefix, uint64_t counter) {
  std::array<uint8_t, 24> nonce{};
  std::memcpy(nonce.data(), prefix.data(), 16);
  StoreBigEndian64(counter, nonce.data() + 16);
  return nonce;
}

void StoreBigEndian64(uint64_t value, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (56 - 8 * i));
}

uint64_t LoadBigEndian64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | in[i];
  return value;
}

}  // namespace parley::crypto
