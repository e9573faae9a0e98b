// The safety number two people compare out of band (`parley verify NAME`): 60
// digits from both identity keys only, the same on both sides. docs/protocol.md,
// "Fingerprint and safety number".
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "parley/crypto/identity_key.h"

namespace parley::crypto {

// Order-independent: Compute(a, b) == Compute(b, a). Changes whenever either key
// changes. Immutable; any thread.
class SafetyNumber {
 public:
  static constexpr std::size_t kGroups = 12;  // of 5 digits: 60 digits, ~199 bits

  static SafetyNumber Compute(const IdentityPublicKey& a, const IdentityPublicKey& b);

  const std::array<uint32_t, kGroups>& groups() const { return groups_; }
  // "01234 56789 ..." : 12 groups of 5 digits separated by single spaces.
  std::string ToString() const;

  bool operator==(const SafetyNumber&) const = default;

 private:
  std::array<uint32_t, kGroups> groups_{};
};

}  // namespace parley::crypto
