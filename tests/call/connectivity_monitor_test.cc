// ConnectivityMonitor's rules in simulated time: silence starts reconnecting with a
// cheap rebind, an unanswered rebind escalates to fresh sockets, a network change takes
// a fresh socket at once, the peer heard again ends the episode, 30 s ends the call.
#include "parley/call/connectivity_monitor.h"

#include <gtest/gtest.h>

namespace parley::call {
namespace {

class ConnectivityMonitorTest : public ::testing::Test {
 protected:
  // Advances to `t_ms` (since start) in 50 ms steps like the client's loop, with the
  // peer heard every 20 ms while `hearing`; returns every action seen on the way.
  std::vector<ConnectivityActions> RunTo(int64_t t_ms) {
    std::vector<ConnectivityActions> seen;
    while (now_ < start_ + milliseconds(t_ms)) {
      now_ += milliseconds(50);
      if (hearing_) heard_ = now_ - milliseconds(10);
      ConnectivityActions actions = monitor_.Update({heard_, relay_acknowledged_}, now_);
      if (actions.rebind || actions.fresh_socket || actions.give_up) seen.push_back(actions);
    }
    return seen;
  }
  static int Count(const std::vector<ConnectivityActions>& seen, bool ConnectivityActions::*field) {
    int n = 0;
    for (const auto& a : seen) n += a.*field ? 1 : 0;
    return n;
  }

  TimePoint start_{};
  TimePoint now_{};
  ConnectivityMonitor monitor_{ConnectivityMonitorConfig{}, start_};
  bool hearing_ = true;
  bool relay_acknowledged_ = true;
  std::optional<TimePoint> heard_;
};

TEST_F(ConnectivityMonitorTest, ConnectsWhenThePeerIsFirstHeardAndStaysQuietWhileHearing) {
  EXPECT_EQ(monitor_.state(), ConnectivityState::kConnecting);
  EXPECT_TRUE(RunTo(60'000).empty());
  EXPECT_EQ(monitor_.state(), ConnectivityState::kConnected);
  EXPECT_EQ(monitor_.stats().reconnections, 0u);
}

TEST_F(ConnectivityMonitorTest, SilenceRebindsOnceAndKeepsTheSocketWhileTheRelayAcknowledges) {
  RunTo(5'000);
  hearing_ = false;  // the peer's network went away; ours is fine
  auto seen = RunTo(5'950);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(monitor_.state(), ConnectivityState::kConnected);
  seen = RunTo(12'000);
  EXPECT_EQ(monitor_.state(), ConnectivityState::kReconnecting);
  EXPECT_EQ(Count(seen, &ConnectivityActions::rebind), 1);
  EXPECT_EQ(Count(seen, &ConnectivityActions::fresh_socket), 0);
  hearing_ = true;
  RunTo(12'100);
  EXPECT_EQ(monitor_.state(), ConnectivityState::kConnected);
  ASSERT_TRUE(monitor_.stats().last_outage);
  EXPECT_NEAR(ToMillis(*monitor_.stats().last_outage), 7'100, 60);
}

TEST_F(ConnectivityMonitorTest, AnUnansweredRebindEscalatesToFreshSockets) {
  RunTo(2'000);
  hearing_ = false;
  relay_acknowledged_ = false;  // our side is cut off: the relay hears nothing either
  auto seen = RunTo(3'050);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].rebind);
  seen = RunTo(4'100);  // 1 s after the rebind: the first fresh socket
  EXPECT_EQ(Count(seen, &ConnectivityActions::fresh_socket), 1);
  seen = RunTo(10'200);  // then one every 3 s
  EXPECT_EQ(Count(seen, &ConnectivityActions::fresh_socket), 2);
  EXPECT_EQ(monitor_.stats().fresh_sockets, 3u);
}

TEST_F(ConnectivityMonitorTest, ANetworkChangeTakesAFreshSocketAtOnceEvenWhileHearing) {
  RunTo(3'000);
  monitor_.OnNetworkChange(NetworkChange::kLocalAddresses, now_);
  monitor_.OnNetworkChange(NetworkChange::kSendFailed, now_);
  hearing_ = false;
  auto seen = RunTo(3'050);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].fresh_socket);
  EXPECT_FALSE(seen[0].rebind);
  EXPECT_EQ(monitor_.state(), ConnectivityState::kReconnecting);
  // Failing sends again right away do not churn sockets faster than the gap allows.
  monitor_.OnNetworkChange(NetworkChange::kSendFailed, now_);
  seen = RunTo(3'400);
  EXPECT_TRUE(seen.empty());
  seen = RunTo(3'600);
  EXPECT_EQ(Count(seen, &ConnectivityActions::fresh_socket), 1);
  hearing_ = true;
  RunTo(3'800);
  EXPECT_EQ(monitor_.state(), ConnectivityState::kConnected);
  EXPECT_EQ(monitor_.stats().reconnections, 1u);
}

TEST_F(ConnectivityMonitorTest, ThirtySecondsWithoutThePeerEndTheCallOnceWithAReason) {
  RunTo(1'000);
  hearing_ = false;
  relay_acknowledged_ = false;
  auto seen = RunTo(30'900);
  EXPECT_EQ(monitor_.state(), ConnectivityState::kReconnecting);
  for (const auto& a : seen) EXPECT_FALSE(a.give_up);
  seen = RunTo(31'100);
  ASSERT_FALSE(seen.empty());
  ASSERT_TRUE(seen.back().give_up);
  EXPECT_NE(seen.back().give_up->find("nothing arrived from the other side for 30 s"), std::string::npos);
  EXPECT_EQ(monitor_.state(), ConnectivityState::kLost);
  hearing_ = true;  // too late: a lost call stays lost and asks for nothing more
  EXPECT_TRUE(RunTo(40'000).empty());
  EXPECT_EQ(monitor_.state(), ConnectivityState::kLost);
}

TEST_F(ConnectivityMonitorTest, ACallThatNeverConnectsIsGivenUpAfterThirtySeconds) {
  hearing_ = false;
  relay_acknowledged_ = false;
  auto seen = RunTo(29'900);
  EXPECT_TRUE(seen.empty());  // the start is the path race's business, not a handover
  EXPECT_EQ(monitor_.state(), ConnectivityState::kConnecting);
  seen = RunTo(30'100);
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_TRUE(seen[0].give_up);
  EXPECT_NE(seen[0].give_up->find("No media path"), std::string::npos);
}

TEST(ConnectivityNamesTest, StatusLineWords) {
  EXPECT_EQ(ConnectivityStateName(ConnectivityState::kReconnecting), "reconnecting");
  EXPECT_EQ(ConnectivityStateName(ConnectivityState::kLost), "lost");
  EXPECT_EQ(NetworkChangeName(NetworkChange::kForced), "rebind requested");
}

}  // namespace
}  // namespace parley::call
