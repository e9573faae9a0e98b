// Safety number: BLAKE2b-512 over the two identity keys in byte order, cut into
// 12 big-endian 40-bit numbers, each taken mod 100000 (bias < 2^-23 per group).
#include "parley/crypto/safety_number.h"

#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {

SafetyNumber SafetyNumber::Compute(const IdentityPublicKey& a, const IdentityPublicKey& b) {
  EnsureSodium();
  // Sorting makes both sides hash the same bytes. Public keys: memcmp is fine.
  const bool a_first = std::memcmp(a.data(), b.data(), a.size()) <= 0;
  const IdentityPublicKey& low = a_first ? a : b;
  const IdentityPublicKey& high = a_first ? b : a;
  constexpr std::string_view kLabel = "parley-v1 safety number";
  const uint8_t separator = 0;
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 64);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(kLabel.data()), kLabel.size());
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, low.data(), low.size());
  crypto_generichash_update(&state, high.data(), high.size());
  uint8_t hash[64];
  crypto_generichash_final(&state, hash, sizeof hash);
  SafetyNumber number;
  for (std::size_t g = 0; g < kGroups; ++g) {
    uint64_t v = 0;
    for (std::size_t i = 0; i < 5; ++i) v = v << 8 | hash[5 * g + i];
    number.groups_[g] = static_cast<uint32_t>(v % 100000);
  }
  return number;
}

std::string SafetyNumber::ToString() const {
  std::string out;
  for (std::size_t g = 0; g < kGroups; ++g) {
    char digits[8];
    std::snprintf(digits, sizeof digits, "%05u", groups_[g]);
    if (g) out += ' ';
    out += digits;
  }
  return out;
}

}  // namespace parley::crypto
