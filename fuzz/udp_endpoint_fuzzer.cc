// Fuzzes the UDP endpoint parser (--listen/--to of parley-netem): any text either
// fails with a message or parses to an endpoint that prints, reparses and converts to
// a socket address and back unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parley/base/check.h"
#include "parley/net/udp_endpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using parley::net::UdpEndpoint;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto endpoint = UdpEndpoint::Parse(text);
  if (!endpoint.ok()) {
    PARLEY_CHECK(!endpoint.error().message.empty());
    return 0;
  }
  PARLEY_CHECK(!endpoint->empty());
  auto again = UdpEndpoint::Parse(endpoint->ToString());
  PARLEY_CHECK(again.ok());
  PARLEY_CHECK(*again == *endpoint);
  const sockaddr_storage address = endpoint->ToSockaddr();
  PARLEY_CHECK(UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&address),
                                         endpoint->sockaddr_size()) == *endpoint);
  return 0;
}
