// getifaddrs(3) to host candidates.
#include "parley/net/local_addresses.h"

#include <ifaddrs.h>
#include <net/if.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "parley/net/candidate_address.h"

namespace parley::net {

std::vector<UdpEndpoint> GatherLocalAddresses(const LocalAddressOptions& options) {
  std::vector<UdpEndpoint> v4, v6;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    const int family = i->ifa_addr->sa_family;
    if (family == AF_INET && !options.include_ipv4) continue;
    if (family == AF_INET6 && !options.include_ipv6) continue;
    if (family != AF_INET && family != AF_INET6) continue;
    // The interface's address with the socket's port (getifaddrs leaves the port 0).
    sockaddr_storage storage{};
    socklen_t size = 0;
    if (family == AF_INET) {
      sockaddr_in in{};
      std::memcpy(&in, i->ifa_addr, sizeof(in));
      in.sin_port = htons(options.port);
      std::memcpy(&storage, &in, sizeof(in));
      size = sizeof(in);
    } else {
      sockaddr_in6 in6{};
      std::memcpy(&in6, i->ifa_addr, sizeof(in6));
      in6.sin6_port = htons(options.port);
      in6.sin6_scope_id = 0;
      std::memcpy(&storage, &in6, sizeof(in6));
      size = sizeof(in6);
    }
    const UdpEndpoint candidate = UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), size);
    if (IsLinkLocal(candidate) || (IsLoopback(candidate) && !options.include_loopback)) continue;
    if (!CheckCandidate(candidate).ok()) continue;
    auto& bucket = family == AF_INET ? v4 : v6;
    if (std::find(bucket.begin(), bucket.end(), candidate) == bucket.end()) bucket.push_back(candidate);
  }
  freeifaddrs(list);
  std::vector<UdpEndpoint> out = std::move(v4);
  out.insert(out.end(), v6.begin(), v6.end());
  if (out.size() > options.max_count) out.resize(options.max_count);
  return out;
}

}  // namespace parley::net
