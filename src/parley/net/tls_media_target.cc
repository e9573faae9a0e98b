// Builds and parses the media upgrade target (docs/protocol.md, "Media over TLS").
#include "parley/net/tls_media_target.h"

#include <openssl/crypto.h>

#include "parley/crypto/encoding.h"

namespace parley::net {

std::string MediaUpgradeTarget(std::string_view signaling_path, std::span<const uint8_t> ticket) {
  std::string target(signaling_path);
  target += kMediaTargetInfix;
  target += crypto::ToBase64(ticket);
  return target;
}

Result<std::vector<uint8_t>> ParseMediaUpgradeTarget(std::string_view signaling_path, std::string_view target) {
  const std::size_t prefix = signaling_path.size() + kMediaTargetInfix.size();
  if (signaling_path.empty() || target.size() <= prefix) return Error{"the target is not a media upgrade target."};
  // Constant time in the secret path: a prober timing 404s learns nothing of it.
  const bool path_ok = CRYPTO_memcmp(target.data(), signaling_path.data(), signaling_path.size()) == 0;
  const bool infix_ok = target.substr(signaling_path.size(), kMediaTargetInfix.size()) == kMediaTargetInfix;
  if (!path_ok || !infix_ok) return Error{"the target is not a media upgrade target."};
  const std::string_view encoded = target.substr(prefix);
  if (encoded.size() > (kMaxMediaTargetTicketBytes * 4 + 2) / 3) return Error{"the media ticket is too long."};
  auto ticket = crypto::FromBase64(encoded);
  if (!ticket) return Error{"the media ticket is not base64url."};
  if (ticket->empty() || ticket->size() > kMaxMediaTargetTicketBytes) return Error{"the media ticket has a wrong size."};
  return std::move(*ticket);
}

}  // namespace parley::net
