// RelayChooser (two relays per call: least loaded first, full ones skipped, the same
// order on every node) and the relay.alternates / relay.first / role settings.
#include "parley/server/relay_chooser.h"

#include <gtest/gtest.h>

#include "parley/server/server_config.h"

namespace parley::server {
namespace {

using signal::RelayAddress;

RelayRecord Relay(std::string id, uint16_t port, uint32_t calls, uint32_t capacity) {
  return RelayRecord{std::move(id), "relay.example", port, calls, capacity};
}

TEST(RelayChooserTest, LeastLoadedFirstByShareOfCapacity) {
  const std::vector<RelayRecord> live = {Relay("a", 1, 50, 100), Relay("b", 2, 10, 100), Relay("c", 3, 30, 1000)};
  // Loads: a 0.5, b 0.1, c 0.03.
  EXPECT_EQ(RelayChooser::Choose(live, std::nullopt),
            (std::vector<RelayAddress>{{"relay.example", 3}, {"relay.example", 2}}));
  EXPECT_EQ(RelayChooser::Choose(live, std::nullopt, 3).back(), (RelayAddress{"relay.example", 1}));
}

TEST(RelayChooserTest, FullRelaysAndZeroCapacityAreSkipped) {
  const std::vector<RelayRecord> live = {Relay("a", 1, 100, 100), Relay("b", 2, 0, 0), Relay("c", 3, 99, 100),
                                         Relay("d", 4, 101, 100)};
  EXPECT_EQ(RelayChooser::Choose(live, std::nullopt), (std::vector<RelayAddress>{{"relay.example", 3}}));
  const std::vector<RelayRecord> all_full = {Relay("a", 1, 100, 100)};
  EXPECT_TRUE(RelayChooser::Choose(all_full, std::nullopt).empty());
}

TEST(RelayChooserTest, TheNodesOwnRelayCompetesLikeAnyOther) {
  const std::vector<RelayRecord> live = {Relay("a", 1, 40, 100), Relay("b", 2, 60, 100)};
  const RelayRecord own{"node-1", "node.example", 8443, 5, 100};
  EXPECT_EQ(RelayChooser::Choose(live, own),
            (std::vector<RelayAddress>{{"node.example", 8443}, {"relay.example", 1}}));
  const RelayRecord busy_own{"node-1", "node.example", 8443, 100, 100};
  EXPECT_EQ(RelayChooser::Choose(live, busy_own),
            (std::vector<RelayAddress>{{"relay.example", 1}, {"relay.example", 2}}));
  EXPECT_EQ(RelayChooser::Choose({}, own), (std::vector<RelayAddress>{{"node.example", 8443}}));
}

TEST(RelayChooserTest, TiesGoByIdSoEveryNodeOrdersAlikeWhateverTheInputOrder) {
  std::vector<RelayRecord> live = {Relay("c", 3, 1, 10), Relay("a", 1, 2, 20), Relay("b", 2, 10, 100)};
  const auto first = RelayChooser::Choose(live, std::nullopt, 3);
  EXPECT_EQ(first, (std::vector<RelayAddress>{{"relay.example", 1}, {"relay.example", 2}, {"relay.example", 3}}));
  std::reverse(live.begin(), live.end());
  EXPECT_EQ(RelayChooser::Choose(live, std::nullopt, 3), first);
}

TEST(RelayChooserTest, OneRelayAnnouncedTwiceCountsOnce) {
  const std::vector<RelayRecord> live = {Relay("old-id", 1, 0, 100), Relay("new-id", 1, 0, 100),
                                         Relay("other", 2, 50, 100)};
  EXPECT_EQ(RelayChooser::Choose(live, std::nullopt),
            (std::vector<RelayAddress>{{"relay.example", 1}, {"relay.example", 2}}));
}

TEST(RelayChooserTest, HugeCountsDoNotOverflowTheComparison) {
  const std::vector<RelayRecord> live = {Relay("a", 1, 0xFFFFFFFE, 0xFFFFFFFF), Relay("b", 2, 1, 3)};
  EXPECT_EQ(RelayChooser::Choose(live, std::nullopt).front(), (RelayAddress{"relay.example", 2}));
}

TEST(RelayAddressListTest, ParsesHostsPortsAndIpv6Literals) {
  auto list = ParseRelayAddressList(" relay2.example.org:3478 ,192.0.2.7:1,[2001:db8::2]:65535 ");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(*list, (std::vector<RelayAddress>{
                       {"relay2.example.org", 3478}, {"192.0.2.7", 1}, {"2001:db8::2", 65535}}));
  auto empty = ParseRelayAddressList("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(RelayAddressListTest, BadEntriesGetOneSentenceNamingThem) {
  for (const char* bad : {"relay", "relay:", "relay:0", "relay:65536", ":3478", "relay:34x", "a:1,,b:2", "a:1,",
                          "[2001:db8::2:3478", "two words:1"}) {
    auto list = ParseRelayAddressList(bad);
    ASSERT_FALSE(list.ok()) << bad;
    EXPECT_NE(list.error().message.find("is not HOST:PORT"), std::string::npos) << list.error().message;
    EXPECT_EQ(list.error().message.back(), '.');
  }
  auto too_many = ParseRelayAddressList("a:1,b:2,c:3,d:4");
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("more than 3 relays"), std::string::npos);
}

TEST(RelayConfigTest, RoleAndRelayListsAreValidated) {
  auto config = ParseServerConfig(
      "data_dir = \"/tmp/x\"\nrole = \"relay\"\n[relay]\nticket_key_file = \"/etc/parley/ticket.key\"\n"
      "alternates = \"r2.example:3478, r3.example:3478\"\nfirst = \"r1.example:3478\"\nid = \"relay-1\"\n"
      "offer_own = false\n",
      "test.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->role, "relay");
  EXPECT_EQ(config->relay_ticket_key_file, "/etc/parley/ticket.key");
  EXPECT_EQ(config->relay_alternates, "r2.example:3478, r3.example:3478");
  EXPECT_EQ(config->relay_first, "r1.example:3478");
  EXPECT_EQ(config->relay_id, "relay-1");
  EXPECT_FALSE(config->relay_offer_own);
  EXPECT_TRUE(ServerConfig{}.relay_offer_own);
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
  auto again = ParseServerConfig(PrintServerConfig(*config), "printed");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *config);

  ServerConfig bad = *config;
  bad.role = "proxy";
  EXPECT_NE(ValidateServerConfig(bad).error().message.find("role 'proxy' is not node or relay"), std::string::npos);
  bad = *config;
  bad.relay_alternates = "r2.example";
  EXPECT_NE(ValidateServerConfig(bad).error().message.find("relay.alternates entry 'r2.example'"),
            std::string::npos);
  bad = *config;
  bad.relay_first = "a:1, b:2";
  EXPECT_NE(ValidateServerConfig(bad).error().message.find("relay.first names more than one"), std::string::npos);
  ASSERT_TRUE(ApplyServerConfigOverride(bad, "relay.first", "").ok());
  EXPECT_TRUE(ValidateServerConfig(bad).ok());
}

}  // namespace
}  // namespace parley::server
