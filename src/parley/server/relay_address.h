// A peer address as the relay keeps it: normalised IPv6 (IPv4 as ::ffff:a.b.c.d) and
// port, with the classification the relay's refusal rules need.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::server {

// A value type, cheap to copy and compare. Invariant: an IPv4 address is always held
// in its IPv4-mapped form (::ffff:a.b.c.d), so a peer reached over a dual-stack socket
// and the same peer reached over an IPv4 socket compare equal.
class RelayAddress {
 public:
  RelayAddress() = default;
  RelayAddress(const std::array<uint8_t, 16>& ip, uint16_t port) : ip_(ip), port_(port) {}

  static RelayAddress FromIpv4(uint32_t ipv4_host_order, uint16_t port);
  // Parses a numeric IPv4 or IPv6 address (no names, no brackets); nullopt otherwise.
  static std::optional<RelayAddress> Parse(std::string_view ip, uint16_t port);
  // From a received sockaddr (AF_INET or AF_INET6); nullopt for other families.
  static std::optional<RelayAddress> FromSockaddr(const sockaddr* address, socklen_t size);

  // Writes the address for sending on a socket of `family` (AF_INET or AF_INET6; an
  // IPv4 address on an AF_INET6 socket becomes IPv4-mapped). Returns the length, or 0
  // if the address cannot be reached on that family (IPv6 on an AF_INET socket).
  socklen_t ToSockaddr(int family, sockaddr_storage* out) const;

  const std::array<uint8_t, 16>& ip() const { return ip_; }
  uint16_t port() const { return port_; }
  bool is_ipv4() const;

  // Classes the relay refuses to forward to or from (hardening, issue #7).
  bool IsUnspecified() const;  // 0.0.0.0/8, ::
  bool IsLoopback() const;     // 127.0.0.0/8, ::1
  bool IsLinkLocal() const;    // 169.254.0.0/16, fe80::/10
  bool IsMulticastOrBroadcast() const;  // 224.0.0.0/4, 255.255.255.255, ff00::/8
  // Same IP, any port.
  bool SameHost(const RelayAddress& other) const { return ip_ == other.ip_; }

  std::string ToString() const;  // "1.2.3.4:5" or "[::1]:5"

  friend bool operator==(const RelayAddress&, const RelayAddress&) = default;

 private:
  std::array<uint8_t, 16> ip_{};
  uint16_t port_ = 0;
};

}  // namespace parley::server
