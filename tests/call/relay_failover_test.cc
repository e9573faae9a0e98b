// RelayFailover's rules in simulated time: when a silent relay is left, in which order,
// when a later relay is left for the first, and when nothing moves.
#include "parley/call/relay_failover.h"

#include <gtest/gtest.h>

namespace parley::call {
namespace {

TimePoint At(int64_t ms) { return TimePoint{} + milliseconds(ms); }

RelayFailoverSnapshot Reconnecting(int64_t since_ms, bool acknowledged) {
  return {ConnectivityState::kReconnecting, At(since_ms), acknowledged};
}

const RelayFailoverSnapshot kConnected{ConnectivityState::kConnected, std::nullopt, true};

TEST(RelayFailoverTest, OneRelayNeverMovesAndCountsAsTriedAtOnce) {
  RelayFailover failover(1);
  for (int64_t t = 0; t < 40'000; t += 50) EXPECT_FALSE(failover.Update(Reconnecting(0, false), At(t)));
  EXPECT_TRUE(failover.tried_every_relay());
  EXPECT_EQ(failover.stats().moves, 0u);
}

TEST(RelayFailoverTest, UnansweredRelayIsLeftForTheNextAfterTheThreshold) {
  RelayFailover failover(3);
  EXPECT_FALSE(failover.Update(kConnected, At(0)));
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(1000)));
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(2450)));
  EXPECT_FALSE(failover.tried_every_relay());
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(2500)), std::optional<std::size_t>{1});
  EXPECT_EQ(failover.current(), 1u);
  // The next relay gets its own threshold from the move.
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(3950)));
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(4000)), std::optional<std::size_t>{2});
  EXPECT_FALSE(failover.tried_every_relay());
  // After the last, back to the first; by then every relay was tried.
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(5500)), std::optional<std::size_t>{0});
  EXPECT_TRUE(failover.tried_every_relay());
  EXPECT_EQ(failover.stats().moves, 3u);
  EXPECT_EQ(failover.stats().returns, 0u);
}

TEST(RelayFailoverTest, AnAcknowledgedRelayIsKeptAndAConnectedCallStaysWhereItMoved) {
  RelayFailover failover(2);
  // The relay answers the rebind: the silence is the peer's, not the relay's.
  for (int64_t t = 1000; t < 2900; t += 50) EXPECT_FALSE(failover.Update(Reconnecting(1000, t >= 1100), At(t)));
  EXPECT_EQ(failover.current(), 0u);
  EXPECT_FALSE(failover.Update(kConnected, At(3000)));
  // A later episode where the relay is dead moves; connected again, it stays moved.
  EXPECT_FALSE(failover.Update(Reconnecting(10'000, false), At(10'000)));
  EXPECT_EQ(failover.Update(Reconnecting(10'000, false), At(11'500)), std::optional<std::size_t>{1});
  EXPECT_FALSE(failover.Update(Reconnecting(10'000, true), At(11'600)));
  for (int64_t t = 11'700; t < 30'000; t += 50) EXPECT_FALSE(failover.Update(kConnected, At(t)));
  EXPECT_EQ(failover.current(), 1u);
}

TEST(RelayFailoverTest, ABlipShorterThanTheThresholdDoesNotMove) {
  RelayFailover failover(2);
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(1000)));
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(2400)));
  EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(2450)));  // the relay answers again
  for (int64_t t = 2500; t < 6000; t += 50) EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(t)));
  EXPECT_EQ(failover.stats().moves, 0u);
}

TEST(RelayFailoverTest, ALostAcknowledgementStartsItsOwnThreshold) {
  RelayFailover failover(2);
  EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(1000)));
  EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(5000)));
  // A fresh socket at 5 s: not yet acknowledged; the relay gets the full threshold.
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(5050)));
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(6500)));
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(6550)), std::optional<std::size_t>{1});
}

TEST(RelayFailoverTest, APeerThatNeverArrivesAtTheLaterRelayIsSoughtAtTheFirst) {
  // Our own network failed, so every relay looked dead and we moved; the peer stayed.
  RelayFailover failover(2);
  EXPECT_FALSE(failover.Update(Reconnecting(1000, false), At(1000)));
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(2500)), std::optional<std::size_t>{1});
  EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(4000)));  // our network is back
  EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(5450)));
  EXPECT_EQ(failover.Update(Reconnecting(1000, true), At(5500)), std::optional<std::size_t>{0});
  EXPECT_EQ(failover.stats().returns, 1u);
  // At the first relay, acknowledged, it stays (the peer is expected there).
  for (int64_t t = 5550; t < 20'000; t += 50) EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(t)));
  EXPECT_EQ(failover.current(), 0u);
}

TEST(RelayFailoverTest, OnlyTheFirstRelayUnreachableFromHereStillLetsOtherTransportsIn) {
  // The peer hears the first relay and stays there; this client cannot reach it (a
  // censor blocks that address). It bounces: first relay unanswered, second relay
  // answers but the peer never comes, back to the first. Once both were left in this
  // episode, the adapter may try relay over TLS instead of bouncing for 30 s.
  RelayFailover failover(2);
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(2500)), std::optional<std::size_t>{1});
  EXPECT_FALSE(failover.tried_every_relay());
  EXPECT_FALSE(failover.Update(Reconnecting(1000, true), At(2600)));
  EXPECT_EQ(failover.Update(Reconnecting(1000, true), At(5500)), std::optional<std::size_t>{0});
  EXPECT_TRUE(failover.tried_every_relay());
  // Still unanswered at the first: on to the second again, and the episode still
  // counts both as tried.
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(7000)), std::optional<std::size_t>{1});
  EXPECT_TRUE(failover.tried_every_relay());
  // Connected again (over whatever path): a later episode starts with nothing tried.
  EXPECT_FALSE(failover.Update(kConnected, At(8000)));
  EXPECT_FALSE(failover.Update(Reconnecting(9000, false), At(9000)));
  EXPECT_FALSE(failover.tried_every_relay());
}

TEST(RelayFailoverTest, ANewEpisodeStartsCountingAgain) {
  RelayFailover failover(3);
  EXPECT_EQ(failover.Update(Reconnecting(1000, false), At(2500)), std::optional<std::size_t>{1});
  EXPECT_FALSE(failover.Update(kConnected, At(2600)));
  // The next episode counts from its own start, not from the old move.
  EXPECT_FALSE(failover.Update(Reconnecting(9000, false), At(9000)));
  EXPECT_FALSE(failover.Update(Reconnecting(9000, false), At(10'450)));
  EXPECT_EQ(failover.Update(Reconnecting(9000, false), At(10'500)), std::optional<std::size_t>{2});
}

}  // namespace
}  // namespace parley::call
