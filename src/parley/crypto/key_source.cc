// Secret randomness: system source and the seeded source for tests.
#include "parley/crypto/key_source.h"

#include <sodium.h>

#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {

void SystemKeySource::Fill(std::span<uint8_t> out) {
  EnsureSodium();
  randombytes_buf(out.data(), out.size());
}

SeededKeySource::SeededKeySource(std::span<const uint8_t, 32> seed) : seed_(seed) {}

SeededKeySource::SeededKeySource(uint64_t seed) {
  for (int i = 0; i < 8; ++i) seed_.data()[i] = static_cast<uint8_t>(seed >> (56 - 8 * i));
}

void SeededKeySource::Fill(std::span<uint8_t> out) {
  EnsureSodium();
  uint8_t counter[8];
  for (int i = 0; i < 8; ++i) counter[i] = static_cast<uint8_t>(calls_ >> (56 - 8 * i));
  ++calls_;
  Secret<randombytes_SEEDBYTES> call_seed;
  crypto_generichash(call_seed.data(), call_seed.size(), counter, sizeof counter, seed_.data(),
                     seed_.size());
  randombytes_buf_deterministic(out.data(), out.size(), call_seed.data());
}

}  // namespace parley::crypto
