// MediaRelayRoutes: the TLS front bridges only to relays the community knows (own,
// configured, live on the bus), never to an address a client made up.
#include "parley/server/media_relay_routes.h"

#include <gtest/gtest.h>

namespace parley::server {
namespace {

using Kind = MediaRelayRoute::Kind;

MediaRelayRoutes Routes() {
  return MediaRelayRoutes({"parley.example.org", 3478},
                          {{"relay1.example.org", 3478}, {"2001:db8::2", 4000}, {"192.0.2.7", 3478}});
}

TEST(MediaRelayRoutesTest, TheOwnRelayGoesThroughTheBridge) {
  const auto route = Routes().Route("parley.example.org", 3478);
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->kind, Kind::kOwnBridge);
  // DNS names compare without case.
  EXPECT_EQ(Routes().Route("Parley.Example.ORG", 3478)->kind, Kind::kOwnBridge);
}

TEST(MediaRelayRoutesTest, ConfiguredAndLiveRelaysGoOverUdp) {
  EXPECT_EQ(Routes().Route("relay1.example.org", 3478), (MediaRelayRoute{Kind::kUdp, "relay1.example.org", 3478}));
  EXPECT_EQ(Routes().Route("2001:db8::2", 4000), (MediaRelayRoute{Kind::kUdp, "2001:db8::2", 4000}));
  const std::vector<RelayRecord> live = {{"r9", "relay9.example.org", 5000, 1, 10}};
  EXPECT_FALSE(Routes().Route("relay9.example.org", 5000).has_value());  // the bus not asked
  EXPECT_EQ(Routes().Route("relay9.example.org", 5000, live),
            (MediaRelayRoute{Kind::kUdp, "relay9.example.org", 5000}));
}

TEST(MediaRelayRoutesTest, AnythingElseIsRefused) {
  const std::vector<RelayRecord> live = {{"r9", "relay9.example.org", 5000, 1, 10}};
  for (const auto& [host, port] : std::vector<std::pair<std::string, uint16_t>>{
           {"parley.example.org", 3479},   // own host, another port
           {"relay1.example.org", 22},     // a known relay's host, another port
           {"127.0.0.1", 3478},            // loopback: an SSRF into the server's own services
           {"10.0.0.1", 5432},             // an internal network
           {"169.254.169.254", 80},        // cloud metadata
           {"relay9.example.org.", 5000},  // not the same text
           {"relay9.example.org", 5001},
           {"", 3478},
           {"relay1.example.org", 0},
       }) {
    EXPECT_FALSE(Routes().Route(host, port, live).has_value()) << host << ":" << port;
  }
}

}  // namespace
}  // namespace parley::server
