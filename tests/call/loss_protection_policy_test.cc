#include "parley/call/loss_protection_policy.h"

#include <gtest/gtest.h>

namespace parley::call {
namespace {

TEST(LossProtectionPolicyTest, CleanNetworkSpendsNothingOnProtection) {
  LossProtectionPolicy policy;
  for (int i = 0; i < 10; ++i) policy.OnLossReport(0.0);
  EXPECT_FALSE(policy.current().fec);
  EXPECT_TRUE(policy.current().redundant_distances.empty());
}

struct LevelCase {
  double loss;
  bool fec;
  std::vector<int> distances;
};

class LossProtectionLevelTest : public testing::TestWithParam<LevelCase> {};

TEST_P(LossProtectionLevelTest, SteadyLossChoosesItsLevel) {
  LossProtectionPolicy policy;
  for (int i = 0; i < 20; ++i) policy.OnLossReport(GetParam().loss);
  EXPECT_EQ(policy.current().fec, GetParam().fec);
  EXPECT_EQ(policy.current().redundant_distances, GetParam().distances);
}

INSTANTIATE_TEST_SUITE_P(Levels, LossProtectionLevelTest,
                         testing::Values(LevelCase{0.005, false, {}}, LevelCase{0.02, true, {}},
                                         LevelCase{0.035, true, {}}, LevelCase{0.05, false, {1, 2}},
                                         LevelCase{0.10, false, {1, 2}}, LevelCase{0.35, false, {1, 2}}));

TEST(LossProtectionPolicyTest, StepsUpAtOnceAndDownOnlyAfterCalm) {
  LossProtectionPolicy policy;
  policy.OnLossReport(0.10);
  EXPECT_EQ(policy.current().redundant_distances, (std::vector<int>{1, 2}));
  for (int i = 0; i < 3; ++i) policy.OnLossReport(0.0);
  EXPECT_EQ(policy.current().redundant_distances, (std::vector<int>{1, 2})) << "one calm second is not enough";
  for (int i = 0; i < 20; ++i) policy.OnLossReport(0.0);
  EXPECT_FALSE(policy.current().fec);
  EXPECT_TRUE(policy.current().redundant_distances.empty());
}

// Calm counts from the first clean report, not from when the smoothed loss has decayed
// under the level (3-4 reports more after 15 %): copies and their 60 ms frames end 5
// calm reports after the loss, FEC 5 later; a lossy report in between starts over.
TEST(LossProtectionPolicyTest, CalmCountsFromTheFirstCleanReport) {
  LossProtectionPolicy policy;
  for (int i = 0; i < 10; ++i) policy.OnLossReport(0.15);
  ASSERT_EQ(policy.current().redundant_distances, (std::vector<int>{1, 2}));
  for (int i = 0; i < 4; ++i) policy.OnLossReport(0.0);
  EXPECT_EQ(policy.current().redundant_distances, (std::vector<int>{1, 2}));
  policy.OnLossReport(0.0);
  EXPECT_TRUE(policy.current().redundant_distances.empty()) << "5 calm reports";
  EXPECT_TRUE(policy.current().fec) << "the smoothed loss still asks for FEC";
  for (int i = 0; i < 4; ++i) policy.OnLossReport(0.0);
  policy.OnLossReport(0.02);  // FEC's level: starts the count over
  for (int i = 0; i < 4; ++i) policy.OnLossReport(0.0);
  EXPECT_TRUE(policy.current().fec);
  policy.OnLossReport(0.0);
  EXPECT_FALSE(policy.current().fec);
  // Bursts every other report keep the level.
  for (int i = 0; i < 10; ++i) policy.OnLossReport(i % 2 == 0 ? 0.10 : 0.0);
  EXPECT_EQ(policy.current().redundant_distances, (std::vector<int>{1, 2}));
}

TEST(LossProtectionPolicyTest, FecExpectedLossFollowsReportedLoss) {
  LossProtectionPolicy policy;
  policy.OnLossReport(0.03);
  EXPECT_EQ(policy.current().fec_expected_loss_percent, 3);
  policy.OnLossReport(0.035);
  EXPECT_EQ(policy.current().fec_expected_loss_percent, 4);
}

}  // namespace
}  // namespace parley::call
