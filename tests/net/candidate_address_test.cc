// P2P candidate checks (unicast only, port set, no mapped addresses) and gathering of
// this host's addresses (no link-local; loopback only when asked).
#include "parley/net/candidate_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/net/local_addresses.h"

namespace parley::net {
namespace {

using ::testing::HasSubstr;

UdpEndpoint E(const char* text) {
  auto e = UdpEndpoint::Parse(text);
  PARLEY_CHECK_MSG(e.ok(), text);
  return *e;
}

TEST(CandidateAddressTest, AcceptsUnicastAddressesWithAPort) {
  for (const char* ok : {"203.0.113.7:40000", "10.0.0.2:1", "127.0.0.1:9", "[2001:db8::7]:40000", "[::1]:5"}) {
    EXPECT_TRUE(CheckCandidate(E(ok)).ok()) << ok;
  }
}

TEST(CandidateAddressTest, RefusesWhatIsNotOneHost) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"0.0.0.0:5", "unspecified"}, Case{"[::]:5", "unspecified"},
                        Case{"224.0.0.1:5", "multicast"}, Case{"239.255.255.250:1900", "multicast"},
                        Case{"[ff02::1]:5", "multicast"}, Case{"255.255.255.255:5", "broadcast"},
                        Case{"[::ffff:10.0.0.1]:5", "IPv4-mapped"}, Case{"10.0.0.1:0", "port 0"}}) {
    Status s = CheckCandidate(E(c.text));
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_THAT(s.error().message, HasSubstr(c.why)) << c.text;
  }
  EXPECT_FALSE(CheckCandidate(UdpEndpoint{}).ok());
}

TEST(CandidateAddressTest, ClassifiesLoopbackAndLinkLocal) {
  EXPECT_TRUE(IsLoopback(E("127.0.0.1:1")));
  EXPECT_TRUE(IsLoopback(E("127.5.6.7:1")));
  EXPECT_TRUE(IsLoopback(E("[::1]:1")));
  EXPECT_FALSE(IsLoopback(E("10.0.0.1:1")));
  EXPECT_FALSE(IsLoopback(E("[::2]:1")));
  EXPECT_TRUE(IsLinkLocal(E("169.254.3.4:1")));
  EXPECT_TRUE(IsLinkLocal(E("[fe80::1]:1")));
  EXPECT_TRUE(IsLinkLocal(E("[febf::1]:1")));
  EXPECT_FALSE(IsLinkLocal(E("[fec0::1]:1")));
  EXPECT_FALSE(IsLinkLocal(E("192.168.1.1:1")));
}

TEST(LocalAddressesTest, GathersUpInterfacesWithThePortAndNoLinkLocal) {
  LocalAddressOptions options;
  options.port = 4321;
  options.include_loopback = true;
  const auto with_loopback = GatherLocalAddresses(options);
  // Every machine that runs the tests has an up loopback interface.
  EXPECT_TRUE(std::any_of(with_loopback.begin(), with_loopback.end(),
                          [](const UdpEndpoint& e) { return e == E("127.0.0.1:4321"); }));
  bool seen_v6 = false;
  for (const auto& e : with_loopback) {
    EXPECT_EQ(e.port(), 4321);
    EXPECT_TRUE(CheckCandidate(e).ok()) << e.ToString();
    EXPECT_FALSE(IsLinkLocal(e)) << e.ToString();
    if (e.family() == AF_INET6) seen_v6 = true;
    if (e.family() == AF_INET) {
      EXPECT_FALSE(seen_v6) << "IPv4 candidates come first";
    }
  }
  EXPECT_LE(with_loopback.size(), options.max_count);

  options.include_loopback = false;
  for (const auto& e : GatherLocalAddresses(options)) EXPECT_FALSE(IsLoopback(e)) << e.ToString();
  options.include_loopback = true;
  options.include_ipv6 = false;
  for (const auto& e : GatherLocalAddresses(options)) EXPECT_EQ(e.family(), AF_INET);
  options.max_count = 1;
  EXPECT_LE(GatherLocalAddresses(options).size(), 1u);
}

}  // namespace
}  // namespace parley::net
