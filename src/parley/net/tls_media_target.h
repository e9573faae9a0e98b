// The request target of the media WebSocket upgrade on the TLS front: the signaling
// path, "/m/", and the relay ticket in base64url (docs/protocol.md, "Media over TLS").
#pragma once

#include <cstddef>
#include <cstdint>
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

// signaling_path + "/m/" + base64url(ticket), no padding. signaling_path starts with '/'.
std::string MediaUpgradeTarget(std::string_view signaling_path, std::span<const uint8_t> ticket);

// The ticket bytes of a media upgrade target, if `target` is exactly signaling_path +
// "/m/" + strict base64url of 1..kMaxMediaTargetTicketBytes bytes (no query, no
// padding, no other characters). The signaling path is a secret of the server, so it
// is compared in constant time. Errors are one sentence and say nothing a prober could
// learn from (the front answers every error with the decoy's 404 anyway).
Result<std::vector<uint8_t>> ParseMediaUpgradeTarget(std::string_view signaling_path, std::string_view target);

}  // namespace parley::net
