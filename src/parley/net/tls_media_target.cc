// Builds and parses the media upgrade target (docs/protocol.md, "Media over TLS").
#include "parley/net/tls_media_target.h"

#include <openssl/crypto.h>

#include "parley/base/check.h"
#include "parley/crypto/encoding.h"

namespace parley::net {
namespace {

constexpr std::size_t Base64Length(std::size_t bytes) { return (bytes * 4 + 2) / 3; }

}  // namespace

bool IsValidMediaTargetRelay(const MediaTargetRelay& relay) {
  if (relay.host.empty() || relay.host.size() > kMaxMediaTargetRelayHostBytes || relay.port == 0) return false;
  for (char c : relay.host) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string MediaUpgradeTarget(std::string_view signaling_path, std::span<const uint8_t> ticket,
                               const std::optional<MediaTargetRelay>& relay) {
  std::string target(signaling_path);
  target += kMediaTargetInfix;
  target += crypto::ToBase64(ticket);
  if (relay) {
    PARLEY_CHECK(IsValidMediaTargetRelay(*relay));
    std::vector<uint8_t> name{static_cast<uint8_t>(relay->port >> 8), static_cast<uint8_t>(relay->port & 0xff)};
    name.insert(name.end(), relay->host.begin(), relay->host.end());
    target += '/';
    target += crypto::ToBase64(name);
  }
  return target;
}

Result<ParsedMediaTarget> ParseMediaUpgradeTarget(std::string_view signaling_path, std::string_view target) {
  const std::size_t prefix = signaling_path.size() + kMediaTargetInfix.size();
  if (signaling_path.empty() || target.size() <= prefix) return Error{"the target is not a media upgrade target."};
  // Constant time in the secret path: a prober timing 404s learns nothing of it.
  const bool path_ok = CRYPTO_memcmp(target.data(), signaling_path.data(), signaling_path.size()) == 0;
  const bool infix_ok = target.substr(signaling_path.size(), kMediaTargetInfix.size()) == kMediaTargetInfix;
  if (!path_ok || !infix_ok) return Error{"the target is not a media upgrade target."};
  std::string_view encoded = target.substr(prefix);
  std::string_view encoded_relay;
  const bool names_relay = encoded.find('/') != std::string_view::npos;
  if (names_relay) {
    encoded_relay = encoded.substr(encoded.find('/') + 1);
    encoded = encoded.substr(0, encoded.find('/'));
  }
  if (encoded.size() > Base64Length(kMaxMediaTargetTicketBytes)) return Error{"the media ticket is too long."};
  auto ticket = crypto::FromBase64(encoded);
  if (!ticket) return Error{"the media ticket is not base64url."};
  if (ticket->empty() || ticket->size() > kMaxMediaTargetTicketBytes) return Error{"the media ticket has a wrong size."};
  ParsedMediaTarget parsed;
  parsed.ticket = std::move(*ticket);
  if (!names_relay) return parsed;
  if (encoded_relay.size() > Base64Length(2 + kMaxMediaTargetRelayHostBytes)) {
    return Error{"the media target's relay is too long."};
  }
  auto name = crypto::FromBase64(encoded_relay);
  if (!name) return Error{"the media target's relay is not base64url."};
  if (name->size() < 3) return Error{"the media target's relay names no host."};
  MediaTargetRelay relay;
  relay.port = static_cast<uint16_t>((*name)[0] << 8 | (*name)[1]);
  if (relay.port == 0) return Error{"the media target's relay has port 0."};
  relay.host.assign(name->begin() + 2, name->end());
  // Host names and address literals are printable; nothing else may reach a log line.
  if (!IsValidMediaTargetRelay(relay)) return Error{"the media target's relay host is not printable."};
  parsed.relay = std::move(relay);
  return parsed;
}

}  // namespace parley::net
