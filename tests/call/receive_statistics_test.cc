#include "parley/call/receive_statistics.h"

#include <gtest/gtest.h>

namespace parley::call {
namespace {

const TimePoint kNow = TimePoint{} + seconds(100);

TEST(ReceiveStatisticsTest, CountsLossInAnInterval) {
  ReceiveStatistics stats;
  for (uint16_t s = 100; s < 200; ++s) {
    if (s % 10 != 3) stats.OnPacket(s, kNow);
  }
  LossReport report = stats.TakeInterval();
  EXPECT_EQ(report.expected, 100u);
  EXPECT_EQ(report.received, 90u);
  EXPECT_NEAR(report.loss_fraction(), 0.10, 1e-9);
}

TEST(ReceiveStatisticsTest, DuplicatesAreNotCountedTwice) {
  ReceiveStatistics stats;
  for (uint16_t s = 0; s < 50; ++s) {
    stats.OnPacket(s, kNow);
    stats.OnPacket(s, kNow);
  }
  LossReport report = stats.TakeInterval();
  EXPECT_EQ(report.received, 50u);
  EXPECT_EQ(report.loss_fraction(), 0.0);
}

TEST(ReceiveStatisticsTest, SequenceWrapIsContinuous) {
  ReceiveStatistics stats;
  for (int i = 0; i < 100; ++i) stats.OnPacket(static_cast<uint16_t>(65500 + i), kNow);
  LossReport report = stats.TakeInterval();
  EXPECT_EQ(report.expected, 100u);
  EXPECT_EQ(report.received, 100u);
}

TEST(ReceiveStatisticsTest, ReorderedPacketsAreNotLoss) {
  ReceiveStatistics stats;
  for (uint16_t s : {1, 3, 2, 5, 4, 6}) stats.OnPacket(s, kNow);
  EXPECT_EQ(stats.TakeInterval().loss_fraction(), 0.0);
}

TEST(ReceiveStatisticsTest, IntervalsAreSeparate) {
  ReceiveStatistics stats;
  for (uint16_t s = 0; s < 10; ++s) stats.OnPacket(s, kNow);
  EXPECT_EQ(stats.TakeInterval().expected, 10u);
  for (uint16_t s = 10; s < 20; s += 2) stats.OnPacket(s, kNow);
  LossReport second = stats.TakeInterval();
  EXPECT_EQ(second.expected, 9u);  // 10..18: 19 has not been seen to be missing yet
  EXPECT_EQ(second.received, 5u);
  EXPECT_EQ(stats.TakeInterval().expected, 0u);  // nothing new
}

// Packets every 20 ms, then nothing for 3 s while the sender goes on (150 sequence numbers
// lost), then packets again: the jump is an outage, not 99 % loss; a short burst is loss.
TEST(ReceiveStatisticsTest, AnOutageIsNotCountedAsLoss) {
  ReceiveStatistics stats;
  TimePoint t = kNow;
  uint16_t seq = 0;
  for (int i = 0; i < 50; ++i, t += milliseconds(20)) stats.OnPacket(seq++, t);
  EXPECT_EQ(stats.TakeInterval().loss_fraction(), 0.0);
  seq += 150;
  t += seconds(3);
  for (int i = 0; i < 50; ++i, t += milliseconds(20)) stats.OnPacket(seq++, t);
  const LossReport after = stats.TakeInterval();
  EXPECT_EQ(after.outage_packets, 150u);
  EXPECT_EQ(after.expected, 50u);
  EXPECT_EQ(after.received, 50u);
  EXPECT_EQ(after.loss_fraction(), 0.0);

  // 40 packets (800 ms) lost in a burst is under the outage gap: loss.
  seq += 40;
  t += milliseconds(800);
  for (int i = 0; i < 10; ++i, t += milliseconds(20)) stats.OnPacket(seq++, t);
  const LossReport burst = stats.TakeInterval();
  EXPECT_EQ(burst.outage_packets, 0u);
  EXPECT_EQ(burst.expected, 50u);
  EXPECT_NEAR(burst.loss_fraction(), 0.8, 1e-9);
}

// The queue estimate's baseline is the lowest delay of the last 10 s, however often
// the intervals are taken: in trouble reports come every 250 ms, and a standing queue
// of 200 ms must not become the baseline after ten of them (2.5 s).
TEST(ReceiveStatisticsTest, AStandingQueueStaysVisibleWithFastReports) {
  ReceiveStatistics stats;
  TimePoint t = kNow;
  uint32_t timestamp = 0;
  auto packets = [&](int count, double extra_delay_ms) {
    for (int i = 0; i < count; ++i, t += milliseconds(20), timestamp += 960) {
      stats.OnArrival(timestamp, 960, 100, 80, t + microseconds(static_cast<int64_t>(extra_delay_ms * 1000)));
    }
  };
  packets(50, 0);  // a second without a queue
  EXPECT_NEAR(stats.TakeInterval().queue_delay_ms, 0, 1);
  // Then 200 ms of queue, reported every 250 ms for 8 s: still 200 ms at the end.
  double last = 0;
  for (int i = 0; i < 32; ++i) {
    packets(12, 200);
    last = stats.TakeInterval().queue_delay_ms;
  }
  EXPECT_NEAR(last, 200, 1);
  // After 10 s the old baseline is forgotten (a longer path is not a queue forever).
  for (int i = 0; i < 12; ++i) {
    packets(12, 200);
    last = stats.TakeInterval().queue_delay_ms;
  }
  EXPECT_NEAR(last, 0, 1);
}

// A frame's capture ends at its timestamp plus its own length. Guessed from the step to
// the previous packet (the previous frame's length plus any DTX gap), a pause of 60 ms or
// a cut from 60 to 20 ms frames put one packet's delay 40-60 ms low, and that became the
// baseline: a clean path then read as a standing queue for 10 s.
TEST(ReceiveStatisticsTest, DtxGapsAndShorterFramesAreNotAQueue) {
  ReceiveStatistics stats;
  TimePoint sent = kNow;  // when each packet leaves: its frame's capture end
  uint32_t timestamp = 0;
  uint16_t seq = 1;
  const Duration path = milliseconds(30);
  auto packet = [&](int frame_ms) {
    sent += milliseconds(frame_ms);
    const TimePoint arrival = sent + path;
    stats.OnPacket(seq++, arrival);
    stats.OnArrival(timestamp, frame_ms * 48, 100, 80, arrival);
    timestamp += static_cast<uint32_t>(frame_ms * 48);
  };
  for (int i = 0; i < 50; ++i) packet(60);
  EXPECT_NEAR(stats.TakeInterval().queue_delay_ms, 0, 1);
  for (int i = 0; i < 50; ++i) packet(20);  // shorter frames
  EXPECT_NEAR(stats.TakeInterval().queue_delay_ms, 0, 1);
  // A 60 ms DTX pause (no packet, no sequence number), then speech again.
  sent += milliseconds(60);
  timestamp += 60 * 48;
  for (int i = 0; i < 50; ++i) packet(20);
  const LossReport after = stats.TakeInterval();
  EXPECT_NEAR(after.queue_delay_ms, 0, 1);
  EXPECT_EQ(after.frame_ms, 20);
}

}  // namespace
}  // namespace parley::call
