// Tests for the Gilbert-Elliott loss model: its derived transition probabilities and
// the loss rate and burst length it produces.
#include "parley/net/gilbert_elliott.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::net {
namespace {

struct Measured {
  double loss_rate;
  double mean_burst;
  int bursts;
};

Measured Measure(GilbertElliott& model, uint64_t seed, int packets) {
  Random random(seed);
  int lost = 0, bursts = 0;
  bool previous = false;
  for (int i = 0; i < packets; ++i) {
    bool now = model.NextLost(random);
    lost += now;
    if (now && !previous) ++bursts;
    previous = now;
  }
  return {static_cast<double>(lost) / packets,
          bursts ? static_cast<double>(lost) / bursts : 0.0, bursts};
}

TEST(GilbertElliottTest, TransitionProbabilitiesFollowTheDerivation) {
  GilbertElliott model(0.05, 3);
  EXPECT_DOUBLE_EQ(model.p_bad_to_good(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(model.p_good_to_bad(), 0.05 / (3 * 0.95));
  // Stationary share of Bad equals the requested average loss.
  double p = model.p_good_to_bad(), r = model.p_bad_to_good();
  EXPECT_NEAR(p / (p + r), 0.05, 1e-12);
}

struct Params {
  double loss;
  double burst;
};

class GilbertElliottStatsTest : public testing::TestWithParam<Params> {};

TEST_P(GilbertElliottStatsTest, LossRateAndBurstLengthMatch) {
  GilbertElliott model(GetParam().loss, GetParam().burst);
  Measured m = Measure(model, 7, 400000);
  // About 400000*L/B bursts; relative errors of a few percent are several sigma.
  EXPECT_NEAR(m.loss_rate, GetParam().loss, GetParam().loss * 0.06);
  EXPECT_NEAR(m.mean_burst, GetParam().burst, GetParam().burst * 0.05);
}

INSTANTIATE_TEST_SUITE_P(Several, GilbertElliottStatsTest,
                         testing::Values(Params{0.05, 3}, Params{0.10, 1.5}, Params{0.20, 5},
                                         Params{0.50, 1}, Params{0.80, 6}));

TEST(GilbertElliottTest, BernoulliIsTheCaseBurstEqualsOneOverOneMinusLoss) {
  GilbertElliott model(0.2, 1 / 0.8);
  EXPECT_NEAR(model.p_good_to_bad() + model.p_bad_to_good(), 1.0, 1e-12);
}

TEST(GilbertElliottTest, AllAndNothing) {
  Random random(1);
  GilbertElliott all(1.0, 3);
  GilbertElliott none(0.0, 3);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(all.NextLost(random));
    EXPECT_FALSE(none.NextLost(random));
  }
}

TEST(GilbertElliottTest, SettingZeroLossEndsABurstAtOnce) {
  Random random(3);
  GilbertElliott model(0.5, 1000);  // bursts of ~1000: quickly in Bad, stays there
  int guard = 0;
  while (!model.NextLost(random)) ASSERT_LT(++guard, 100000);
  model.Set(0.0, 1000);
  EXPECT_FALSE(model.NextLost(random));
}

TEST(GilbertElliottTest, SettingNewParametersKeepsTheBurstGoing) {
  Random random(3);
  GilbertElliott model(0.5, 1000);
  int guard = 0;
  while (!model.NextLost(random)) ASSERT_LT(++guard, 100000);
  model.Set(0.01, 1e6);  // r stays tiny: still in Bad next packet
  EXPECT_TRUE(model.NextLost(random));
}

TEST(GilbertElliottDeathTest, BurstTooShortForLossAborts) {
  EXPECT_DEATH(GilbertElliott(0.8, 2), "mean burst too short");
}

}  // namespace
}  // namespace parley::net
