// The reconnect schedule in simulated time: the doubling delay and its cap, jitter
// bounds, rounds over several servers in order, and reset on success.
#include "parley/signal/reconnect_schedule.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::signal {
namespace {

const TimePoint kStart = TimePoint{} + seconds(1000);

double Ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

TEST(ReconnectScheduleTest, OneServerDelaysDoubleUpToTheCap) {
  ReconnectSchedule schedule(1, {.first_delay = milliseconds(500), .max_delay = seconds(10), .jitter = 0});
  EXPECT_FALSE(schedule.active());
  EXPECT_FALSE(schedule.Due(kStart));
  TimePoint now = kStart;
  schedule.OnLost(now, 0.5);
  ASSERT_TRUE(schedule.active());
  std::vector<double> delays{Ms(schedule.next_attempt_at() - now)};
  for (int i = 0; i < 7; ++i) {
    now = schedule.next_attempt_at();
    EXPECT_TRUE(schedule.Due(now));
    EXPECT_FALSE(schedule.Due(now - milliseconds(1)));
    EXPECT_EQ(schedule.next_server(), 0u);
    schedule.OnFailure(now, 0.5);
    delays.push_back(Ms(schedule.next_attempt_at() - now));
  }
  EXPECT_EQ(delays, (std::vector<double>{500, 1000, 2000, 4000, 8000, 10000, 10000, 10000}));
  EXPECT_EQ(schedule.failed_rounds(), 7);
}

TEST(ReconnectScheduleTest, JitterStaysWithinItsBoundsAndUnderTheCap) {
  ReconnectSchedule schedule(1, {.first_delay = milliseconds(500), .max_delay = seconds(10), .jitter = 0.2});
  schedule.OnLost(kStart, 0.0);
  EXPECT_EQ(Ms(schedule.next_attempt_at() - kStart), 400);
  schedule.OnLost(kStart, 0.999999);
  EXPECT_NEAR(Ms(schedule.next_attempt_at() - kStart), 600, 0.01);
  // Far into the backoff the jittered delay never exceeds the cap.
  for (int i = 0; i < 20; ++i) schedule.OnFailure(kStart, 0.999999);
  EXPECT_LE(Ms(schedule.next_attempt_at() - kStart), 10000);
  EXPECT_GE(Ms(schedule.next_attempt_at() - kStart), 8000);
  // Out-of-range randomness is clamped, not trusted.
  schedule.OnLost(kStart, 7.0);
  EXPECT_NEAR(Ms(schedule.next_attempt_at() - kStart), 600, 0.01);
}

TEST(ReconnectScheduleTest, SeveralServersAreTriedInOrderWithinARound) {
  ReconnectSchedule schedule(3, {.first_delay = milliseconds(500), .max_delay = seconds(10), .jitter = 0});
  TimePoint now = kStart;
  schedule.OnLost(now, 0);
  std::vector<std::size_t> order;
  std::vector<double> waits;
  for (int attempt = 0; attempt < 7; ++attempt) {
    waits.push_back(Ms(schedule.next_attempt_at() - now));
    now = schedule.next_attempt_at();
    order.push_back(schedule.next_server());
    schedule.OnFailure(now + milliseconds(10), 0);  // each attempt takes 10 ms to fail
    now += milliseconds(10);
  }
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0}));
  // The next server right away; a delay only between rounds (1 s, then 2 s).
  EXPECT_EQ(waits, (std::vector<double>{500, 0, 0, 1000, 0, 0, 2000}));
}

TEST(ReconnectScheduleTest, SuccessResetsAndTheNextLossStartsOver) {
  ReconnectSchedule schedule(2, {.first_delay = milliseconds(500), .max_delay = seconds(10), .jitter = 0});
  schedule.OnLost(kStart, 0);
  for (int i = 0; i < 6; ++i) schedule.OnFailure(kStart, 0);
  EXPECT_EQ(schedule.failed_rounds(), 3);
  schedule.OnSuccess();
  EXPECT_FALSE(schedule.active());
  EXPECT_FALSE(schedule.Due(kStart + seconds(100)));
  schedule.OnFailure(kStart, 0);  // a stray failure after success changes nothing
  EXPECT_FALSE(schedule.active());
  schedule.OnLost(kStart, 0);
  EXPECT_EQ(schedule.next_server(), 0u);
  EXPECT_EQ(schedule.failed_rounds(), 0);
  EXPECT_EQ(Ms(schedule.next_attempt_at() - kStart), 500);
}

}  // namespace
}  // namespace parley::signal
