// DelayManager: relative delay, histogram quantile, forgetting, and the one-frame floor.
#include "parley/media/delay_manager.h"

#include <gtest/gtest.h>

#include <numeric>

#include "parley/base/random.h"

namespace parley::media {
namespace {

constexpr int kFrame = 960;  // 20 ms

TimePoint At(double ms) { return TimePoint{} + FromMillis(ms); }

TEST(DelayManagerTest, CleanNetworkTargetsOneFrame) {
  DelayManager dm;
  for (int k = 0; k < 200; ++k) dm.Update(int64_t{k} * kFrame, kFrame, At(40 + 20.0 * k));
  EXPECT_EQ(dm.RelativeDelayQuantileMs(), 0);
  EXPECT_EQ(dm.TargetDelayMs(), 20);
}

TEST(DelayManagerTest, TargetIsFrameLengthForOtherFrameSizes) {
  for (int frame_ms : {10, 40, 60}) {
    DelayManager dm;
    const int samples = frame_ms * 48;
    for (int k = 0; k < 100; ++k) dm.Update(int64_t{k} * samples, samples, At(5 + frame_ms * k));
    EXPECT_EQ(dm.TargetDelayMs(), frame_ms) << frame_ms;
  }
}

TEST(DelayManagerTest, QuantileOfRelativeDelays) {
  // Delays 0..99 ms, each once, shuffled: the 0.97 point is 96 or 97 ms after forgetting
  // nothing (fewer packets than the forgetting memory would matter... use factor ~1).
  DelayManager dm({.quantile = 0.97, .forget_factor = 0.99999, .max_delay_ms = 1000});
  Random rng(7);
  std::vector<int> delays(100);
  std::iota(delays.begin(), delays.end(), 0);
  for (size_t i = delays.size() - 1; i > 0; --i) std::swap(delays[i], delays[static_cast<size_t>(rng.Between(0, static_cast<int64_t>(i)))]);
  // One packet at the minimum first, as the reference.
  dm.Update(0, kFrame, At(0));
  for (int k = 0; k < 100; ++k) dm.Update(int64_t{k + 1} * kFrame, kFrame, At(20.0 * (k + 1) + delays[static_cast<size_t>(k)]));
  EXPECT_NEAR(dm.RelativeDelayQuantileMs(), 96, 1);
  EXPECT_NEAR(dm.TargetDelayMs(), 96 + 20, 1);
}

TEST(DelayManagerTest, TracksJitterUpAndForgetsItAfterwards) {
  DelayManager dm;
  Random rng(3);
  int64_t k = 0;
  double t = 0;
  for (; k < 50; ++k, t += 20) dm.Update(k * kFrame, kFrame, At(t + 40));
  EXPECT_EQ(dm.TargetDelayMs(), 20);
  for (int i = 0; i < 250; ++i, ++k, t += 20) dm.Update(k * kFrame, kFrame, At(t + 40 + rng.Uniform() * 60));
  const int jittery = dm.TargetDelayMs();
  EXPECT_GE(jittery, 60);
  EXPECT_LE(jittery, 85);
  int64_t packets_to_recover = 0;
  for (; dm.TargetDelayMs() > 25 && packets_to_recover < 1000; ++packets_to_recover, ++k, t += 20) {
    dm.Update(k * kFrame, kFrame, At(t + 40));
  }
  // Forgetting factor 0.983: the jittery mass falls below 3 % in ~ln(0.03)/ln(0.983) ≈ 205
  // packets (4 s at 20 ms), plus up to 2 s for the slowest jittery packet to leave the
  // minimum window.
  EXPECT_LE(packets_to_recover, 300);
}

TEST(DelayManagerTest, ReorderedPacketsCountAsDelayed) {
  DelayManager dm({.forget_factor = 0.99999});
  // Every 4th packet arrives 30 ms after its successor's slot.
  for (int64_t k = 0; k < 400; ++k) {
    const double late = (k % 4 == 1) ? 50 : 0;
    dm.Update(k * kFrame, kFrame, At(20.0 * k + late));
  }
  EXPECT_EQ(dm.RelativeDelayQuantileMs(), 50);
  EXPECT_EQ(dm.TargetDelayMs(), 70);
}

TEST(DelayManagerTest, ClampedToMinAndMax) {
  DelayManager low({.min_delay_ms = 80, .max_delay_ms = 500});
  low.Update(0, kFrame, At(0));
  EXPECT_EQ(low.TargetDelayMs(), 80);
  DelayManager high({.min_delay_ms = 0, .max_delay_ms = 100});
  high.Update(0, kFrame, At(0));
  for (int64_t k = 1; k < 20; ++k) high.Update(k * kFrame, kFrame, At(20.0 * k + 400));
  EXPECT_EQ(high.TargetDelayMs(), 100);
}

TEST(DelayManagerTest, NoReferenceMeansNoSample) {
  DelayManager dm;
  dm.Update(0, kFrame, At(0));
  EXPECT_TRUE(std::all_of(dm.histogram().begin(), dm.histogram().end(), [](double b) { return b == 0; }));
  dm.Update(kFrame, kFrame, At(20 + 30));
  EXPECT_DOUBLE_EQ(dm.histogram()[30], 1.0);
  // A DTX pause longer than the window: the next packet only seeds a new reference.
  dm.Update(1000 * kFrame, kFrame, At(20000 + 500));
  EXPECT_DOUBLE_EQ(dm.histogram()[30], 1.0);
  EXPECT_DOUBLE_EQ(dm.histogram()[0] + dm.histogram()[500], 0.0);
  dm.ResetReference();
  dm.Update(1001 * kFrame, kFrame, At(20020 + 900));
  EXPECT_DOUBLE_EQ(dm.histogram()[30], 1.0);
}

}  // namespace
}  // namespace parley::media
