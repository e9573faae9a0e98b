// Tests for the relay session table in simulated time: binding, forwarding, refusals,
// spoofing, rebinding, idle expiry and rate caps.
#include "parley/server/relay_session_table.h"

#include <gtest/gtest.h>

namespace parley::server {
namespace {

using Action = RelayDecision::Action;

const TimePoint kT0{};

RelayTicketClaims Claims(uint8_t call, uint8_t participant) {
  RelayTicketClaims claims{};
  claims.call_id.fill(call);
  claims.participant = participant;
  claims.expires_unix_s = 1'000'000;
  return claims;
}

RelayAddress Addr(const char* ip, uint16_t port) { return *RelayAddress::Parse(ip, port); }

RelayAddressRules Loopback() { return RelayAddressRules{true, {}}; }

// Two participants of call 1 bound at 10.0.0.1:1000 (token 11) and 10.0.0.2:2000 (token 12).
class BoundCallTest : public ::testing::Test {
 protected:
  BoundCallTest() : table_(RelayLimits{}, RelayAddressRules{}) {
    EXPECT_EQ(table_.OnBind(Claims(1, 0), 11, a_, 0, kT0).action, Action::kNothing);
    EXPECT_EQ(table_.OnBind(Claims(1, 1), 12, b_, 0, kT0).action, Action::kNothing);
  }
  RelaySessionTable table_;
  RelayAddress a_ = Addr("10.0.0.1", 1000);
  RelayAddress b_ = Addr("10.0.0.2", 2000);
};

TEST_F(BoundCallTest, ForwardsBothWays) {
  auto ab = table_.OnData(11, a_, 100, kT0 + milliseconds(1));
  ASSERT_EQ(ab.action, Action::kForward);
  EXPECT_EQ(ab.to, b_);
  auto ba = table_.OnData(12, b_, 100, kT0 + milliseconds(1));
  ASSERT_EQ(ba.action, Action::kForward);
  EXPECT_EQ(ba.to, a_);
  EXPECT_EQ(table_.call_count(), 1u);
  EXPECT_EQ(table_.bound_count(), 2u);
}

TEST_F(BoundCallTest, DropsUnknownToken) {
  auto d = table_.OnData(99, a_, 100, kT0);
  EXPECT_EQ(d.action, Action::kDrop);
  EXPECT_EQ(d.reason, RelayDropReason::kUnknownToken);
}

TEST_F(BoundCallTest, DropsSpoofedSource) {
  // A valid token from another address, and from the peer's own address.
  for (const RelayAddress& from : {Addr("10.0.0.9", 1000), Addr("10.0.0.1", 1001), b_}) {
    auto d = table_.OnData(11, from, 100, kT0);
    EXPECT_EQ(d.action, Action::kDrop) << from.ToString();
    EXPECT_EQ(d.reason, RelayDropReason::kSpoofedSource);
  }
}

TEST_F(BoundCallTest, RebindMovesTheParticipant) {
  const RelayAddress moved = Addr("10.0.0.7", 7000);
  auto bind = table_.OnBind(Claims(1, 0), 11, moved, 100, kT0 + seconds(1));
  EXPECT_TRUE(bind.bound);
  ASSERT_EQ(bind.action, Action::kForward);  // the bind's payload goes to the peer
  EXPECT_EQ(bind.to, b_);
  EXPECT_EQ(table_.AddressOf(Claims(1, 0).call_id, 0), moved);
  EXPECT_EQ(table_.OnData(11, a_, 100, kT0 + seconds(1)).reason, RelayDropReason::kSpoofedSource);
  EXPECT_EQ(table_.OnData(11, moved, 100, kT0 + seconds(1)).action, Action::kForward);
  auto back = table_.OnData(12, b_, 100, kT0 + seconds(1));
  ASSERT_EQ(back.action, Action::kForward);
  EXPECT_EQ(back.to, moved);
}

TEST_F(BoundCallTest, NewTicketForSameParticipantReplacesOldToken) {
  EXPECT_TRUE(table_.OnBind(Claims(1, 0), 21, a_, 0, kT0).bound);
  EXPECT_EQ(table_.OnData(11, a_, 100, kT0).reason, RelayDropReason::kUnknownToken);
  EXPECT_EQ(table_.OnData(21, a_, 100, kT0).action, Action::kForward);
  EXPECT_EQ(table_.bound_count(), 2u);
}

TEST_F(BoundCallTest, AnotherCallsTicketNeverReachesThisCall) {
  const RelayAddress c = Addr("10.0.0.3", 3000);
  // Call 2's participant binds; with its peer absent, nothing is forwarded anywhere.
  auto bind = table_.OnBind(Claims(2, 1), 31, c, 100, kT0);
  EXPECT_TRUE(bind.bound);
  EXPECT_EQ(bind.action, Action::kDrop);
  EXPECT_EQ(bind.reason, RelayDropReason::kPeerNotBound);
  auto data = table_.OnData(31, c, 100, kT0);
  EXPECT_EQ(data.reason, RelayDropReason::kPeerNotBound);
  // A token of call 2 reused with call 1's claims is a conflict, not a takeover.
  EXPECT_EQ(table_.OnBind(Claims(1, 1), 31, c, 0, kT0).reason, RelayDropReason::kTokenConflict);
  EXPECT_EQ(table_.AddressOf(Claims(1, 1).call_id, 1), b_);
}

TEST_F(BoundCallTest, IdleParticipantsExpire) {
  // Only A keeps talking; B goes silent.
  for (int s = 1; s < 60; ++s) {
    EXPECT_EQ(table_.OnData(11, a_, 100, kT0 + seconds(s)).action, Action::kForward);
    EXPECT_EQ(table_.ExpireIdle(kT0 + seconds(s)), 0u);
  }
  EXPECT_EQ(table_.ExpireIdle(kT0 + seconds(60)), 1u);  // B, idle exactly 60 s
  EXPECT_EQ(table_.OnData(11, a_, 100, kT0 + seconds(60)).reason, RelayDropReason::kPeerNotBound);
  EXPECT_EQ(table_.OnData(12, b_, 100, kT0 + seconds(60)).reason, RelayDropReason::kUnknownToken);
  EXPECT_EQ(table_.call_count(), 1u);
  EXPECT_EQ(table_.ExpireIdle(kT0 + seconds(120)), 1u);  // A
  EXPECT_EQ(table_.call_count(), 0u);
  EXPECT_EQ(table_.bound_count(), 0u);
  // B can bind again with its ticket.
  EXPECT_TRUE(table_.OnBind(Claims(1, 1), 12, b_, 0, kT0 + seconds(121)).bound);
}

TEST_F(BoundCallTest, FloodIsHeldAtItsCapWhileAParallelCallIsUnaffected) {
  const RelayAddress c = Addr("10.0.0.3", 3000);
  const RelayAddress d = Addr("10.0.0.4", 4000);
  table_.OnBind(Claims(2, 0), 21, c, 0, kT0);
  table_.OnBind(Claims(2, 1), 22, d, 0, kT0);
  const RelayLimits limits;
  int flood_forwarded = 0, calm_forwarded = 0, calm_sent = 0;
  // 10 s: A floods at 100x a voice rate (5000 packets/s), C sends 50 packets/s.
  for (int us = 0; us < 10'000'000; us += 200) {
    const TimePoint now = kT0 + microseconds(us);
    if (table_.OnData(11, a_, 100, now).action == Action::kForward) ++flood_forwarded;
    if (us % 20'000 == 0) {
      ++calm_sent;
      if (table_.OnData(21, c, 100, now).action == Action::kForward) ++calm_forwarded;
    }
  }
  const double cap = limits.burst_packets + 10 * limits.packets_per_second;
  EXPECT_LE(flood_forwarded, cap + 1);
  EXPECT_GE(flood_forwarded, cap - 2);  // the cap is what it gets, not less
  EXPECT_EQ(calm_forwarded, calm_sent);
}

TEST(RelaySessionTableTest, ByteCapHoldsLargePackets) {
  RelayLimits limits;
  limits.bytes_per_second = 12'000;
  limits.burst_bytes = 1200;
  RelaySessionTable table(limits, Loopback());
  const RelayAddress a = Addr("127.0.0.1", 1), b = Addr("127.0.0.1", 2);
  table.OnBind(Claims(1, 0), 1, a, 0, kT0);
  table.OnBind(Claims(1, 1), 2, b, 0, kT0);
  int forwarded = 0;
  for (int ms = 0; ms < 1000; ms += 20) {  // 50 x 1200 bytes/s = 60 kB/s offered
    if (table.OnData(1, a, 1200, kT0 + milliseconds(ms)).action == Action::kForward) ++forwarded;
  }
  EXPECT_GE(forwarded, 9);
  EXPECT_LE(forwarded, 11);
}

TEST(RelaySessionTableTest, RefusesSpecialAddresses) {
  RelaySessionTable table(RelayLimits{}, RelayAddressRules{false, {Addr("203.0.113.5", 0)}});
  for (const auto& [ip, port] : std::vector<std::pair<const char*, uint16_t>>{
           {"0.0.0.0", 1}, {"::", 1}, {"::1", 1}, {"::ffff:127.0.0.1", 1}, {"127.0.0.1", 1},
           {"127.8.9.10", 1}, {"169.254.1.1", 1}, {"fe80::1", 1}, {"::ffff:169.254.3.3", 1},
           {"224.0.0.1", 1}, {"255.255.255.255", 1}, {"ff02::1", 1}, {"203.0.113.5", 9},
           {"::ffff:203.0.113.5", 9}, {"10.0.0.1", 0}}) {
    const RelayAddress address = Addr(ip, port);
    EXPECT_TRUE(table.IsRefused(address)) << address.ToString();
    auto d = table.OnBind(Claims(1, 0), 1, address, 0, kT0);
    EXPECT_EQ(d.action, Action::kDrop) << address.ToString();
    EXPECT_EQ(d.reason, RelayDropReason::kRefusedAddress);
    EXPECT_FALSE(d.bound);
  }
  EXPECT_EQ(table.call_count(), 0u);
  for (const char* ip : {"10.0.0.1", "2001:db8::1", "::ffff:198.51.100.7", "203.0.113.6"}) {
    EXPECT_FALSE(table.IsRefused(Addr(ip, 5))) << ip;
  }
}

TEST(RelaySessionTableTest, LoopbackOnlyWithTheFlag) {
  RelaySessionTable table(RelayLimits{}, Loopback());
  EXPECT_FALSE(table.IsRefused(Addr("127.0.0.1", 5)));
  EXPECT_FALSE(table.IsRefused(Addr("::ffff:127.0.0.1", 5)));
  EXPECT_FALSE(table.IsRefused(Addr("::1", 5)));
  EXPECT_TRUE(table.IsRefused(Addr("0.0.0.0", 5)));
}

TEST(RelaySessionTableTest, MappedAndPlainIpv4AreOneAddress) {
  EXPECT_EQ(Addr("::ffff:10.1.2.3", 7), Addr("10.1.2.3", 7));
  EXPECT_EQ(Addr("10.1.2.3", 7).ToString(), "10.1.2.3:7");
  EXPECT_EQ(Addr("2001:db8::1", 7).ToString(), "[2001:db8::1]:7");
}

TEST(RelaySessionTableTest, TableFullRefusesNewCallsOnly) {
  RelayLimits limits;
  limits.max_calls = 1;
  RelaySessionTable table(limits, Loopback());
  const RelayAddress a = Addr("127.0.0.1", 1), b = Addr("127.0.0.1", 2);
  EXPECT_TRUE(table.OnBind(Claims(1, 0), 1, a, 0, kT0).bound);
  EXPECT_EQ(table.OnBind(Claims(2, 0), 3, b, 0, kT0).reason, RelayDropReason::kTableFull);
  EXPECT_TRUE(table.OnBind(Claims(1, 1), 2, b, 0, kT0).bound);
}

}  // namespace
}  // namespace parley::server
