// How big sealed packets are on the wire: padding hides the size of variable-bitrate
// speech, which otherwise leaks words (White et al., "Phonotactic Reconstruction of
// Encrypted VoIP Conversations", IEEE S&P 2011). docs/protocol.md, "Padding".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "parley/base/result.h"

namespace parley::crypto {

// Sealed packet layout: masked counter (8) || XChaCha20-Poly1305(padded content) (n + 16).
inline constexpr std::size_t kSealedHeaderSize = 8;
inline constexpr std::size_t kSealedTagSize = 16;
// Padding always adds at least its 0x80 marker byte.
inline constexpr std::size_t kSealOverhead = kSealedHeaderSize + 1 + kSealedTagSize;  // 25
// Fits one IPv6 minimum-MTU datagram (1280) with 48 bytes of IP/UDP headers and 32
// for the obfuscating transport around it.
inline constexpr std::size_t kMaxSealedSize = 1200;
inline constexpr std::size_t kMinSealedSize = kSealOverhead;
inline constexpr std::size_t kMaxContentSize = kMaxSealedSize - kSealOverhead;  // 1175

// Wire sizes of the default policy, in bytes. Steps of 1.33-1.5x: 20 ms Opus frames
// from 6 to 64 kbit/s (15-160 bytes), with up to two redundant copies (x3) and the
// media header, land in 64-512; 60 ms frames in 96-1200. Never change them without a
// protocol version: they are what an observer sees.
inline constexpr std::array<std::size_t, 10> kPaddingBuckets = {64, 96, 128, 192, 256,
                                                                384, 512, 768, 1024, 1200};

// Immutable value; any thread.
class PaddingPolicy {
 public:
  enum class Mode { kOff, kBuckets, kConstant };

  // Only the 1-byte marker: the wire size is content + 25. Leaks content sizes.
  static PaddingPolicy Off() { return PaddingPolicy(Mode::kOff, 0); }
  // The smallest bucket that fits (the default).
  static PaddingPolicy Buckets() { return PaddingPolicy(Mode::kBuckets, 0); }
  // Every packet exactly `wire_size` bytes (kMinSealedSize..kMaxSealedSize); larger
  // content is refused, so the sender must cap its bitrate to fit.
  static Result<PaddingPolicy> Constant(std::size_t wire_size);
  // "off", "buckets", "constant:SIZE" (e.g. "constant:256"): the config/CLI form.
  static Result<PaddingPolicy> Parse(std::string_view text);

  Mode mode() const { return mode_; }
  std::size_t constant_size() const { return constant_size_; }

  // The wire size of a packet carrying `content_size` bytes, or why it cannot be sent.
  Result<std::size_t> SealedSize(std::size_t content_size) const;

 private:
  PaddingPolicy(Mode mode, std::size_t constant_size) : mode_(mode), constant_size_(constant_size) {}
  Mode mode_;
  std::size_t constant_size_;
};

// ISO/IEC 7816-4 padding (as sodium_pad writes it): content || 0x80 || 0x00*. `buffer` holds the
// content in its first `content_size` bytes and is padded in place to exactly
// `padded_size` (> content_size) bytes.
void PadInPlace(std::span<uint8_t> buffer, std::size_t content_size, std::size_t padded_size);
// The content length of a padded plaintext (time depends only on its size), or an error if there is no 0x80 marker followed only by zeros.
Result<std::size_t> UnpaddedSize(std::span<const uint8_t> padded);

}  // namespace parley::crypto
