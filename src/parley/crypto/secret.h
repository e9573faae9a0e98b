// Fixed-size secret bytes that are wiped (sodium_memzero) when they go out of scope.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace parley::crypto {

// Holds key material. Invariants: every copy is wiped when destroyed or moved from,
// equality is constant-time (sodium_memcmp), and there is no implicit conversion to a
// printable form. Not locked into RAM (no sodium_malloc): call keys live for minutes
// and the process is not assumed to share its memory with an attacker.
template <std::size_t N>
class Secret {
 public:
  static constexpr std::size_t kSize = N;

  Secret() { bytes_.fill(0); }
  explicit Secret(std::span<const uint8_t, N> bytes) { std::memcpy(bytes_.data(), bytes.data(), N); }
  Secret(const Secret& other) : bytes_(other.bytes_) {}
  Secret(Secret&& other) noexcept : bytes_(other.bytes_) { other.Wipe(); }
  Secret& operator=(const Secret& other) {
    bytes_ = other.bytes_;
    return *this;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      other.Wipe();
    }
    return *this;
  }
  ~Secret() { Wipe(); }

  void Wipe() { sodium_memzero(bytes_.data(), N); }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr std::size_t size() { return N; }
  std::span<uint8_t, N> span() { return std::span<uint8_t, N>(bytes_); }
  std::span<const uint8_t, N> span() const { return std::span<const uint8_t, N>(bytes_); }

  // Constant-time comparison.
  friend bool operator==(const Secret& a, const Secret& b) {
    return sodium_memcmp(a.bytes_.data(), b.bytes_.data(), N) == 0;
  }

 private:
  std::array<uint8_t, N> bytes_;
};

}  // namespace parley::crypto
