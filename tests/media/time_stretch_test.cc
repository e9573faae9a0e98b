// TimeStretch: one pitch period removed or added on voiced audio, smooth seams, refusal on
// noise, quiet audio stretched freely, timestamps tracked alike.
#include "parley/media/time_stretch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "parley/base/random.h"

namespace parley::media {
namespace {

// A voiced signal: harmonics 1..4 of f0 with a slow amplitude drift.
std::vector<Sample> Voiced(double f0_hz, int samples, double amplitude = 8000) {
  std::vector<Sample> x(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    const double w = 2 * std::numbers::pi * f0_hz * i / kSampleRateHz;
    const double v = std::sin(w) + 0.6 * std::sin(2 * w + 0.3) + 0.4 * std::sin(3 * w + 1.1) +
                     0.2 * std::sin(4 * w + 2.0);
    x[static_cast<size_t>(i)] = static_cast<Sample>(std::lround(amplitude / 2.2 * v * (1 + 0.1 * i / samples)));
  }
  return x;
}

int MaxStep(std::span<const Sample> x) {
  int step = 0;
  for (size_t i = 1; i < x.size(); ++i) step = std::max(step, std::abs(x[i] - x[i - 1]));
  return step;
}

struct PitchCase {
  double f0_hz;
};

class TimeStretchPitchTest : public ::testing::TestWithParam<double> {};

TEST_P(TimeStretchPitchTest, AccelerateRemovesOnePeriod) {
  const double f0 = GetParam();
  const double period = kSampleRateHz / f0;
  const auto x = Voiced(f0, 2400);  // 50 ms, no history
  TimeStretch ts;
  std::vector<Sample> out;
  const StretchResult r = ts.Accelerate(x, 0, out);
  ASSERT_GT(r.samples_changed, 0) << "correlation " << r.correlation;
  EXPECT_NEAR(r.samples_changed, period, 2);
  EXPECT_EQ(out.size(), x.size() - static_cast<size_t>(r.samples_changed));
  EXPECT_GT(r.correlation, 0.95);
  EXPECT_LE(MaxStep(out), MaxStep(x) * 11 / 10 + 2);
}

TEST_P(TimeStretchPitchTest, ExpandAddsOnePeriod) {
  const double f0 = GetParam();
  const double period = kSampleRateHz / f0;
  const auto x = Voiced(f0, 2400);
  const int future_start = 1440;  // 30 ms history, 20 ms future
  TimeStretch ts;
  std::vector<Sample> out;
  const StretchResult r = ts.PreemptiveExpand(x, future_start, out);
  ASSERT_GT(r.samples_changed, 0) << "correlation " << r.correlation;
  EXPECT_NEAR(r.samples_changed, period, 2);
  EXPECT_EQ(out.size(), x.size() - future_start + static_cast<size_t>(r.samples_changed));
  // Continuous with the history's last sample and smooth throughout.
  std::vector<Sample> joined(x.begin(), x.begin() + future_start);
  joined.insert(joined.end(), out.begin(), out.end());
  EXPECT_LE(MaxStep(joined), MaxStep(x) * 11 / 10 + 2);
}

INSTANTIATE_TEST_SUITE_P(Pitches, TimeStretchPitchTest, ::testing::Values(80.0, 120.0, 150.0, 200.0, 310.0));

TEST(TimeStretchTest, NeedsThirtyMilliseconds) {
  const auto x = Voiced(150, 1439);
  TimeStretch ts;
  std::vector<Sample> out;
  EXPECT_EQ(ts.Accelerate(x, 0, out).samples_changed, 0);
  EXPECT_EQ(out.size(), x.size());
  EXPECT_EQ(ts.PreemptiveExpand(x, 0, out).samples_changed, 0);
}

TEST(TimeStretchTest, LoudNoiseIsLeftAlone) {
  Random rng(11);
  std::vector<Sample> x(2400);
  for (Sample& s : x) s = static_cast<Sample>(rng.Between(-8000, 8000));
  TimeStretch ts;
  std::vector<Sample> out;
  const StretchResult a = ts.Accelerate(x, 0, out);
  EXPECT_EQ(a.samples_changed, 0);
  EXPECT_EQ(out, x);
  EXPECT_EQ(ts.PreemptiveExpand(x, 1440, out).samples_changed, 0);
}

TEST(TimeStretchTest, QuietAudioIsStretchedAnyway) {
  Random rng(12);
  std::vector<Sample> x(2400);
  for (Sample& s : x) s = static_cast<Sample>(rng.Between(-20, 20));
  TimeStretch ts;
  std::vector<Sample> out;
  const StretchResult r = ts.Accelerate(x, 0, out);
  EXPECT_TRUE(r.quiet);
  EXPECT_GE(r.samples_changed, TimeStretch::kMinPeriodSamples);
}

TEST(TimeStretchTest, HistoryIsNotChangedAndTimestampsFollowTheEdit) {
  const auto x = Voiced(200, 2400);  // period 240
  std::vector<int64_t> track(x.size());
  for (size_t i = 0; i < track.size(); ++i) track[i] = 1000 + static_cast<int64_t>(i);
  TimeStretch ts;
  std::vector<Sample> out;
  std::vector<int64_t> out_track;

  const int future_start = 480;
  StretchResult r = ts.Accelerate(x, future_start, out);
  ASSERT_EQ(r.samples_changed, 240);
  TimeStretch::ApplyToTrack(r, true, track, future_start, out_track);
  ASSERT_EQ(out_track.size(), out.size());
  // The cross-fade stands for the later period; then the track continues unbroken.
  EXPECT_EQ(out_track.front(), 1000 + future_start + 240);
  for (size_t i = 1; i < out_track.size(); ++i) ASSERT_EQ(out_track[i], out_track[i - 1] + 1);
  EXPECT_EQ(out_track.back(), track.back());
  // On a periodic signal every output sample is the signal at its timestamp.
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_NEAR(out[i], x[static_cast<size_t>(out_track[i] - 1000)], 60) << i;
  }

  r = ts.PreemptiveExpand(x, 1440, out);
  ASSERT_EQ(r.samples_changed, 240);
  TimeStretch::ApplyToTrack(r, false, track, 1440, out_track);
  ASSERT_EQ(out_track.size(), out.size());
  EXPECT_EQ(out_track.front(), 1000 + 1440 - 240);  // the period before the splice, again
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_NEAR(out[i], x[static_cast<size_t>(out_track[i] - 1000)], 60) << i;
  }
}

}  // namespace
}  // namespace parley::media
