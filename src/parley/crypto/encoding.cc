// Hex and base64 via libsodium's constant-time codecs.
#include "parley/crypto/encoding.h"

#include <sodium.h>

#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {

std::string ToHex(std::span<const uint8_t> bytes) {
  EnsureSodium();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();  // the terminating NUL
  return out;
}

Result<std::vector<uint8_t>> FromHex(std::string_view text) {
  EnsureSodium();
  if (text.size() % 2 != 0) return Error{"hex text has an odd number of digits"};
  // sodium_hex2bin's output must not be null, which an empty vector's data() may be.
  if (text.empty()) return std::vector<uint8_t>{};
  std::vector<uint8_t> out(text.size() / 2);
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &written, &end) != 0 ||
      written != out.size() || end != text.data() + text.size()) {
    return Error{"hex text contains a character that is not a hex digit"};
  }
  return out;
}

std::string ToBase64(std::span<const uint8_t> bytes) {
  EnsureSodium();
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), kVariant);
  out.pop_back();
  return out;
}

Result<std::vector<uint8_t>> FromBase64(std::string_view text) {
  EnsureSodium();
  // Unpadded base64 never has length 1 mod 4; 3 bytes per 4 characters at most.
  if (text.size() % 4 == 1) return Error{"base64 text has an impossible length"};
  // libsodium 1.0.18 maps some bytes >= 0x80 to digits (found by the handshake
  // fuzzer), so the alphabet is checked here first.
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return Error{"base64 text is malformed (expected base64url without padding)"};
  }
  std::vector<uint8_t> out(text.size() / 4 * 3 + 3);
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &written, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return Error{"base64 text is malformed (expected base64url without padding)"};
  }
  out.resize(written);
  return out;
}

}  // namespace parley::crypto
