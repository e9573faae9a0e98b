// Padding sizes and the ISO/IEC 7816-4 padding itself (libsodium's sodium_pad).
#include "parley/crypto/padding_policy.h"

#include <sodium.h>

#include <charconv>
#include <string>

#include "parley/base/check.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {

Result<PaddingPolicy> PaddingPolicy::Constant(std::size_t wire_size) {
  if (wire_size < kMinSealedSize || wire_size > kMaxSealedSize) {
    return Error{"constant packet size must be between " + std::to_string(kMinSealedSize) + " and " +
                 std::to_string(kMaxSealedSize) + " bytes"};
  }
  return PaddingPolicy(Mode::kConstant, wire_size);
}

Result<PaddingPolicy> PaddingPolicy::Parse(std::string_view text) {
  if (text == "off") return Off();
  if (text == "buckets") return Buckets();
  constexpr std::string_view kConstant = "constant:";
  if (text.starts_with(kConstant)) {
    std::string_view number = text.substr(kConstant.size());
    std::size_t size = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), size);
    if (ec == std::errc() && end == number.data() + number.size() && !number.empty()) return Constant(size);
  }
  return Error{"padding must be \"off\", \"buckets\" or \"constant:SIZE\" (e.g. constant:256), not \"" +
               std::string(text) + "\""};
}

Result<std::size_t> PaddingPolicy::SealedSize(std::size_t content_size) const {
  if (content_size > kMaxContentSize) {
    return Error{"packet content of " + std::to_string(content_size) + " bytes exceeds the maximum of " +
                 std::to_string(kMaxContentSize)};
  }
  const std::size_t minimum = content_size + kSealOverhead;
  switch (mode_) {
    case Mode::kOff:
      return minimum;
    case Mode::kBuckets:
      for (std::size_t bucket : kPaddingBuckets) {
        if (bucket >= minimum) return bucket;
      }
      break;  // unreachable: the last bucket is kMaxSealedSize
    case Mode::kConstant:
      if (minimum <= constant_size_) return constant_size_;
      return Error{"packet content of " + std::to_string(content_size) + " bytes does not fit the constant size " +
                   std::to_string(constant_size_) + "; lower the bitrate or raise the size"};
  }
  PARLEY_CHECK_MSG(false, "unreachable");
  return Error{""};
}

void PadInPlace(std::span<uint8_t> buffer, std::size_t content_size, std::size_t padded_size) {
  PARLEY_CHECK(content_size < padded_size && padded_size <= buffer.size());
  // With blocksize = padded_size and content_size < padded_size, sodium_pad pads to
  // exactly padded_size (the next multiple of the block size).
  std::size_t out = 0;
  PARLEY_CHECK(sodium_pad(&out, buffer.data(), content_size, padded_size, buffer.size()) == 0);
  PARLEY_CHECK(out == padded_size);
}

Result<std::size_t> UnpaddedSize(std::span<const uint8_t> padded) {
  EnsureSodium();
  std::size_t content_size = 0;
  if (padded.empty() || sodium_unpad(&content_size, padded.data(), padded.size(), padded.size()) != 0) {
    return Error{"bad padding (no 0x80 marker followed by zeros)"};
  }
  return content_size;
}

}  // namespace parley::crypto
