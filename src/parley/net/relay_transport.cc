// The client's UDP transport to the relay: resolution, a connected non-blocking
// socket, and the bind/data framing decision.
#include "parley/net/relay_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "parley/net/udp_endpoint.h"

namespace parley::net {
namespace {

// Larger than any datagram the relay forwards (kMaxSealedSize), so MSG_TRUNC can tell
// an oversized one apart.
constexpr std::size_t kReceiveBufferSize = 2048;

std::string HostPort(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

Result<std::unique_ptr<RelayTransport>> RelayTransport::Open(const std::string& host, uint16_t port,
                                                             std::span<const uint8_t> ticket, TimePoint now,
                                                             RelayTransportOptions options) {
  if (ticket.empty() || ticket.size() > kMaxTicketSize) {
    return Error{"the relay ticket from the server is " + std::to_string(ticket.size()) +
                 " bytes, not 1 to 255; the server is broken or not a Parley server."};
  }
  if (host.empty() || port == 0) {
    return Error{"the server offered no usable relay address (" + HostPort(host, port) + ")."};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Error{"cannot resolve the relay host " + host + " (" + ::gai_strerror(rc) +
                 "); check the network or the server's relay.public_host setting."};
  }
  int fd = -1;
  std::string address;
  int last_errno = 0;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last_errno = errno;
      ::close(fd);
      fd = -1;
      continue;
    }
    address = UdpEndpoint::FromSockaddr(ai->ai_addr, ai->ai_addrlen).ToString();
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return Error{"cannot open a UDP socket to the relay at " + HostPort(host, port) + " (" +
                 std::strerror(last_errno) + "); is the network up?"};
  }
  std::unique_ptr<RelayTransport> transport(
      new RelayTransport(fd, std::vector<uint8_t>(ticket.begin(), ticket.end()), std::move(address), options));
  // Losing this first bind is harmless: every Send binds until the relay is heard.
  (void)transport->SendBind({}, now);
  return transport;
}

RelayTransport::RelayTransport(int fd, std::vector<uint8_t> ticket, std::string relay_address,
                               RelayTransportOptions options)
    : fd_(fd),
      ticket_(std::move(ticket)),
      token_(SessionTokenFor(ticket_)),
      relay_address_(std::move(relay_address)),
      options_(options),
      receive_buffer_(kReceiveBufferSize) {}

RelayTransport::~RelayTransport() {
  if (fd_ >= 0) ::close(fd_);
}

Status RelayTransport::SendDatagram(const std::vector<uint8_t>& datagram) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const ssize_t n = ::send(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(datagram.size())) {
      bytes_sent_.fetch_add(datagram.size(), std::memory_order_relaxed);
      return Ok{};
    }
    // An ICMP error (port unreachable, ...) for an earlier datagram surfaces on a
    // connected socket as the next call's error; the datagram itself was not sent.
    if (n < 0 && (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) && attempt == 0) {
      continue;
    }
    const int error = n < 0 ? errno : EMSGSIZE;
    send_failures_.fetch_add(1, std::memory_order_relaxed);
    return Error{"a packet to the relay at " + relay_address_ + " was not sent (" + std::strerror(error) + ")."};
  }
  send_failures_.fetch_add(1, std::memory_order_relaxed);
  return Error{"a packet to the relay at " + relay_address_ + " was refused twice (the relay is unreachable)."};
}

Status RelayTransport::SendBind(std::span<const uint8_t> sealed, TimePoint now) {
  // Counted as the time of the latest attempt, sent or not: a failed send is retried
  // by the next Send or Keepalive, not in a tight loop.
  last_bind_at_ = now;
  binds_sent_.fetch_add(1, std::memory_order_relaxed);
  return SendDatagram(MakeRelayBindPacket(ticket_, sealed));
}

Status RelayTransport::Send(std::span<const uint8_t> sealed, TimePoint now) {
  if (sealed.size() < kMinSealedSize || sealed.size() > kMaxSealedSize) {
    return Error{"a sealed packet of " + std::to_string(sealed.size()) + " bytes cannot be sent; it must be " +
                 std::to_string(kMinSealedSize) + " to " + std::to_string(kMaxSealedSize) + " bytes."};
  }
  if (!heard_ || now - last_bind_at_ >= options_.rebind_interval) return SendBind(sealed, now);
  data_sent_.fetch_add(1, std::memory_order_relaxed);
  return SendDatagram(MakeRelayDataPacket(token_, sealed));
}

TimePoint RelayTransport::next_keepalive_at() const {
  return last_bind_at_ + (heard_ ? options_.rebind_interval : options_.unheard_bind_interval);
}

Status RelayTransport::Keepalive(TimePoint now) {
  if (now < next_keepalive_at()) return Ok{};
  return SendBind({}, now);
}

std::optional<std::vector<uint8_t>> RelayTransport::Receive() {
  for (;;) {
    const ssize_t n = ::recv(fd_, receive_buffer_.data(), receive_buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      // An ICMP error for something we sent; the next datagram may be fine.
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EINTR) continue;
      return std::nullopt;  // EAGAIN: nothing waiting
    }
    const auto size = static_cast<std::size_t>(n);
    if (size < kMinSealedSize || size > kMaxSealedSize) {
      // The relay forwards only sealed packets; anything else cannot open anyway.
      dropped_received_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // The socket is connected: this came from the relay's address, which forwards to
    // us only while we are bound.
    heard_ = true;
    received_.fetch_add(1, std::memory_order_relaxed);
    bytes_received_.fetch_add(size, std::memory_order_relaxed);
    return std::vector<uint8_t>(receive_buffer_.begin(), receive_buffer_.begin() + n);
  }
}

std::optional<std::vector<uint8_t>> RelayTransport::Receive(Duration wait) {
  const TimePoint deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (auto packet = Receive()) return packet;
    const Duration left = deadline - std::chrono::steady_clock::now();
    if (left <= Duration::zero()) return std::nullopt;
    pollfd pfd{fd_, POLLIN, 0};
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    if (::poll(&pfd, 1, static_cast<int>(ms)) < 0 && errno != EINTR) return std::nullopt;
  }
}

RelayTransportStats RelayTransport::stats() const {
  RelayTransportStats s;
  s.binds_sent = binds_sent_.load(std::memory_order_relaxed);
  s.data_sent = data_sent_.load(std::memory_order_relaxed);
  s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  s.send_failures = send_failures_.load(std::memory_order_relaxed);
  s.received = received_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
  s.dropped_received = dropped_received_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace parley::net
