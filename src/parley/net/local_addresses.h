// This host's own addresses as P2P host candidates (docs/protocol.md, "Direct P2P").
#pragma once

#include <cstdint>
#include <vector>

#include "parley/net/udp_endpoint.h"

namespace parley::net {

struct LocalAddressOptions {
  uint16_t port = 0;              // the P2P socket's port, given to every candidate
  bool include_ipv4 = true;
  bool include_ipv6 = true;       // only if the socket is IPv6 (dual-stack)
  bool include_loopback = false;  // tests: only when the relay itself is on loopback
  std::size_t max_count = 7;      // leaves room for the relay-seen candidate
};

// The addresses of the interfaces that are up (getifaddrs), with options.port, that
// pass CheckCandidate: never link-local, loopback only if asked; IPv4 first, without
// duplicates, at most max_count. Reads the system on the calling thread; any thread.
std::vector<UdpEndpoint> GatherLocalAddresses(const LocalAddressOptions& options);

}  // namespace parley::net
