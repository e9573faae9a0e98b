// Which relays the TLS front may bridge a media WebSocket to: only relays the community
// knows (its own, the configured ones, live ones on the node bus), never an address a
// client made up (docs/protocol.md, "Media over TLS"). Logic without I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/server/node_bus.h"
#include "parley/signal/messages.h"

namespace parley::server {

// Where the front sends a media WebSocket's datagrams.
struct MediaRelayRoute {
  enum class Kind {
    kOwnBridge,  // this node's relay, through its bridge socket on 127.0.0.1
    kUdp,        // another relay, over UDP to host:port as an ordinary participant
  };
  Kind kind = Kind::kOwnBridge;
  std::string host;   // kUdp: the relay's host as clients are told it (resolved by the front)
  uint16_t port = 0;  // kUdp: its UDP port
  bool operator==(const MediaRelayRoute&) const = default;
};

// Immutable after construction: any thread may call Route. A named relay matches a
// known one if the ports are equal and the hosts equal ignoring ASCII case (DNS names
// are case-insensitive; a client repeats what the `relay` message said anyway).
class MediaRelayRoutes {
 public:
  // `own`: this node's relay as the hub tells clients (host, port); `configured`:
  // relay.first and relay.alternates.
  MediaRelayRoutes(signal::RelayAddress own, std::vector<signal::RelayAddress> configured);

  // The route for a relay a client named: the own relay, a configured one, or one of
  // `live` (NodeBus::LiveRelays; pass none when the bus was not asked). Nothing for a
  // relay the community does not know: the front then answers as for a bad ticket.
  std::optional<MediaRelayRoute> Route(std::string_view host, uint16_t port,
                                       std::span<const RelayRecord> live = {}) const;

 private:
  signal::RelayAddress own_;
  std::vector<signal::RelayAddress> configured_;
};

}  // namespace parley::server
