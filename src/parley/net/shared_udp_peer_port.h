// The direct P2P path's view of the SharedUdpSocket it shares with the relay path: a
// DatagramPort that sends to any address and receives only what did not come from the
// relay, so P2P punches from the same NAT mapping the relay's ack reported.
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "parley/net/datagram_port.h"
#include "parley/net/shared_udp_socket.h"

namespace parley::net {

// Threads: DatagramPort's. Holds the socket (shared_ptr) for as long as it lives.
class SharedUdpPeerPort final : public DatagramPort {
 public:
  explicit SharedUdpPeerPort(std::shared_ptr<SharedUdpSocket> socket);

  Status SendTo(std::span<const uint8_t> datagram, const UdpEndpoint& to) override;
  std::optional<ReceivedDatagram> ReceiveFrom() override;
  int fd() const override { return socket_->fd(); }

  const std::shared_ptr<SharedUdpSocket>& socket() const { return socket_; }

 private:
  std::shared_ptr<SharedUdpSocket> socket_;
};

}  // namespace parley::net
