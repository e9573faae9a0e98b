// Parsing and printing numeric UDP endpoints, and converting them to socket addresses.
#include "parley/net/udp_endpoint.h"

#include <arpa/inet.h>

#include <cstring>

namespace parley::net {
namespace {

Error Bad(std::string_view text, const std::string& why) {
  return Error{"bad address \"" + std::string(text) + "\": " + why +
               "; write a numeric IPv4 or [IPv6] address and a port, e.g. 127.0.0.1:9000"};
}

}  // namespace

Result<UdpEndpoint> UdpEndpoint::Parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Bad(text, "no ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return Bad(text, "no port");
    port = text.substr(close + 2);
    bracketed = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Bad(text, "no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return Bad(text, "put an IPv6 address in brackets");
  }
  if (port.empty() || port.size() > 5) return Bad(text, "the port must be a number from 0 to 65535");
  uint32_t port_number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Bad(text, "the port must be a number from 0 to 65535");
    port_number = port_number * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port_number > 65535) return Bad(text, "the port must be a number from 0 to 65535");
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return Bad(text, "no address");

  UdpEndpoint endpoint;
  endpoint.port_ = static_cast<uint16_t>(port_number);
  const std::string host_z(host);  // inet_pton wants a terminated string
  if (!bracketed && inet_pton(AF_INET, host_z.c_str(), endpoint.address_) == 1) {
    endpoint.family_ = AF_INET;
  } else if (bracketed && inet_pton(AF_INET6, host_z.c_str(), endpoint.address_) == 1) {
    endpoint.family_ = AF_INET6;
  } else {
    return Bad(text, "\"" + host_z + "\" is not a numeric " + (bracketed ? "IPv6" : "IPv4") + " address");
  }
  return endpoint;
}

UdpEndpoint UdpEndpoint::FromSockaddr(const sockaddr* address, socklen_t size) {
  UdpEndpoint endpoint;
  if (address->sa_family == AF_INET && size >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof(in));
    endpoint.family_ = AF_INET;
    std::memcpy(endpoint.address_, &in.sin_addr, 4);
    endpoint.port_ = ntohs(in.sin_port);
  } else if (address->sa_family == AF_INET6 && size >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof(in6));
    endpoint.family_ = AF_INET6;
    std::memcpy(endpoint.address_, &in6.sin6_addr, 16);
    endpoint.port_ = ntohs(in6.sin6_port);
  }
  return endpoint;
}

sockaddr_storage UdpEndpoint::ToSockaddr() const {
  sockaddr_storage storage{};
  if (family_ == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port_);
    std::memcpy(&in.sin_addr, address_, 4);
    std::memcpy(&storage, &in, sizeof(in));
  } else if (family_ == AF_INET6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port_);
    std::memcpy(&in6.sin6_addr, address_, 16);
    std::memcpy(&storage, &in6, sizeof(in6));
  }
  return storage;
}

socklen_t UdpEndpoint::sockaddr_size() const {
  if (family_ == AF_INET) return sizeof(sockaddr_in);
  if (family_ == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

std::string UdpEndpoint::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family_ == AF_UNSPEC || inet_ntop(family_, address_, text, sizeof(text)) == nullptr) {
    return "(none)";
  }
  if (family_ == AF_INET6) return "[" + std::string(text) + "]:" + std::to_string(port_);
  return std::string(text) + ":" + std::to_string(port_);
}

}  // namespace parley::net
