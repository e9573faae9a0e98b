// The E-model: G.107's own reference points (R 93.2 -> MOS 4.41, no delay impairment up
// to 100 ms, Idd at 200/400 ms), and that loss, delay and low bitrate each lower MOS.
#include "parley/call/quality_estimate.h"

#include <gtest/gtest.h>

namespace parley::call {
namespace {

TEST(QualityEstimateTest, MosFromRMatchesG107) {
  EXPECT_NEAR(MosFromR(93.2), 4.41, 0.01);
  EXPECT_NEAR(MosFromR(50), 2.58, 0.01);
  EXPECT_EQ(MosFromR(-5), 1.0);
  EXPECT_EQ(MosFromR(120), 4.5);
}

TEST(QualityEstimateTest, DelayImpairmentStartsAt100Ms) {
  EXPECT_EQ(DelayImpairment(0), 0);
  EXPECT_EQ(DelayImpairment(100), 0);
  // G.107 (7-27) by hand. X = 1 at 200 ms: 25 (2^(1/6) - 3 (1 + 1/729)^(1/6) + 2) = 3.04;
  // X = 2 at 400 ms: 25 (65^(1/6) - 3 (1 + 64/729)^(1/6) + 2) = 24.07.
  EXPECT_NEAR(DelayImpairment(200), 3.04, 0.01);
  EXPECT_NEAR(DelayImpairment(400), 24.07, 0.01);
  EXPECT_GT(DelayImpairment(600), DelayImpairment(400));
}

TEST(QualityEstimateTest, OpusIeFallsWithBitrate) {
  EXPECT_GT(OpusIe(6000), OpusIe(12000));
  EXPECT_GT(OpusIe(12000), OpusIe(24000));
  EXPECT_GE(OpusIe(24000), OpusIe(64000));
  EXPECT_EQ(OpusIe(1000), OpusIe(6000));
  EXPECT_EQ(OpusIe(100000), OpusIe(64000));
}

TEST(QualityEstimateTest, CleanShortCallIsNearTheTop) {
  const QualityEstimate best = EstimateQuality({.one_way_delay_ms = 60, .loss_after_recovery = 0,
                                                .opus_bitrate_bps = 64000});
  EXPECT_NEAR(best.r_factor, 93.2, 0.01);
  EXPECT_NEAR(best.mos, 4.41, 0.01);
}

TEST(QualityEstimateTest, LossDelayAndBitrateEachCost) {
  const QualityInputs base{.one_way_delay_ms = 80, .loss_after_recovery = 0, .opus_bitrate_bps = 24000};
  const double mos = EstimateQuality(base).mos;
  QualityInputs lossy = base;
  lossy.loss_after_recovery = 0.05;
  QualityInputs slow = base;
  slow.one_way_delay_ms = 400;
  QualityInputs thin = base;
  thin.opus_bitrate_bps = 6000;
  EXPECT_LT(EstimateQuality(lossy).mos, mos - 0.3);
  EXPECT_LT(EstimateQuality(slow).mos, mos - 0.2);
  EXPECT_LT(EstimateQuality(thin).mos, mos - 0.5);
  // G.107 (7-29) by hand at 5 % random loss, Ie 5, Bpl 25.1: Ie,eff = 5 + 90 * 5 / 30.1.
  EXPECT_NEAR(EstimateQuality(lossy).r_factor, 93.2 - OpusIe(24000) - (95 - OpusIe(24000)) * 5 / (5 + 25.1), 1e-6);
}

}  // namespace
}  // namespace parley::call
