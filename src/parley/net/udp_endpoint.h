// A UDP address and port (IPv4 or IPv6) as given on a command line ("127.0.0.1:9000",
// "[::1]:9000") and as the socket calls take it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::net {

// A numeric address and a port; no name lookup ever (a name would mean DNS traffic
// nobody asked for). A value type; any thread.
class UdpEndpoint {
 public:
  UdpEndpoint() = default;

  // "A.B.C.D:PORT" or "[IPV6]:PORT", PORT 0..65535 (0: any free port, for listening).
  // Errors say what was wrong, e.g. "bad address "localhost:9": write a numeric
  // IPv4 or [IPv6] address and a port, e.g. 127.0.0.1:9000".
  static Result<UdpEndpoint> Parse(std::string_view text);
  // From what recvfrom/getsockname filled in; an unknown family gives an empty endpoint.
  static UdpEndpoint FromSockaddr(const sockaddr* address, socklen_t size);

  bool empty() const { return family_ == AF_UNSPEC; }
  int family() const { return family_; }
  uint16_t port() const { return port_; }
  // For bind/connect/sendto: a sockaddr_in or sockaddr_in6 built from this.
  sockaddr_storage ToSockaddr() const;
  socklen_t sockaddr_size() const;
  // "127.0.0.1:9000" or "[::1]:9000": what Parse reads back.
  std::string ToString() const;

  auto operator<=>(const UdpEndpoint&) const = default;

 private:
  int family_ = AF_UNSPEC;
  uint8_t address_[16] = {};  // network order; IPv4 uses the first 4 bytes
  uint16_t port_ = 0;         // host order
};

}  // namespace parley::net
