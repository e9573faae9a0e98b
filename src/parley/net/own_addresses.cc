// A server's own addresses: combined (pure), resolved (getaddrinfo) and gathered from
// the interfaces (local_addresses.h).
#include "parley/net/own_addresses.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "parley/net/local_addresses.h"
#include "parley/net/udp_endpoint.h"

namespace parley::net {
namespace {

std::string Unbracketed(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

bool IsWildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

void AddOnce(std::vector<std::string>& out, const std::string& address) {
  const std::string plain = Unbracketed(address);
  if (plain.empty() || std::find(out.begin(), out.end(), plain) != out.end()) return;
  out.push_back(plain);
}

}  // namespace

std::vector<std::string> CombineOwnAddresses(const std::string& listen_host,
                                             const std::vector<std::string>& public_host_addresses,
                                             const std::vector<std::string>& interface_addresses) {
  std::vector<std::string> out;
  const std::string listen = Unbracketed(listen_host);
  if (IsWildcard(listen)) {
    for (const std::string& address : interface_addresses) AddOnce(out, address);
  } else {
    AddOnce(out, listen);
  }
  for (const std::string& address : public_host_addresses) AddOnce(out, address);
  return out;
}

std::vector<std::string> ResolveHostAddresses(const std::string& host) {
  std::vector<std::string> out;
  const std::string plain = Unbracketed(host);
  if (plain.empty()) return out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(plain.c_str(), nullptr, &hints, &found) != 0) return out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* bytes = nullptr;
    if (a->ai_family == AF_INET) bytes = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    if (a->ai_family == AF_INET6) bytes = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    if (bytes && ::inet_ntop(a->ai_family, bytes, text, sizeof text)) AddOnce(out, text);
  }
  ::freeaddrinfo(found);
  return out;
}

std::vector<std::string> InterfaceAddresses() {
  std::vector<std::string> out;
  const std::vector<UdpEndpoint> endpoints = GatherLocalAddresses(
      LocalAddressOptions{.port = 1, .include_ipv4 = true, .include_ipv6 = true, .include_loopback = true,
                          .max_count = 256});
  for (const UdpEndpoint& endpoint : endpoints) {
    // "A.B.C.D:1" or "[V6]:1": the address part.
    const std::string text = endpoint.ToString();
    AddOnce(out, text.substr(0, text.rfind(':')));
  }
  return out;
}

}  // namespace parley::net
