// Unwraps a wrapping counter (16-bit sequence number, 32-bit RTP-style timestamp) onto a
// 64-bit line so that ordering and differences survive the wrap.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

namespace parley::media {

// Each value is placed at the unwrapped position nearest the newest value seen so far
// (a difference of up to half the counter's range either way). The reference only moves
// forward: an old, reordered value is unwrapped but does not drag the reference back,
// so a stray old packet cannot shift the epoch that later packets are unwrapped in.
// The first value maps to itself.
template <typename T>
class Unwrapper {
  static_assert(std::is_unsigned_v<T> && sizeof(T) < sizeof(int64_t));

 public:
  int64_t Unwrap(T value) {
    if (!newest_) {
      newest_ = static_cast<int64_t>(value);
      return *newest_;
    }
    using Signed = std::make_signed_t<T>;
    const T newest_wrapped = static_cast<T>(*newest_);
    const auto delta = static_cast<int64_t>(static_cast<Signed>(static_cast<T>(value - newest_wrapped)));
    const int64_t unwrapped = *newest_ + delta;
    if (delta > 0) newest_ = unwrapped;
    return unwrapped;
  }

  // The unwrapped value `value` would get, without moving the reference.
  int64_t Peek(T value) const {
    if (!newest_) return static_cast<int64_t>(value);
    using Signed = std::make_signed_t<T>;
    const T newest_wrapped = static_cast<T>(*newest_);
    return *newest_ + static_cast<int64_t>(static_cast<Signed>(static_cast<T>(value - newest_wrapped)));
  }

  void Reset() { newest_.reset(); }

 private:
  std::optional<int64_t> newest_;
};

using SequenceUnwrapper = Unwrapper<uint16_t>;
using TimestampUnwrapper = Unwrapper<uint32_t>;

}  // namespace parley::media
