// Classification of candidate addresses by their bytes (RFC 6890 special ranges).
#include "parley/net/candidate_address.h"

#include <cstring>

namespace parley::net {
namespace {

// The address bytes in network order (4 or 16 of them), from the socket address.
struct AddressBytes {
  int family = AF_UNSPEC;
  uint8_t bytes[16] = {};
};

AddressBytes BytesOf(const UdpEndpoint& endpoint) {
  AddressBytes out;
  const sockaddr_storage storage = endpoint.ToSockaddr();
  out.family = endpoint.family();
  if (out.family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &storage, sizeof(in));
    std::memcpy(out.bytes, &in.sin_addr, 4);
  } else if (out.family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &storage, sizeof(in6));
    std::memcpy(out.bytes, &in6.sin6_addr, 16);
  }
  return out;
}

bool AllZero(const uint8_t* bytes, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

Status CheckCandidate(const UdpEndpoint& endpoint) {
  const AddressBytes a = BytesOf(endpoint);
  if (a.family == AF_INET) {
    if (AllZero(a.bytes, 4)) return Error{"is the unspecified address 0.0.0.0; send a unicast address"};
    if ((a.bytes[0] & 0xF0) == 0xE0) return Error{"is a multicast address; send a unicast address"};
    if (a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255) {
      return Error{"is the broadcast address; send a unicast address"};
    }
  } else if (a.family == AF_INET6) {
    if (AllZero(a.bytes, 16)) return Error{"is the unspecified address ::; send a unicast address"};
    if (a.bytes[0] == 0xFF) return Error{"is a multicast address; send a unicast address"};
    if (AllZero(a.bytes, 10) && a.bytes[10] == 0xFF && a.bytes[11] == 0xFF) {
      return Error{"is an IPv4-mapped IPv6 address; send the IPv4 address itself"};
    }
  } else {
    return Error{"is not an IPv4 or IPv6 address"};
  }
  if (endpoint.port() == 0) return Error{"has port 0; send the port the socket is bound to"};
  return Ok{};
}

bool IsLoopback(const UdpEndpoint& endpoint) {
  const AddressBytes a = BytesOf(endpoint);
  if (a.family == AF_INET) return a.bytes[0] == 127;
  if (a.family == AF_INET6) return AllZero(a.bytes, 15) && a.bytes[15] == 1;
  return false;
}

bool IsLinkLocal(const UdpEndpoint& endpoint) {
  const AddressBytes a = BytesOf(endpoint);
  if (a.family == AF_INET) return a.bytes[0] == 169 && a.bytes[1] == 254;
  if (a.family == AF_INET6) return a.bytes[0] == 0xFE && (a.bytes[1] & 0xC0) == 0x80;
  return false;
}

}  // namespace parley::net
