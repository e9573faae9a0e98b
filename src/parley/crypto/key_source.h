// Where fresh secret keys come from: the OS in production, a seed in tests and vectors.
#pragma once

#include <cstdint>
#include <span>

#include "parley/crypto/secret.h"

namespace parley::crypto {

// Fills buffers with secret random bytes. Implementations are not thread-safe; each
// call (handshake, profile) owns its source. Callers must treat the bytes as secrets.
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;
};

// libsodium's randombytes_buf (getrandom(2) on Linux). The production source.
class SystemKeySource final : public KeySource {
 public:
  void Fill(std::span<uint8_t> out) override;
};

// Deterministic bytes from a 32-byte seed, for tests, fuzzers and test vectors ONLY:
// anyone who knows the seed knows every key. The n-th Fill (n = 0, 1, ...) returns
// randombytes_buf_deterministic(len, seed = BLAKE2b-256(key = seed, message = u64be(n))),
// so the output of a call does not depend on the lengths asked for before it.
class SeededKeySource final : public KeySource {
 public:
  explicit SeededKeySource(std::span<const uint8_t, 32> seed);
  // Convenience for tests: the seed is the 8 bytes of `seed` (big-endian) then zeros.
  explicit SeededKeySource(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;

 private:
  Secret<32> seed_;
  uint64_t calls_ = 0;
};

}  // namespace parley::crypto
