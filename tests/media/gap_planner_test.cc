// PlanGap: loss vs DTX from sequence numbers, and the FEC/PLC/comfort-noise split.
#include "parley/media/gap_planner.h"

#include <gtest/gtest.h>

namespace parley::media {
namespace {

constexpr int kFrame = 960;

struct GapCase {
  const char* name;
  GapInput input;
  GapPlan expected;
};

GapInput Gap(int gap, int waited, std::optional<int64_t> prev, int64_t next, bool fec = false) {
  return {.gap_samples = gap, .waited_samples = waited, .previous_sequence = prev, .next_sequence = next,
          .next_frame_samples = kFrame, .next_has_fec = fec, .last_frame_samples = kFrame,
          .buffered_samples = kFrame, .target_samples = kFrame, .max_conceal_samples = 200 * 48};
}

class GapPlannerTest : public ::testing::TestWithParam<GapCase> {};

TEST_P(GapPlannerTest, Plans) {
  const GapCase& c = GetParam();
  const GapPlan p = PlanGap(c.input);
  EXPECT_EQ(p.dtx, c.expected.dtx);
  EXPECT_EQ(p.lost_frames, c.expected.lost_frames);
  EXPECT_EQ(p.plc_samples, c.expected.plc_samples);
  EXPECT_EQ(p.fec_samples, c.expected.fec_samples);
  EXPECT_EQ(p.skip, c.expected.skip);
  EXPECT_EQ(p.comfort_noise_samples, c.expected.comfort_noise_samples);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GapPlannerTest,
    ::testing::Values(
        GapCase{"OneLostConcealed", Gap(kFrame, 0, 4, 6), {.lost_frames = 1, .plc_samples = kFrame}},
        GapCase{"OneLostFromFec", Gap(kFrame, 0, 4, 6, true), {.lost_frames = 1, .fec_samples = kFrame}},
        GapCase{"ThreeLostLastFromFec", Gap(3 * kFrame, 0, 4, 8, true),
                {.lost_frames = 3, .plc_samples = 2 * kFrame, .fec_samples = kFrame}},
        GapCase{"WaitedPartOfIt", Gap(kFrame, 480, 4, 6), {.lost_frames = 1, .plc_samples = 480}},
        GapCase{"WaitedAllOfIt", Gap(kFrame, 960, 4, 6), {.lost_frames = 1}},
        GapCase{"WaitedAllOfItFecStillUsed", Gap(kFrame, 960, 4, 6, true), {.lost_frames = 1, .fec_samples = kFrame}},
        GapCase{"WaitedTooLongForFec", Gap(kFrame, 1920, 4, 6, true), {.lost_frames = 1}},
        GapCase{"UnknownSequenceEstimates", Gap(2 * kFrame, 0, std::nullopt, 6),
                {.lost_frames = 2, .plc_samples = 2 * kFrame}},
        GapCase{"TooLongIsSkipped", Gap(300 * 48, 0, 4, 20), {.lost_frames = 15, .skip = true}},
        GapCase{"PlcRoundedTo2500us", Gap(1000, 0, 4, 6), {.lost_frames = 1, .plc_samples = 960}},
        GapCase{"DtxPausePlayed", Gap(20 * kFrame, 4800, 9, 10), {.dtx = true, .comfort_noise_samples = 20 * kFrame - 4800}},
        GapCase{"DtxPauseOver", Gap(20 * kFrame, 20 * kFrame, 9, 10), {.dtx = true}},
        GapCase{"DtxShortenedAboveTarget",
                [] { GapInput g = Gap(20 * kFrame, 0, 9, 10); g.buffered_samples = 5 * kFrame; return g; }(),
                {.dtx = true, .comfort_noise_samples = 16 * kFrame}},
        GapCase{"DtxHeldUntilTarget",
                [] { GapInput g = Gap(10 * kFrame, 10 * kFrame, 9, 10); g.target_samples = 3 * kFrame; return g; }(),
                {.dtx = true, .comfort_noise_samples = 2 * kFrame}}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace parley::media
