// InviteCode: generation, strict parsing, the hash the store keeps, the link form.
#include "parley/server/invite_code.h"

#include <sodium.h>

#include <algorithm>

#include "parley/base/quote.h"
#include "parley/crypto/encoding.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::server {
namespace {

// The BLAKE2b key that separates invite hashes from every other hash in Parley.
constexpr char kHashKey[] = "parley app invite hash v1";

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// The invite inside a pasted link: the first path segment after the authority.
std::string_view InviteFromLink(std::string_view link) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (link.substr(0, scheme.size()) != scheme) continue;
    const size_t slash = link.find('/', scheme.size());
    if (slash == std::string_view::npos) return {};
    std::string_view path = link.substr(slash + 1);
    return path.substr(0, path.find('/'));
  }
  return link;
}

}  // namespace

InviteCode InviteCode::Generate(crypto::KeySource& random) {
  std::array<uint8_t, kInviteBytes> bytes{};
  random.Fill(bytes);
  return InviteCode(bytes, crypto::ToBase64(bytes));
}

InviteCode InviteCode::FromBytes(const std::array<uint8_t, kInviteBytes>& bytes) {
  return InviteCode(bytes, crypto::ToBase64(bytes));
}

Result<InviteCode> InviteCode::Parse(std::string_view text) {
  const std::string_view invite = InviteFromLink(text);
  const Error wrong{QuoteUntrusted(text) + " is not an invite: give the 22 characters after the host in the link, or the whole "
                    "link https://HOST/<invite>/"};
  if (invite.size() != kInviteTextLength || !std::all_of(invite.begin(), invite.end(), IsBase64UrlChar)) {
    return wrong;
  }
  auto decoded = crypto::FromBase64(invite);
  if (!decoded.ok() || decoded->size() != kInviteBytes) return wrong;
  std::array<uint8_t, kInviteBytes> bytes{};
  std::copy(decoded->begin(), decoded->end(), bytes.begin());
  return InviteCode(bytes, std::string(invite));
}

InviteHash InviteCode::hash() const {
  crypto::EnsureSodium();
  InviteHash out{};
  crypto_generichash(out.data(), out.size(), bytes_.data(), bytes_.size(),
                     reinterpret_cast<const unsigned char*>(kHashKey), sizeof kHashKey - 1);
  return out;
}

std::string InviteCode::ShortId(const InviteHash& hash) {
  return crypto::ToHex(std::span<const uint8_t>(hash.data(), 6));
}

std::string InviteCode::Link(std::string_view host, uint16_t port) const {
  std::string out = "https://";
  if (host.find(':') != std::string_view::npos) {
    out += "[" + std::string(host) + "]";
  } else {
    out += host;
  }
  if (port != 443) out += ":" + std::to_string(port);
  return out + "/" + text_ + "/";
}

}  // namespace parley::server
