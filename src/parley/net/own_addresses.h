// The numeric addresses a server is reachable at (its listen address, its public host
// resolved, its interfaces when it listens on a wildcard): what the relay refuses as a
// peer (issue #7, "special addresses ... the server's own").
#pragma once

#include <string>
#include <vector>

namespace parley::net {

// Pure: `listen_host` itself unless it is a wildcard ("0.0.0.0", "::" or empty), then
// `interface_addresses` instead; then `public_host_addresses`. Numeric strings in,
// numeric strings out, in that order, without duplicates (compared as text after
// stripping [brackets]).
std::vector<std::string> CombineOwnAddresses(const std::string& listen_host,
                                             const std::vector<std::string>& public_host_addresses,
                                             const std::vector<std::string>& interface_addresses);

// Every IPv4 and IPv6 address `host` resolves to (a numeric host is returned as is),
// as numeric text; empty if it does not resolve. Blocks on the resolver: call at
// start-up, any thread.
std::vector<std::string> ResolveHostAddresses(const std::string& host);

// The addresses of this machine's interfaces that are up (getifaddrs), IPv4 and IPv6,
// loopback included, link-local left out. Any thread.
std::vector<std::string> InterfaceAddresses();

}  // namespace parley::net
