// socket/bind/sendto/recvfrom for UdpDatagramSocket.
#include "parley/net/udp_datagram_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace parley::net {

Result<std::unique_ptr<UdpDatagramSocket>> UdpDatagramSocket::Bind(const UdpEndpoint& local) {
  const int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{std::string("Cannot open a UDP socket: ") + std::strerror(errno) + "."};
  if (local.family() == AF_INET6) {
    int off = 0;
    (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  const sockaddr_storage address = local.ToSockaddr();
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), local.sockaddr_size()) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Error{"Cannot bind a UDP socket to " + local.ToString() + ": " + why + "; choose another port."};
  }
  sockaddr_storage bound{};
  socklen_t size = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &size);
  return std::unique_ptr<UdpDatagramSocket>(
      new UdpDatagramSocket(fd, UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&bound), size)));
}

UdpDatagramSocket::~UdpDatagramSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Status UdpDatagramSocket::SendTo(std::span<const uint8_t> datagram, const UdpEndpoint& to) {
  sockaddr_storage address = to.ToSockaddr();
  socklen_t size = to.sockaddr_size();
  // An IPv4 peer from a dual-stack IPv6 socket: as an IPv4-mapped address.
  if (local_.family() == AF_INET6 && to.family() == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &address, sizeof(in));
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = in.sin_port;
    in6.sin6_addr.s6_addr[10] = 0xFF;
    in6.sin6_addr.s6_addr[11] = 0xFF;
    std::memcpy(&in6.sin6_addr.s6_addr[12], &in.sin_addr, 4);
    address = {};
    std::memcpy(&address, &in6, sizeof(in6));
    size = sizeof(in6);
  } else if (local_.family() != to.family()) {
    return Error{"Cannot send to " + to.ToString() + " from an IPv4-only socket."};
  }
  const ssize_t sent = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&address), size);
  if (sent < 0) return Error{"Sending to " + to.ToString() + " failed: " + std::strerror(errno) + "."};
  return Ok{};
}

std::optional<ReceivedDatagram> UdpDatagramSocket::ReceiveFrom() {
  uint8_t buffer[2048];
  while (true) {
    sockaddr_storage from{};
    socklen_t size = sizeof(from);
    const ssize_t n =
        ::recvfrom(fd_, buffer, sizeof(buffer), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &size);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: nothing waiting. ECONNREFUSED and the like: an ICMP error for an
      // earlier datagram, consumed here; the next call reads on.
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) continue;
      return std::nullopt;
    }
    ReceivedDatagram out;
    out.from = UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&from), size);
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; candidates are IPv4.
    if (from.ss_family == AF_INET6) {
      sockaddr_in6 in6{};
      std::memcpy(&in6, &from, sizeof(in6));
      if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = in6.sin6_port;
        std::memcpy(&in.sin_addr, &in6.sin6_addr.s6_addr[12], 4);
        out.from = UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
      }
    }
    out.bytes.assign(buffer, buffer + n);
    return out;
  }
}

}  // namespace parley::net
