// The shared UDP socket: sending to any address, sorting received datagrams by source.
#include "parley/net/shared_udp_socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace parley::net {
namespace {

// Larger than any datagram Parley sends (1200), so MSG_TRUNC tells oversized ones apart.
constexpr std::size_t kReceiveBufferSize = 2048;

}  // namespace

Result<std::shared_ptr<SharedUdpSocket>> SharedUdpSocket::Open(int family, uint16_t local_port) {
  if (family != AF_INET && family != AF_INET6) return Error{"A UDP socket is IPv4 or IPv6."};
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return Error{std::string("Cannot open a UDP socket (") + std::strerror(errno) + "); is the network up?"};
  sockaddr_storage address{};
  socklen_t size = 0;
  if (family == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(local_port);
    std::memcpy(&address, &in, sizeof(in));
    size = sizeof(in);
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(local_port);
    std::memcpy(&address, &in6, sizeof(in6));
    size = sizeof(in6);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0) {
    const int error = errno;
    ::close(fd);
    return Error{"Cannot bind a UDP socket to port " + std::to_string(local_port) + " (" + std::strerror(error) +
                 "); choose another port."};
  }
  auto socket = std::shared_ptr<SharedUdpSocket>(new SharedUdpSocket(fd, family));
  socket->buffer_.resize(kReceiveBufferSize);
  return socket;
}

SharedUdpSocket::~SharedUdpSocket() { ::close(fd_); }

Status SharedUdpSocket::Reopen() {
  auto fresh = Open(family_);
  if (!fresh) return fresh.error();
  std::lock_guard lock(mutex_);
  // dup2 closes the old socket and puts the new one at fd_ in one step; the temporary
  // descriptor is then closed by `fresh`'s destructor.
  if (::dup2((*fresh)->fd_, fd_) < 0) {
    return Error{std::string("Cannot switch to a fresh UDP socket (") + std::strerror(errno) + ")."};
  }
  from_relay_.clear();
  from_others_.clear();
  reflexive_.reset();
  return Ok{};
}

void SharedUdpSocket::SetRelayEndpoint(const UdpEndpoint& relay) {
  std::lock_guard lock(mutex_);
  relay_ = relay;
}

UdpEndpoint SharedUdpSocket::relay_endpoint() const {
  std::lock_guard lock(mutex_);
  return relay_;
}

Status SharedUdpSocket::SendTo(const UdpEndpoint& to, std::span<const uint8_t> datagram) {
  const sockaddr_storage address = to.ToSockaddr();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&address), to.sockaddr_size());
    if (n == static_cast<ssize_t>(datagram.size())) return Ok{};
    if (n < 0 && errno == EINTR) continue;
    const int error = n < 0 ? errno : EMSGSIZE;
    return Error{"A datagram to " + to.ToString() + " was not sent (" + std::strerror(error) + ")."};
  }
  return Error{"A datagram to " + to.ToString() + " was interrupted twice and not sent."};
}

bool SharedUdpSocket::ReadOneLocked() {
  for (;;) {
    sockaddr_storage source{};
    socklen_t source_size = sizeof(source);
    const ssize_t n = ::recvfrom(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&source), &source_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;  // EAGAIN: nothing waiting (an unconnected socket reports no ICMP errors)
    }
    if (static_cast<std::size_t>(n) > buffer_.size()) continue;  // truncated: nothing we send is this big
    const UdpEndpoint from = UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&source), source_size);
    std::vector<uint8_t> bytes(buffer_.begin(), buffer_.begin() + n);
    if (!relay_.empty() && from == relay_) {
      if (from_relay_.size() >= kQueueLimit) {
        from_relay_.pop_front();
        ++dropped_queued_;
      }
      from_relay_.push_back(std::move(bytes));
    } else {
      if (from_others_.size() >= kQueueLimit) {
        from_others_.pop_front();
        ++dropped_queued_;
      }
      from_others_.push_back(UdpDatagram{from, std::move(bytes)});
    }
    return true;
  }
}

std::optional<std::vector<uint8_t>> SharedUdpSocket::ReceiveFromRelay() {
  std::lock_guard lock(mutex_);
  while (from_relay_.empty()) {
    if (!ReadOneLocked()) return std::nullopt;
  }
  std::vector<uint8_t> datagram = std::move(from_relay_.front());
  from_relay_.pop_front();
  return datagram;
}

std::optional<UdpDatagram> SharedUdpSocket::ReceiveFromOthers() {
  std::lock_guard lock(mutex_);
  while (from_others_.empty()) {
    if (!ReadOneLocked()) return std::nullopt;
  }
  UdpDatagram datagram = std::move(from_others_.front());
  from_others_.pop_front();
  return datagram;
}

UdpEndpoint SharedUdpSocket::local_endpoint() const {
  sockaddr_storage address{};
  socklen_t size = sizeof(address);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) return UdpEndpoint{};
  return UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&address), size);
}

void SharedUdpSocket::SetReflexiveEndpoint(const UdpEndpoint& reflexive) {
  std::lock_guard lock(mutex_);
  reflexive_ = reflexive;
}

std::optional<UdpEndpoint> SharedUdpSocket::reflexive_endpoint() const {
  std::lock_guard lock(mutex_);
  return reflexive_;
}

uint64_t SharedUdpSocket::dropped_queued() const {
  std::lock_guard lock(mutex_);
  return dropped_queued_;
}

}  // namespace parley::net
