// Relay peer addresses: normalisation, sockaddr conversion, classification.
#include "parley/server/relay_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace parley::server {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

uint32_t Ipv4Of(const std::array<uint8_t, 16>& ip) {
  return (uint32_t{ip[12]} << 24) | (uint32_t{ip[13]} << 16) | (uint32_t{ip[14]} << 8) | ip[15];
}

}  // namespace

RelayAddress RelayAddress::FromIpv4(uint32_t ipv4, uint16_t port) {
  std::array<uint8_t, 16> ip{};
  std::memcpy(ip.data(), kMappedPrefix.data(), kMappedPrefix.size());
  ip[12] = static_cast<uint8_t>(ipv4 >> 24);
  ip[13] = static_cast<uint8_t>(ipv4 >> 16);
  ip[14] = static_cast<uint8_t>(ipv4 >> 8);
  ip[15] = static_cast<uint8_t>(ipv4);
  return RelayAddress(ip, port);
}

std::optional<RelayAddress> RelayAddress::Parse(std::string_view text, uint16_t port) {
  const std::string ip(text);
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return FromIpv4(ntohl(v4.s_addr), port);
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) {
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &v6, 16);
    return RelayAddress(bytes, port);
  }
  return std::nullopt;
}

std::optional<RelayAddress> RelayAddress::FromSockaddr(const sockaddr* address, socklen_t size) {
  if (address->sa_family == AF_INET && size >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return FromIpv4(ntohl(in->sin_addr.s_addr), ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6 && size >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
    return RelayAddress(bytes, ntohs(in6->sin6_port));
  }
  return std::nullopt;
}

socklen_t RelayAddress::ToSockaddr(int family, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port_);
    std::memcpy(&in6->sin6_addr, ip_.data(), 16);
    return sizeof(sockaddr_in6);
  }
  if (family == AF_INET && is_ipv4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port_);
    in->sin_addr.s_addr = htonl(Ipv4Of(ip_));
    return sizeof(sockaddr_in);
  }
  return 0;
}

bool RelayAddress::is_ipv4() const {
  return std::memcmp(ip_.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

bool RelayAddress::IsUnspecified() const {
  if (is_ipv4()) return (Ipv4Of(ip_) >> 24) == 0;
  for (uint8_t b : ip_) {
    if (b != 0) return false;
  }
  return true;
}

bool RelayAddress::IsLoopback() const {
  if (is_ipv4()) return (Ipv4Of(ip_) >> 24) == 127;
  for (int i = 0; i < 15; ++i) {
    if (ip_[i] != 0) return false;
  }
  return ip_[15] == 1;
}

bool RelayAddress::IsLinkLocal() const {
  if (is_ipv4()) return (Ipv4Of(ip_) >> 16) == 0xa9fe;
  return ip_[0] == 0xfe && (ip_[1] & 0xc0) == 0x80;
}

bool RelayAddress::IsMulticastOrBroadcast() const {
  if (is_ipv4()) {
    const uint32_t v4 = Ipv4Of(ip_);
    return (v4 >> 28) == 0xe || v4 == 0xffffffffu;
  }
  return ip_[0] == 0xff;
}

std::string RelayAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (is_ipv4()) {
    in_addr v4{};
    v4.s_addr = htonl(Ipv4Of(ip_));
    inet_ntop(AF_INET, &v4, buffer, sizeof(buffer));
    return std::string(buffer) + ":" + std::to_string(port_);
  }
  in6_addr v6{};
  std::memcpy(&v6, ip_.data(), 16);
  inet_ntop(AF_INET6, &v6, buffer, sizeof(buffer));
  return "[" + std::string(buffer) + "]:" + std::to_string(port_);
}

}  // namespace parley::server
