// Hex and base64 text forms of binary values (handshake messages in JSON, profile files).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"

namespace parley::crypto {

// Lower-case hex. Not constant-time in the data: use only for public values.
std::string ToHex(std::span<const uint8_t> bytes);
// Accepts upper or lower case, no separators, even length.
Result<std::vector<uint8_t>> FromHex(std::string_view text);

// Base64url without padding (RFC 4648 §5), the form handshake messages take inside
// JSON signaling. Decoding is strict: no padding, no whitespace, no trailing bits.
std::string ToBase64(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> FromBase64(std::string_view text);

}  // namespace parley::crypto
