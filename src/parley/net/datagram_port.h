// What a direct P2P path needs from a UDP socket: send to any address, and receive
// what arrived with its source. The relay path's socket provides it (same NAT mapping,
// so the address the relay saw is valid for the peer too); tests use UdpDatagramSocket.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/net/udp_endpoint.h"

namespace parley::net {

struct ReceivedDatagram {
  UdpEndpoint from;
  std::vector<uint8_t> bytes;
};

// Threads: SendTo and ReceiveFrom from one thread at a time (the call's media thread);
// fd() from any thread.
class DatagramPort {
 public:
  virtual ~DatagramPort() = default;
  // One datagram to `to`; never blocks (a full buffer is an error and nothing is sent).
  virtual Status SendTo(std::span<const uint8_t> datagram, const UdpEndpoint& to) = 0;
  // The next datagram for this consumer, or nullopt; never blocks.
  virtual std::optional<ReceivedDatagram> ReceiveFrom() = 0;
  // Readable (POLLIN) when ReceiveFrom may have something; -1 if none.
  virtual int fd() const = 0;
};

}  // namespace parley::net
