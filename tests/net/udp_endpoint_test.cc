// Numeric UDP endpoints from the command line: IPv4 and bracketed IPv6 round trips,
// socket address conversion, and a clear error for every malformed form.
#include "parley/net/udp_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace parley::net {
namespace {

using ::testing::HasSubstr;

TEST(UdpEndpointTest, ParsesIpv4AndPrintsItBack) {
  auto e = UdpEndpoint::Parse("127.0.0.1:9000");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->family(), AF_INET);
  EXPECT_EQ(e->port(), 9000);
  EXPECT_EQ(e->ToString(), "127.0.0.1:9000");
  EXPECT_EQ(UdpEndpoint::Parse("0.0.0.0:0")->port(), 0);
  EXPECT_EQ(UdpEndpoint::Parse("10.1.2.3:65535")->ToString(), "10.1.2.3:65535");
}

TEST(UdpEndpointTest, ParsesBracketedIpv6) {
  auto e = UdpEndpoint::Parse("[::1]:443");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->family(), AF_INET6);
  EXPECT_EQ(e->ToString(), "[::1]:443");
}

TEST(UdpEndpointTest, SockaddrRoundTrip) {
  for (const char* text : {"127.0.0.1:1234", "[::1]:5678"}) {
    auto e = UdpEndpoint::Parse(text);
    ASSERT_TRUE(e.ok());
    const sockaddr_storage s = e->ToSockaddr();
    EXPECT_EQ(UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&s), e->sockaddr_size()), *e);
  }
  sockaddr_storage unix_like{};
  unix_like.ss_family = AF_UNIX;
  EXPECT_TRUE(UdpEndpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&unix_like), sizeof(unix_like)).empty());
}

TEST(UdpEndpointTest, OrdersAndComparesByValue) {
  EXPECT_EQ(*UdpEndpoint::Parse("127.0.0.1:1"), *UdpEndpoint::Parse("127.0.0.1:1"));
  EXPECT_NE(*UdpEndpoint::Parse("127.0.0.1:1"), *UdpEndpoint::Parse("127.0.0.1:2"));
  EXPECT_LT(*UdpEndpoint::Parse("127.0.0.1:1"), *UdpEndpoint::Parse("127.0.0.1:2"));
}

struct BadCase {
  const char* text;
  const char* says;
};

class UdpEndpointBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(UdpEndpointBadTest, GivesAClearError) {
  auto e = UdpEndpoint::Parse(GetParam().text);
  ASSERT_FALSE(e.ok()) << GetParam().text;
  EXPECT_THAT(e.error().message, HasSubstr(GetParam().says));
  EXPECT_THAT(e.error().message, HasSubstr("e.g. 127.0.0.1:9000"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, UdpEndpointBadTest,
    ::testing::Values(BadCase{"", "no port"}, BadCase{"127.0.0.1", "no port"},
                      BadCase{"127.0.0.1:", "port must be"}, BadCase{"127.0.0.1:65536", "port must be"},
                      BadCase{"127.0.0.1:123456", "port must be"}, BadCase{"127.0.0.1:-1", "port must be"},
                      BadCase{"127.0.0.1:80x", "port must be"}, BadCase{":80", "no address"},
                      BadCase{"localhost:80", "not a numeric IPv4"}, BadCase{"256.0.0.1:80", "not a numeric"},
                      BadCase{"::1:80", "brackets"}, BadCase{"[::1]", "no port"},
                      BadCase{"[::1:80", "no ']'"}, BadCase{"[127.0.0.1]:80", "not a numeric IPv6"},
                      BadCase{"[]:80", "no address"}));

}  // namespace
}  // namespace parley::net
