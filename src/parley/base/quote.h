// Quoting untrusted text (names, paths from the network) for errors and logs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley {

// `text` in double quotes, printable ASCII as is and every other byte (and `"`, `\`)
// as \xNN, so a hostile name cannot forge log lines or terminal escapes; shortened
// with "..." past `max_shown` bytes.
inline std::string QuoteUntrusted(std::string_view text, size_t max_shown = 40) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < max_shown; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\' && byte != '"') {
      out += static_cast<char>(byte);
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  if (text.size() > max_shown) out += "...";
  return out + "\"";
}

}  // namespace parley
