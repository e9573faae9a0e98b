// The relay UDP path: name resolution, the shared socket, the session's datagrams.
#include "parley/net/relay_udp_path.h"

#include <netdb.h>
#include <sys/socket.h>

#include <utility>

namespace parley::net {
namespace {

std::string HostPort(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

Result<UdpEndpoint> ResolveUdpEndpoint(const std::string& host, uint16_t port) {
  if (host.empty() || port == 0) {
    return Error{"The server offered no usable relay address (" + HostPort(host, port) + ")."};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Error{"Cannot resolve the relay host " + host + " (" + ::gai_strerror(rc) +
                 "); check the network or the server's relay.public_host setting."};
  }
  UdpEndpoint endpoint;
  for (addrinfo* ai = found; ai != nullptr && endpoint.empty(); ai = ai->ai_next) {
    endpoint = UdpEndpoint::FromSockaddr(ai->ai_addr, ai->ai_addrlen);
  }
  ::freeaddrinfo(found);
  if (endpoint.empty()) return Error{"The relay host " + host + " has no IPv4 or IPv6 address."};
  return endpoint;
}

Result<std::unique_ptr<RelayUdpPath>> RelayUdpPath::Open(const std::string& host, uint16_t port,
                                                         RelayCredentials credentials, TimePoint ticket_received_at,
                                                         TimePoint now, RelayClientSessionOptions options) {
  auto relay = ResolveUdpEndpoint(host, port);
  if (!relay) return relay.error();
  auto socket = SharedUdpSocket::Open(relay->family());
  if (!socket) return socket.error();
  return std::make_unique<RelayUdpPath>(std::move(*socket), *relay, std::move(credentials), ticket_received_at, now,
                                        options);
}

RelayUdpPath::RelayUdpPath(std::shared_ptr<SharedUdpSocket> socket, const UdpEndpoint& relay,
                           RelayCredentials credentials, TimePoint ticket_received_at, TimePoint now,
                           RelayClientSessionOptions options)
    : socket_(std::move(socket)), session_(std::move(credentials), ticket_received_at, options) {
  socket_->SetRelayEndpoint(relay);
  // The relay hears of us before our first media packet; losing it is harmless.
  Tick(now);
}

void RelayUdpPath::SendDatagram(const std::vector<uint8_t>& datagram) {
  if (socket_->SendTo(socket_->relay_endpoint(), datagram).ok()) {
    bytes_sent_.fetch_add(datagram.size(), std::memory_order_relaxed);
  } else {
    send_failures_.fetch_add(1, std::memory_order_relaxed);
  }
}

void RelayUdpPath::ApplyRebindRequest() {
  const uint64_t requested = rebind_requested_.load(std::memory_order_acquire);
  if (requested == rebind_applied_) return;
  rebind_applied_ = requested;
  session_.RequestRebind();
}

Status RelayUdpPath::SwitchToFreshSocket() {
  if (Status reopened = socket_->Reopen(); !reopened) return reopened;
  RequestRebind();
  return Ok{};
}

Status RelayUdpPath::SwitchRelay(const UdpEndpoint& relay) {
  if (relay.family() != socket_->relay_endpoint().family()) {
    return Error{"The next relay " + relay.ToString() +
                 " is of another address family than this call's socket; the server's relay list mixes "
                 "IPv4 and IPv6."};
  }
  // Datagrams from the old relay now go to the P2P queue, where nothing authenticates
  // them; the session's next bind (elapsed_ms still growing) is new to this relay.
  socket_->SetRelayEndpoint(relay);
  RequestRebind();
  return Ok{};
}

Status RelayUdpPath::Send(std::span<const uint8_t> sealed, TimePoint now) {
  ApplyRebindRequest();
  auto datagram = session_.Wrap(sealed, now);
  if (!datagram) {
    send_failures_.fetch_add(1, std::memory_order_relaxed);
    return datagram.error();
  }
  packets_sent_.fetch_add(1, std::memory_order_relaxed);
  auto sent = socket_->SendTo(socket_->relay_endpoint(), *datagram);
  if (!sent.ok()) {
    send_failures_.fetch_add(1, std::memory_order_relaxed);
    return sent;
  }
  bytes_sent_.fetch_add(datagram->size(), std::memory_order_relaxed);
  return Ok{};
}

std::optional<std::vector<uint8_t>> RelayUdpPath::Receive(TimePoint now) {
  Tick(now);  // applies a pending rebind request first
  while (auto datagram = socket_->ReceiveFromRelay()) {
    const auto unwrapped = session_.Unwrap(*datagram);
    switch (unwrapped.kind) {
      case RelayClientSession::Arrival::kAck:
        ready_.store(session_.ready(), std::memory_order_relaxed);
        if (!session_.binding()) rebind_acknowledged_.store(rebind_applied_, std::memory_order_release);
        if (session_.reflexive_address()) socket_->SetReflexiveEndpoint(*session_.reflexive_address());
        continue;
      case RelayClientSession::Arrival::kDropped:
        dropped_received_.fetch_add(1, std::memory_order_relaxed);
        continue;
      case RelayClientSession::Arrival::kSealed:
        packets_received_.fetch_add(1, std::memory_order_relaxed);
        bytes_received_.fetch_add(datagram->size(), std::memory_order_relaxed);
        return std::move(*datagram);
    }
  }
  return std::nullopt;
}

void RelayUdpPath::Tick(TimePoint now) {
  ApplyRebindRequest();
  if (auto bind = session_.TakeDueBind(now)) SendDatagram(*bind);
}

PacketPathStats RelayUdpPath::stats() const {
  PacketPathStats s;
  s.packets_sent = packets_sent_.load(std::memory_order_relaxed);
  s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  s.send_failures = send_failures_.load(std::memory_order_relaxed);
  s.packets_received = packets_received_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
  s.dropped_received = dropped_received_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace parley::net
