// A server's own addresses: the listen address or, for a wildcard, the interfaces; the
// public host resolved; no duplicates; this machine's loopback among its interfaces.
#include "parley/net/own_addresses.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace parley::net {
namespace {

using Addresses = std::vector<std::string>;

bool Has(const Addresses& list, const std::string& address) {
  return std::find(list.begin(), list.end(), address) != list.end();
}

TEST(OwnAddressesTest, SpecificListenAddressAndPublicHostWithoutDuplicates) {
  EXPECT_EQ(CombineOwnAddresses("192.0.2.10", {"203.0.113.5", "192.0.2.10", "2001:db8::5"}, {"10.0.0.1"}),
            (Addresses{"192.0.2.10", "203.0.113.5", "2001:db8::5"}));
  EXPECT_EQ(CombineOwnAddresses("[2001:db8::1]", {"[2001:db8::1]"}, {}), (Addresses{"2001:db8::1"}));
}

TEST(OwnAddressesTest, WildcardListenTakesTheInterfaces) {
  for (const std::string wildcard : {"0.0.0.0", "::", "[::]", ""}) {
    EXPECT_EQ(CombineOwnAddresses(wildcard, {"203.0.113.5"}, {"10.0.0.1", "fd00::1", "10.0.0.1"}),
              (Addresses{"10.0.0.1", "fd00::1", "203.0.113.5"}))
        << wildcard;
  }
  EXPECT_TRUE(CombineOwnAddresses("0.0.0.0", {}, {}).empty());
}

TEST(OwnAddressesTest, ResolvesNumericHostsAsThemselvesAndNamesToAddresses) {
  EXPECT_EQ(ResolveHostAddresses("192.0.2.7"), (Addresses{"192.0.2.7"}));
  EXPECT_EQ(ResolveHostAddresses("[2001:db8::7]"), (Addresses{"2001:db8::7"}));
  EXPECT_TRUE(ResolveHostAddresses("").empty());
  // .invalid never resolves (RFC 6761 §6.4); localhost always does (§6.3).
  EXPECT_TRUE(ResolveHostAddresses("parley.invalid").empty());
  const Addresses local = ResolveHostAddresses("localhost");
  EXPECT_TRUE(Has(local, "127.0.0.1") || Has(local, "::1"));
}

TEST(OwnAddressesTest, InterfacesIncludeLoopbackButNoLinkLocal) {
  const Addresses interfaces = InterfaceAddresses();
  EXPECT_TRUE(Has(interfaces, "127.0.0.1"));
  for (const std::string& address : interfaces) {
    EXPECT_NE(address.rfind("fe80", 0), 0u) << address;
    EXPECT_NE(address.rfind("169.254.", 0), 0u) << address;
    EXPECT_EQ(address.find('['), std::string::npos) << address;
  }
}

}  // namespace
}  // namespace parley::net
