// The P2P path's DatagramPort over the shared socket.
#include "parley/net/shared_udp_peer_port.h"

#include <utility>

#include "parley/base/check.h"

namespace parley::net {

SharedUdpPeerPort::SharedUdpPeerPort(std::shared_ptr<SharedUdpSocket> socket) : socket_(std::move(socket)) {
  PARLEY_CHECK(socket_ != nullptr);
}

Status SharedUdpPeerPort::SendTo(std::span<const uint8_t> datagram, const UdpEndpoint& to) {
  return socket_->SendTo(to, datagram);
}

std::optional<ReceivedDatagram> SharedUdpPeerPort::ReceiveFrom() {
  auto datagram = socket_->ReceiveFromOthers();
  if (!datagram) return std::nullopt;
  return ReceivedDatagram{datagram->from, std::move(datagram->bytes)};
}

}  // namespace parley::net
