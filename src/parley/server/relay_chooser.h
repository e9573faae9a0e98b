// Which relays a call gets: the signaling node picks two (least loaded first, so one
// can die) from the relays announced on the node bus and its own; and the operator's
// `relay.alternates` list. Logic without I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/server/node_bus.h"
#include "parley/signal/messages.h"

namespace parley::server {

// Pure: no state, any thread.
class RelayChooser {
 public:
  static constexpr std::size_t kRelaysPerCall = 2;

  // The relays for one call, best first, at most `count` and each address once:
  // `live` (NodeBus::LiveRelays) and `own` (this node's relay, if clients may use it)
  // ordered by load (calls / capacity, least first); a relay at or over its capacity
  // (or announcing capacity 0) is skipped. Ties go to the lower id, then host, then
  // port, so every node orders the same records alike. Nothing usable: empty (the hub
  // then falls back to its configured relay).
  static std::vector<signal::RelayAddress> Choose(std::span<const RelayRecord> live,
                                                  const std::optional<RelayRecord>& own,
                                                  std::size_t count = kRelaysPerCall);
};

// `relay.alternates`: "HOST:PORT" entries separated by commas (spaces around them
// allowed), "[IPV6]:PORT" for IPv6 literals; empty text is an empty list. At most
// signal::kMaxRelayAlternates entries. Errors are one sentence naming the entry.
Result<std::vector<signal::RelayAddress>> ParseRelayAddressList(std::string_view text);

}  // namespace parley::server
