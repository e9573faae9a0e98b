// Merge: the cross-fade starts at the concealment and ends on the decoded frame.
#include "parley/media/merge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace parley::media {
namespace {

TEST(MergeTest, CrossFadesWithoutASeam) {
  // Concealment and decoded audio are the same tone half a period apart: switching
  // straight from one to the other would step by twice the amplitude.
  const double w = 2 * std::numbers::pi * 180.0 / kSampleRateHz;
  std::vector<Sample> concealment(Merge::kCrossfadeSamples), decoded(960);
  for (size_t i = 0; i < concealment.size(); ++i) concealment[i] = static_cast<Sample>(std::lround(8000 * std::sin(w * i)));
  for (size_t i = 0; i < decoded.size(); ++i) decoded[i] = static_cast<Sample>(std::lround(-8000 * std::sin(w * i)));
  const std::vector<Sample> original = decoded;

  EXPECT_EQ(Merge::Apply(concealment, decoded), Merge::kCrossfadeSamples);
  EXPECT_EQ(decoded.front(), concealment.front());
  EXPECT_EQ(decoded[Merge::kCrossfadeSamples - 1], original[Merge::kCrossfadeSamples - 1]);
  EXPECT_TRUE(std::equal(decoded.begin() + Merge::kCrossfadeSamples, decoded.end(),
                         original.begin() + Merge::kCrossfadeSamples));
  int step = 0;
  for (size_t i = 1; i < decoded.size(); ++i) step = std::max(step, std::abs(decoded[i] - decoded[i - 1]));
  const int natural = static_cast<int>(std::ceil(8000 * w)) + 1;
  EXPECT_LE(step, 2 * natural);
}

TEST(MergeTest, ShortFrameIsFadedOverItsLength) {
  std::vector<Sample> concealment(Merge::kCrossfadeSamples, 1000), decoded(100, -1000);
  EXPECT_EQ(Merge::Apply(concealment, decoded), 100);
  EXPECT_EQ(decoded.front(), 1000);
  EXPECT_EQ(decoded.back(), -1000);
}

}  // namespace
}  // namespace parley::media
