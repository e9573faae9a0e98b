// Which UDP endpoints may be P2P candidates (docs/protocol.md, "Direct P2P"): the
// checks applied to every candidate a client gathers, sends or receives.
#pragma once

#include "parley/base/result.h"
#include "parley/net/udp_endpoint.h"

namespace parley::net {

// At most this many candidates in one `candidates` message (local addresses plus the
// address the relay saw); more would only multiply the packets sent while punching.
inline constexpr std::size_t kMaxCandidates = 8;

// A candidate must be an IPv4 or IPv6 unicast address with a port: not unspecified
// (0.0.0.0, ::), not multicast (224.0.0.0/4, ff00::/8), not the IPv4 broadcast
// 255.255.255.255, not an IPv4-mapped IPv6 address (::ffff:0:0/96, which would name an
// IPv4 host behind the family the receiver checks), and port != 0. The error is the
// end of a sentence ("is a multicast address; ..."), so callers can name the field.
Status CheckCandidate(const UdpEndpoint& endpoint);

// 127.0.0.0/8 and ::1. Loopback candidates pass CheckCandidate (tests run on one host)
// but a client uses and accepts them only when its relay is on loopback too.
bool IsLoopback(const UdpEndpoint& endpoint);
// 169.254.0.0/16 and fe80::/10: never gathered (they name a link, not a host).
bool IsLinkLocal(const UdpEndpoint& endpoint);

}  // namespace parley::net
