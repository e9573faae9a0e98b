// The request target of the media WebSocket upgrade on the TLS front: the signaling
// path, "/m/", the relay ticket in base64url and, optionally, "/" and the relay the
// call was given in base64url (docs/protocol.md, "Media over TLS").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"

namespace parley::net {

// What follows the signaling path in a media upgrade target.
inline constexpr std::string_view kMediaTargetInfix = "/m/";
// Longest ticket a media target may carry (the hub's tickets are 65 bytes; the
// signaling `relay` message allows up to 255).
inline constexpr std::size_t kMaxMediaTargetTicketBytes = 255;
// Longest relay host a media target may name (the `relay` message's limit).
inline constexpr std::size_t kMaxMediaTargetRelayHostBytes = 255;

// The relay a media upgrade asks the front to bridge to: exactly the host and port the
// `relay` message (or one of its alternates) gave. Encoded as base64url(u16be(port) ||
// host). The front bridges only to relays its community knows; this is a request.
struct MediaTargetRelay {
  std::string host;   // 1..kMaxMediaTargetRelayHostBytes printable ASCII bytes (0x21..0x7e)
  uint16_t port = 0;  // 1..65535
  bool operator==(const MediaTargetRelay&) const = default;
};

// Host of 1..kMaxMediaTargetRelayHostBytes printable bytes and a non-zero port.
bool IsValidMediaTargetRelay(const MediaTargetRelay& relay);

struct ParsedMediaTarget {
  std::vector<uint8_t> ticket;
  std::optional<MediaTargetRelay> relay;  // none: the front's own relay (older clients)
};

// signaling_path + "/m/" + base64url(ticket), no padding, then "/" + base64url(relay)
// if a relay is given. signaling_path starts with '/'. The relay must be valid
// (IsValidMediaTargetRelay): a broken invariant aborts.
std::string MediaUpgradeTarget(std::string_view signaling_path, std::span<const uint8_t> ticket,
                               const std::optional<MediaTargetRelay>& relay = std::nullopt);

// The ticket (and relay) of a media upgrade target, if `target` is exactly
// signaling_path + "/m/" + strict base64url of 1..kMaxMediaTargetTicketBytes bytes,
// optionally followed by "/" + strict base64url of a port (2 bytes, big-endian, not 0)
// and a host of 1..kMaxMediaTargetRelayHostBytes printable bytes (no query, no padding, no other
// characters). The signaling path is a secret of the server, so it is compared in
// constant time. Errors are one sentence and say nothing a prober could learn from
// (the front answers every error with the decoy's 404 anyway).
Result<ParsedMediaTarget> ParseMediaUpgradeTarget(std::string_view signaling_path, std::string_view target);

}  // namespace parley::net
