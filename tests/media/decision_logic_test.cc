// DecisionLogic: thresholds, hysteresis, merge after concealment, stretch spacing.
#include "parley/media/decision_logic.h"

#include <gtest/gtest.h>

#include "parley/media/audio_format.h"

namespace parley::media {
namespace {

constexpr int kMs = kSamplesPerMs;

DecisionInput Input(int level_ms, int target_ms, Operation previous = Operation::kNormal) {
  return {.target_samples = target_ms * kMs, .buffered_samples = level_ms * kMs,
          .next_frame_available = true, .previous = previous};
}

TEST(DecisionLogicTest, NetEqLikeLimits) {
  EXPECT_EQ(DecisionLogic::LowLimitSamples(20 * kMs), 15 * kMs);
  EXPECT_EQ(DecisionLogic::HighLimitSamples(20 * kMs), 35 * kMs);
  EXPECT_EQ(DecisionLogic::LowLimitSamples(400 * kMs), 315 * kMs);
  EXPECT_EQ(DecisionLogic::HighLimitSamples(400 * kMs), 400 * kMs);
}

struct LevelCase {
  const char* name;
  int level_ms;
  int target_ms;
  Operation expected;
};

class DecisionLevelTest : public ::testing::TestWithParam<LevelCase> {};

TEST_P(DecisionLevelTest, SteadyLevelGivesOperation) {
  const LevelCase& c = GetParam();
  DecisionLogic logic;
  // A level held steady (the filter has converged): the decision after a few frames.
  Operation op = Operation::kNormal;
  for (int i = 0; i < 3; ++i) op = logic.Decide(Input(c.level_ms, c.target_ms));
  EXPECT_EQ(op, c.expected) << OperationName(op);
}

INSTANTIATE_TEST_SUITE_P(
    Levels, DecisionLevelTest,
    ::testing::Values(LevelCase{"AtTarget", 20, 20, Operation::kNormal},
                      LevelCase{"InsideBandAbove", 34, 20, Operation::kNormal},
                      LevelCase{"AtHigh", 35, 20, Operation::kAccelerate},
                      LevelCase{"FarAbove", 200, 20, Operation::kAccelerate},
                      LevelCase{"InsideBandBelow", 16, 20, Operation::kNormal},
                      LevelCase{"BelowLow", 40, 60, Operation::kPreemptiveExpand},
                      LevelCase{"OneFrameOfTen", 10, 10, Operation::kNormal}),
    [](const auto& info) { return info.param.name; });

TEST(DecisionLogicTest, MissingFrameIsExpandAndTheNextIsMerged) {
  DecisionLogic logic;
  DecisionInput missing = Input(0, 20);
  missing.next_frame_available = false;
  EXPECT_EQ(logic.Decide(missing), Operation::kExpand);
  EXPECT_EQ(logic.Decide(Input(20, 20, Operation::kExpand)), Operation::kMerge);
  EXPECT_EQ(logic.Decide(Input(20, 20, Operation::kComfortNoise)), Operation::kMerge);
  EXPECT_EQ(logic.Decide(Input(20, 20, Operation::kMerge)), Operation::kNormal);
}

TEST(DecisionLogicTest, OneOutlierDoesNotStretch) {
  DecisionLogic logic;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(logic.Decide(Input(20, 20)), Operation::kNormal);
  // A burst shows 60 ms once: the smoothed level stays inside the band.
  EXPECT_EQ(logic.Decide(Input(60, 20)), Operation::kNormal);
  EXPECT_EQ(logic.Decide(Input(20, 20)), Operation::kNormal);
}

TEST(DecisionLogicTest, StretchesAreSpacedAndAccountedFor) {
  DecisionLogic logic;
  for (int i = 0; i < 10; ++i) logic.Decide(Input(60, 20));
  ASSERT_EQ(logic.Decide(Input(60, 20)), Operation::kAccelerate);
  logic.OnStretched(-5 * kMs);
  // Spaced: the next two decisions are normal even though the level is still high.
  EXPECT_EQ(logic.Decide(Input(55, 20)), Operation::kNormal);
  EXPECT_EQ(logic.Decide(Input(55, 20)), Operation::kNormal);
  EXPECT_EQ(logic.Decide(Input(55, 20)), Operation::kAccelerate);
  // A stretch moves the smoothed level at once.
  const double before = *logic.filtered_level_samples();
  logic.OnStretched(-10 * kMs);
  EXPECT_DOUBLE_EQ(*logic.filtered_level_samples(), before - 10 * kMs);
}

TEST(DecisionLogicTest, FarAboveTargetAcceleratesEveryDecision) {
  DecisionLogic logic;
  for (int i = 0; i < 3; ++i) logic.Decide(Input(500, 20));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(logic.Decide(Input(500, 20)), Operation::kAccelerate);
    logic.OnStretched(-2 * kMs);
  }
}

TEST(DecisionLogicTest, HysteresisHoldsBetweenLowAndHigh) {
  DecisionLogic logic;
  for (int i = 0; i < 30; ++i) logic.Decide(Input(80, 40));
  // The level falls from above the band into it: no expand until it is below low (30 ms).
  for (int i = 0; i < 30; ++i) {
    const Operation op = logic.Decide(Input(32, 40));
    ASSERT_NE(op, Operation::kPreemptiveExpand) << i;
    if (op == Operation::kAccelerate) logic.OnStretched(0);
  }
}

}  // namespace
}  // namespace parley::media
