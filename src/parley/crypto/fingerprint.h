// The per-call fingerprint both people compare: 5 emoji, or the same 5 symbols as
// words for screen readers and reading aloud. 40 bits; docs/protocol.md, "Fingerprint".
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace parley::crypto {

// Invariant: equal on both sides of an honest exchange; a substituted key gives an
// independent value, equal by chance with probability 2^-40 (the commit-reveal order
// leaves a man-in-the-middle one guess). Immutable; any thread.
class Fingerprint {
 public:
  static constexpr std::size_t kSymbols = 5;   // 5 x 8 bits = 40 bits
  static constexpr std::size_t kTableSize = 256;

  Fingerprint() = default;
  // Symbol i is table entry fingerprint_secret[i].
  static Fingerprint FromSecret(std::span<const uint8_t, 32> fingerprint_secret);

  const std::array<uint8_t, kSymbols>& indices() const { return indices_; }
  std::string_view EmojiAt(std::size_t i) const;
  std::string_view WordAt(std::size_t i) const;
  // Space-separated, e.g. "🐶 🍎 🚀 🎸 🌵" and "dog apple rocket guitar cactus".
  std::string Emoji() const;
  std::string Words() const;

  // The fixed tables: entry i of one names entry i of the other. Never reorder or edit
  // them: both ends must agree (docs/protocol.md lists them).
  static std::span<const std::string_view, kTableSize> EmojiTable();
  static std::span<const std::string_view, kTableSize> WordTable();

  bool operator==(const Fingerprint&) const = default;

 private:
  std::array<uint8_t, kSymbols> indices_{};
};

}  // namespace parley::crypto
