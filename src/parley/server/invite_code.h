// An app invite (docs/protocol.md, "Web app and invites"): 16 random bytes, written as
// the 22 base64url characters of the web app's secret path, and stored only hashed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/result.h"
#include "parley/crypto/key_source.h"

namespace parley::server {

inline constexpr size_t kInviteBytes = 16;
inline constexpr size_t kInviteTextLength = 22;  // base64url of 16 bytes, no padding

// What the store keeps instead of the invite: a stolen database then gives no working
// link. Keyed BLAKE2b-256, so the hash of an invite means nothing outside Parley.
using InviteHash = std::array<uint8_t, 32>;

// An immutable value; any thread.
class InviteCode {
 public:
  // A fresh invite from `random` (the OS in production).
  static InviteCode Generate(crypto::KeySource& random);
  // Strict: exactly 22 base64url characters that decode to 16 bytes (no trailing
  // bits). Accepts also a whole link "https://host[:port]/<invite>/", so an operator
  // can paste what they were given. The error says which form is expected.
  static Result<InviteCode> Parse(std::string_view text);
  static InviteCode FromBytes(const std::array<uint8_t, kInviteBytes>& bytes);

  const std::string& text() const { return text_; }  // the 22 characters
  const std::array<uint8_t, kInviteBytes>& bytes() const { return bytes_; }
  InviteHash hash() const;

  // The operator's handle for an invite they no longer have the text of: the first
  // 12 hex digits of its hash, as `parleyd invite --list` prints them.
  static std::string ShortId(const InviteHash& hash);

  // "https://" + host (":" + port unless 443) + "/" + text + "/"; an IPv6 host is bracketed.
  std::string Link(std::string_view host, uint16_t port) const;

 private:
  InviteCode(std::array<uint8_t, kInviteBytes> bytes, std::string text)
      : bytes_(bytes), text_(std::move(text)) {}
  std::array<uint8_t, kInviteBytes> bytes_;
  std::string text_;
};

}  // namespace parley::server
