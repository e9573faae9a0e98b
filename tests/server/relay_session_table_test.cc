// Tests for the relay session table in simulated time: binding by source address,
// forwarding, bind freshness and replay, acks, rebinding, refusals, the bridge socket,
// idle expiry and rate caps.
#include "parley/server/relay_session_table.h"

#include <gtest/gtest.h>

namespace parley::server {
namespace {

using Action = RelayDecision::Action;

const TimePoint kT0{};
constexpr int64_t kIssuedMs = 1'700'000'000'000;  // the hub's wall clock at issue

RelayTicketClaims Claims(uint8_t call, uint8_t participant) {
  RelayTicketClaims claims{};
  claims.call_id.fill(call);
  claims.participant = participant;
  claims.expires_unix_s = kIssuedMs / 1000 + 3600;
  claims.issued_unix_ms = kIssuedMs;
  return claims;
}

RelaySource Src(const char* ip, uint16_t port, RelaySocket socket = RelaySocket::kPublic) {
  return RelaySource{*RelayAddress::Parse(ip, port), socket};
}

RelayAddressRules Loopback() { return RelayAddressRules{true, {}}; }

// A bind `elapsed_ms` after the ticket was issued, arriving when the relay's clocks
// (steady and wall) say the same.
RelayDecision Bind(RelaySessionTable& table, const RelayTicketClaims& claims, uint64_t elapsed_ms,
                   const RelaySource& from, std::size_t sealed_size = 0) {
  return table.OnBind(claims, elapsed_ms, from, sealed_size, kT0 + milliseconds(elapsed_ms),
                      kIssuedMs + static_cast<int64_t>(elapsed_ms));
}

// Two participants of call 1 bound at 10.0.0.1:1000 and 10.0.0.2:2000 at elapsed 0.
class BoundCallTest : public ::testing::Test {
 protected:
  BoundCallTest() : table_(RelayLimits{}, RelayAddressRules{}) {
    auto da = Bind(table_, Claims(1, 0), 0, a_);
    EXPECT_EQ(da.action, Action::kNothing);
    EXPECT_TRUE(da.ack);
    EXPECT_TRUE(Bind(table_, Claims(1, 1), 0, b_).ack);
  }
  RelaySessionTable table_;
  RelaySource a_ = Src("10.0.0.1", 1000);
  RelaySource b_ = Src("10.0.0.2", 2000);
};

TEST_F(BoundCallTest, ForwardsBothWaysBySourceAddress) {
  auto ab = table_.OnData(a_, 100, kT0 + milliseconds(1));
  ASSERT_EQ(ab.action, Action::kForward);
  EXPECT_EQ(ab.to, b_);
  EXPECT_FALSE(ab.ack);
  auto ba = table_.OnData(b_, 100, kT0 + milliseconds(1));
  ASSERT_EQ(ba.action, Action::kForward);
  EXPECT_EQ(ba.to, a_);
  EXPECT_EQ(table_.call_count(), 1u);
  EXPECT_EQ(table_.bound_count(), 2u);
}

TEST_F(BoundCallTest, DataFromAnUnboundSourceIsDropped) {
  for (const RelaySource& from : {Src("10.0.0.9", 1000), Src("10.0.0.1", 1001),
                                  Src("10.0.0.1", 1000, RelaySocket::kBridge)}) {
    auto d = table_.OnData(from, 100, kT0);
    EXPECT_EQ(d.action, Action::kDrop) << from.address.ToString();
    EXPECT_EQ(d.reason, RelayDropReason::kUnknownSource);
    EXPECT_FALSE(d.ack);
  }
}

TEST_F(BoundCallTest, ReplayedOrOlderBindChangesNothingAndGetsNoAck) {
  // The same bind (elapsed 0) replayed from another port, and an older one.
  const RelaySource attacker = Src("198.51.100.9", 5555);
  auto replay = Bind(table_, Claims(1, 0), 0, attacker, 100);
  EXPECT_EQ(replay.action, Action::kDrop);
  EXPECT_EQ(replay.reason, RelayDropReason::kReplayedBind);
  EXPECT_FALSE(replay.ack);
  EXPECT_FALSE(replay.bound);
  ASSERT_EQ(Bind(table_, Claims(1, 0), 5000, a_).action, Action::kNothing);
  EXPECT_EQ(Bind(table_, Claims(1, 0), 4999, attacker).reason, RelayDropReason::kReplayedBind);
  EXPECT_EQ(Bind(table_, Claims(1, 0), 5000, attacker).reason, RelayDropReason::kReplayedBind);
  EXPECT_EQ(table_.SourceOf(Claims(1, 0).call_id, 0), a_);
  EXPECT_EQ(table_.OnData(attacker, 100, kT0 + seconds(5)).reason, RelayDropReason::kUnknownSource);
}

TEST_F(BoundCallTest, StaleBindsAreRefused) {
  // Issued + elapsed more than 30 s from the relay's wall clock, either way.
  const RelaySource c = Src("10.0.0.3", 3000);
  auto late = table_.OnBind(Claims(1, 0), 1000, c, 0, kT0 + seconds(40), kIssuedMs + 31'001);
  EXPECT_EQ(late.reason, RelayDropReason::kStaleBind);
  auto early = table_.OnBind(Claims(1, 0), 40'000, c, 0, kT0 + seconds(40), kIssuedMs + 9'999);
  EXPECT_EQ(early.reason, RelayDropReason::kStaleBind);
  EXPECT_EQ(table_.OnBind(Claims(1, 0), ~uint64_t{0}, c, 0, kT0, kIssuedMs).reason, RelayDropReason::kStaleBind);
  // Within 30 s it is fine: clocks need not agree to the millisecond.
  EXPECT_TRUE(table_.OnBind(Claims(1, 0), 1000, c, 0, kT0 + seconds(1), kIssuedMs + 30'999).bound);
}

TEST_F(BoundCallTest, RebindFromANewAddressMovesTheParticipantAndIsAcked) {
  const RelaySource moved = Src("10.0.0.7", 7000);
  auto bind = Bind(table_, Claims(1, 0), 200, moved, 100);
  EXPECT_TRUE(bind.bound);
  EXPECT_TRUE(bind.ack) << "an address change is acked even within the ack interval";
  EXPECT_EQ(bind.ack_elapsed_ms, 200u);
  ASSERT_EQ(bind.action, Action::kForward);  // the bind's payload goes to the peer
  EXPECT_EQ(bind.to, b_);
  EXPECT_EQ(table_.SourceOf(Claims(1, 0).call_id, 0), moved);
  EXPECT_EQ(table_.OnData(a_, 100, kT0 + seconds(1)).reason, RelayDropReason::kUnknownSource);
  EXPECT_EQ(table_.OnData(moved, 100, kT0 + seconds(1)).action, Action::kForward);
  auto back = table_.OnData(b_, 100, kT0 + seconds(1));
  ASSERT_EQ(back.action, Action::kForward);
  EXPECT_EQ(back.to, moved);
  EXPECT_EQ(table_.bound_count(), 2u);
}

TEST_F(BoundCallTest, AcksAreRateLimitedForRebindsFromTheSameAddress) {
  EXPECT_FALSE(Bind(table_, Claims(1, 0), 500, a_).ack);
  EXPECT_TRUE(Bind(table_, Claims(1, 0), 1000, a_).ack);
  EXPECT_FALSE(Bind(table_, Claims(1, 0), 1999, a_).ack);
  auto d = Bind(table_, Claims(1, 0), 2000, a_);
  EXPECT_TRUE(d.ack);
  EXPECT_EQ(d.ack_elapsed_ms, 2000u);
}

TEST_F(BoundCallTest, AnotherCallsTicketNeverReachesThisCall) {
  const RelaySource c = Src("10.0.0.3", 3000);
  // Call 2's participant binds; with its peer absent, nothing is forwarded anywhere.
  auto bind = Bind(table_, Claims(2, 1), 10, c, 100);
  EXPECT_TRUE(bind.bound);
  EXPECT_EQ(bind.action, Action::kDrop);
  EXPECT_EQ(bind.reason, RelayDropReason::kPeerNotBound);
  EXPECT_EQ(table_.OnData(c, 100, kT0).reason, RelayDropReason::kPeerNotBound);
  // Call 2 binding at call 1's participant's address takes the address over (the
  // newest authenticated bind wins); call 1's participant is then unbound, not moved.
  EXPECT_TRUE(Bind(table_, Claims(2, 0), 20, b_).bound);
  EXPECT_EQ(table_.SourceOf(Claims(1, 1).call_id, 1), std::nullopt);
  auto ab = table_.OnData(a_, 100, kT0 + milliseconds(30));
  EXPECT_EQ(ab.reason, RelayDropReason::kPeerNotBound);
}

TEST_F(BoundCallTest, IdleParticipantsExpire) {
  // Only A keeps talking; B goes silent.
  for (int s = 1; s < 60; ++s) {
    EXPECT_EQ(table_.OnData(a_, 100, kT0 + seconds(s)).action, Action::kForward);
    EXPECT_EQ(table_.ExpireIdle(kT0 + seconds(s)), 0u);
  }
  EXPECT_EQ(table_.ExpireIdle(kT0 + seconds(60)), 1u);  // B, idle exactly 60 s
  EXPECT_EQ(table_.OnData(a_, 100, kT0 + seconds(60)).reason, RelayDropReason::kPeerNotBound);
  EXPECT_EQ(table_.OnData(b_, 100, kT0 + seconds(60)).reason, RelayDropReason::kUnknownSource);
  EXPECT_EQ(table_.call_count(), 1u);
  EXPECT_EQ(table_.ExpireIdle(kT0 + seconds(120)), 1u);  // A
  EXPECT_EQ(table_.call_count(), 0u);
  EXPECT_EQ(table_.bound_count(), 0u);
  // B can bind again with a fresh bind of its ticket.
  EXPECT_TRUE(Bind(table_, Claims(1, 1), 121'000, b_).bound);
}

TEST_F(BoundCallTest, FloodIsHeldAtItsCapWhileAParallelCallIsUnaffected) {
  const RelaySource c = Src("10.0.0.3", 3000);
  const RelaySource d = Src("10.0.0.4", 4000);
  Bind(table_, Claims(2, 0), 0, c);
  Bind(table_, Claims(2, 1), 0, d);
  const RelayLimits limits;
  int flood_forwarded = 0, calm_forwarded = 0, calm_sent = 0;
  // 10 s: A floods at 100x a voice rate (5000 packets/s), C sends 50 packets/s.
  for (int us = 0; us < 10'000'000; us += 200) {
    const TimePoint now = kT0 + microseconds(us);
    if (table_.OnData(a_, 100, now).action == Action::kForward) ++flood_forwarded;
    if (us % 20'000 == 0) {
      ++calm_sent;
      if (table_.OnData(c, 100, now).action == Action::kForward) ++calm_forwarded;
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
  const RelaySource a = Src("127.0.0.1", 1), b = Src("127.0.0.1", 2);
  Bind(table, Claims(1, 0), 0, a);
  Bind(table, Claims(1, 1), 0, b);
  int forwarded = 0;
  for (int ms = 0; ms < 1000; ms += 20) {  // 50 x 1200 bytes/s = 60 kB/s offered
    if (table.OnData(a, 1200, kT0 + milliseconds(ms)).action == Action::kForward) ++forwarded;
  }
  EXPECT_GE(forwarded, 9);
  EXPECT_LE(forwarded, 11);
}

TEST(RelaySessionTableTest, RefusesSpecialAddressesOnThePublicSocket) {
  RelaySessionTable table(RelayLimits{}, RelayAddressRules{false, {*RelayAddress::Parse("203.0.113.5", 0)}});
  for (const auto& [ip, port] : std::vector<std::pair<const char*, uint16_t>>{
           {"0.0.0.0", 1}, {"::", 1}, {"::1", 1}, {"::ffff:127.0.0.1", 1}, {"127.0.0.1", 1},
           {"127.8.9.10", 1}, {"169.254.1.1", 1}, {"fe80::1", 1}, {"::ffff:169.254.3.3", 1},
           {"224.0.0.1", 1}, {"255.255.255.255", 1}, {"ff02::1", 1}, {"203.0.113.5", 9},
           {"::ffff:203.0.113.5", 9}, {"10.0.0.1", 0}}) {
    const RelaySource source = Src(ip, port);
    EXPECT_TRUE(table.IsRefused(source)) << source.address.ToString();
    auto d = Bind(table, Claims(1, 0), 0, source);
    EXPECT_EQ(d.action, Action::kDrop) << source.address.ToString();
    EXPECT_EQ(d.reason, RelayDropReason::kRefusedAddress);
    EXPECT_FALSE(d.bound);
    EXPECT_FALSE(d.ack);
  }
  EXPECT_EQ(table.call_count(), 0u);
  for (const char* ip : {"10.0.0.1", "2001:db8::1", "::ffff:198.51.100.7", "203.0.113.6"}) {
    EXPECT_FALSE(table.IsRefused(Src(ip, 5))) << ip;
  }
  // The bridge socket's sources are local bridges: loopback is what they are.
  EXPECT_TRUE(table.IsRefused(Src("127.0.0.1", 5)));
  EXPECT_FALSE(table.IsRefused(Src("127.0.0.1", 5, RelaySocket::kBridge)));
}

TEST(RelaySessionTableTest, BridgedAndPublicParticipantsTalkThroughTheirOwnSockets) {
  RelaySessionTable table(RelayLimits{}, RelayAddressRules{});
  const RelaySource bridged = Src("127.0.0.1", 40001, RelaySocket::kBridge);
  const RelaySource direct = Src("198.51.100.7", 5000);
  EXPECT_TRUE(Bind(table, Claims(1, 0), 0, bridged).ack);
  EXPECT_TRUE(Bind(table, Claims(1, 1), 0, direct).ack);
  auto to_direct = table.OnData(bridged, 100, kT0);
  ASSERT_EQ(to_direct.action, Action::kForward);
  EXPECT_EQ(to_direct.to, direct);
  auto to_bridged = table.OnData(direct, 100, kT0);
  ASSERT_EQ(to_bridged.action, Action::kForward);
  EXPECT_EQ(to_bridged.to.socket, RelaySocket::kBridge);
  // The same address on the other socket is someone else.
  EXPECT_EQ(table.OnData(Src("127.0.0.1", 40001), 100, kT0).reason, RelayDropReason::kUnknownSource);
}

TEST(RelaySessionTableTest, LoopbackOnlyWithTheFlag) {
  RelaySessionTable table(RelayLimits{}, Loopback());
  EXPECT_FALSE(table.IsRefused(Src("127.0.0.1", 5)));
  EXPECT_FALSE(table.IsRefused(Src("::ffff:127.0.0.1", 5)));
  EXPECT_FALSE(table.IsRefused(Src("::1", 5)));
  EXPECT_TRUE(table.IsRefused(Src("0.0.0.0", 5)));
}

TEST(RelaySessionTableTest, MappedAndPlainIpv4AreOneAddress) {
  EXPECT_EQ(Src("::ffff:10.1.2.3", 7), Src("10.1.2.3", 7));
  EXPECT_EQ(Src("10.1.2.3", 7).address.ToString(), "10.1.2.3:7");
  EXPECT_EQ(Src("2001:db8::1", 7).address.ToString(), "[2001:db8::1]:7");
}

TEST(RelaySessionTableTest, TableFullRefusesNewCallsOnly) {
  RelayLimits limits;
  limits.max_calls = 1;
  RelaySessionTable table(limits, Loopback());
  const RelaySource a = Src("127.0.0.1", 1), b = Src("127.0.0.1", 2);
  EXPECT_TRUE(Bind(table, Claims(1, 0), 0, a).bound);
  auto full = Bind(table, Claims(2, 0), 0, b);
  EXPECT_EQ(full.reason, RelayDropReason::kTableFull);
  EXPECT_FALSE(full.ack);
  EXPECT_TRUE(Bind(table, Claims(1, 1), 0, b).bound);
}

}  // namespace
}  // namespace parley::server
