// FarEndReference: blocks fed only once their playout is due, in order, with the right
// delay; re-blocking of odd callback sizes keeps samples and times; full ring and
// stale blocks counted.
#include "parley/media/far_end_reference.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::media {
namespace {

const TimePoint kT0{seconds(100)};

std::array<Sample, kBlockSamples> Block(Sample value) {
  std::array<Sample, kBlockSamples> block;
  block.fill(value);
  return block;
}

TEST(FarEndReferenceTest, FeedsEachBlockOnceItsPlayoutTimeHasCome) {
  FarEndReference reference;
  // Blocks 1..5 written every 10 ms, each reported to play 60 ms after it is written.
  for (int k = 0; k < 5; ++k) {
    reference.OnPlayed(Block(static_cast<Sample>(k + 1)), kT0 + milliseconds(10 * k + 60));
  }
  std::vector<Sample> fed;
  auto feed = [&](std::span<const Sample, kBlockSamples> b) { fed.push_back(b[0]); };
  EXPECT_FALSE(reference.FeedDue(kT0 + milliseconds(59), feed));
  EXPECT_TRUE(fed.empty());
  auto delay = reference.FeedDue(kT0 + milliseconds(65), feed);
  ASSERT_TRUE(delay);
  EXPECT_EQ(*delay, milliseconds(5));
  EXPECT_EQ(fed, std::vector<Sample>({1}));
  // Block 2 plays at 70 ms, block 3 at 80 ms: a capture at 85 ms gets both, in order,
  // 5 ms after the newest.
  delay = reference.FeedDue(kT0 + milliseconds(85), feed);
  ASSERT_TRUE(delay);
  EXPECT_EQ(*delay, milliseconds(5));
  EXPECT_EQ(fed, std::vector<Sample>({1, 2, 3}));
  // Block 4 plays at 90 ms, block 5 at 100 ms: both due at 105 ms; then nothing is left.
  delay = reference.FeedDue(kT0 + milliseconds(105), feed);
  EXPECT_EQ(fed, std::vector<Sample>({1, 2, 3, 4, 5}));
  EXPECT_FALSE(reference.FeedDue(kT0 + milliseconds(200), feed));
}

TEST(FarEndReferenceTest, ReblocksOddCallbackSizesKeepingSamplesAndTimes) {
  FarEndReference reference;
  // 1000 samples in callbacks of 300: sample n plays at kT0 + n / 48 ms.
  std::vector<Sample> played(3 * kBlockSamples);
  for (size_t i = 0; i < played.size(); ++i) played[i] = static_cast<Sample>(i);
  for (size_t at = 0; at < played.size(); at += 300) {
    const size_t n = std::min<size_t>(300, played.size() - at);
    reference.OnPlayed(std::span(played).subspan(at, n),
                       kT0 + Duration{static_cast<int64_t>(at) * 1'000'000'000 / kSampleRateHz});
  }
  std::vector<Sample> fed;
  auto delay = reference.FeedDue(kT0 + milliseconds(20), [&](std::span<const Sample, kBlockSamples> b) {
    fed.insert(fed.end(), b.begin(), b.end());
  });
  // Blocks starting at 0, 10 and 20 ms are due; the newest started exactly now.
  ASSERT_TRUE(delay);
  EXPECT_EQ(*delay, Duration{0});
  EXPECT_EQ(fed, played);
}

TEST(FarEndReferenceTest, CountsBlocksDroppedWhenNobodyConsumes) {
  FarEndReference reference(/*capacity_blocks=*/4);
  for (int k = 0; k < 10; ++k) reference.OnPlayed(Block(1), kT0 + milliseconds(10 * k));
  EXPECT_EQ(reference.dropped_blocks(), 6u);
}

TEST(FarEndReferenceTest, SkipsBlocksTooOldToHoldEchoAnyMore) {
  FarEndReference reference(/*capacity_blocks=*/64, /*max_lag=*/milliseconds(100));
  for (int k = 0; k < 30; ++k) reference.OnPlayed(Block(static_cast<Sample>(k)), kT0 + milliseconds(10 * k));
  std::vector<Sample> fed;
  // The capture stalled: at 290 ms, blocks played more than 100 ms ago are skipped.
  auto delay = reference.FeedDue(kT0 + milliseconds(290), [&](std::span<const Sample, kBlockSamples> b) {
    fed.push_back(b[0]);
  });
  ASSERT_TRUE(delay);
  EXPECT_EQ(*delay, Duration{0});
  EXPECT_EQ(fed.front(), 19);  // played at 190 ms: exactly 100 ms old, kept
  EXPECT_EQ(fed.back(), 29);
  EXPECT_EQ(reference.stale_blocks(), 19u);
}

}  // namespace
}  // namespace parley::media
