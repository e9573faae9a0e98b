#include "parley/call/receive_statistics.h"

#include <gtest/gtest.h>

namespace parley::call {
namespace {

TEST(ReceiveStatisticsTest, CountsLossInAnInterval) {
  ReceiveStatistics stats;
  for (uint16_t s = 100; s < 200; ++s) {
    if (s % 10 != 3) stats.OnPacket(s);
  }
  LossReport report = stats.TakeInterval();
  EXPECT_EQ(report.expected, 100u);
  EXPECT_EQ(report.received, 90u);
  EXPECT_NEAR(report.loss_fraction(), 0.10, 1e-9);
}

TEST(ReceiveStatisticsTest, DuplicatesAreNotCountedTwice) {
  ReceiveStatistics stats;
  for (uint16_t s = 0; s < 50; ++s) {
    stats.OnPacket(s);
    stats.OnPacket(s);
  }
  LossReport report = stats.TakeInterval();
  EXPECT_EQ(report.received, 50u);
  EXPECT_EQ(report.loss_fraction(), 0.0);
}

TEST(ReceiveStatisticsTest, SequenceWrapIsContinuous) {
  ReceiveStatistics stats;
  for (int i = 0; i < 100; ++i) stats.OnPacket(static_cast<uint16_t>(65500 + i));
  LossReport report = stats.TakeInterval();
  EXPECT_EQ(report.expected, 100u);
  EXPECT_EQ(report.received, 100u);
}

TEST(ReceiveStatisticsTest, ReorderedPacketsAreNotLoss) {
  ReceiveStatistics stats;
  for (uint16_t s : {1, 3, 2, 5, 4, 6}) stats.OnPacket(s);
  EXPECT_EQ(stats.TakeInterval().loss_fraction(), 0.0);
}

TEST(ReceiveStatisticsTest, IntervalsAreSeparate) {
  ReceiveStatistics stats;
  for (uint16_t s = 0; s < 10; ++s) stats.OnPacket(s);
  EXPECT_EQ(stats.TakeInterval().expected, 10u);
  for (uint16_t s = 10; s < 20; s += 2) stats.OnPacket(s);
  LossReport second = stats.TakeInterval();
  EXPECT_EQ(second.expected, 9u);  // 10..18: 19 has not been seen to be missing yet
  EXPECT_EQ(second.received, 5u);
  EXPECT_EQ(stats.TakeInterval().expected, 0u);  // nothing new
}

}  // namespace
}  // namespace parley::call
