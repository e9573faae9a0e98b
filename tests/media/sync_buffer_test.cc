// SyncBuffer: per-sample timestamps through append, pull and a replaced future.
#include "parley/media/sync_buffer.h"

#include <gtest/gtest.h>

namespace parley::media {
namespace {

TEST(SyncBufferTest, PullsBlocksWithTheirFirstTimestamp) {
  SyncBuffer b;
  std::vector<Sample> frame(960, 7);
  b.Append(frame, 1000);
  b.Append(std::vector<Sample>(240, 0), SyncBuffer::kNoTimestamp);
  EXPECT_EQ(b.future_samples(), 1200);
  std::array<Sample, kBlockSamples> out{};
  EXPECT_EQ(b.Pull(out), 1000);
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(b.Pull(out), 1480);
  EXPECT_EQ(b.future_samples(), 240);
  b.Append(frame, 5000);
  EXPECT_EQ(b.Pull(out), SyncBuffer::kNoTimestamp);
  EXPECT_EQ(out[240], 7);
  EXPECT_EQ(b.timestamps()[static_cast<size_t>(b.future_start())], 5000 + 240);
}

TEST(SyncBufferTest, KeepsBoundedHistory) {
  SyncBuffer b;
  std::array<Sample, kBlockSamples> out{};
  for (int i = 0; i < 20; ++i) {
    b.Append(std::vector<Sample>(480, static_cast<Sample>(i)), i * 480);
    b.Pull(out);
  }
  EXPECT_EQ(b.future_start(), SyncBuffer::kHistorySamples);
  EXPECT_EQ(b.samples().size(), static_cast<size_t>(SyncBuffer::kHistorySamples));
}

TEST(SyncBufferTest, ReplaceFutureKeepsHistory) {
  SyncBuffer b;
  b.Append(std::vector<Sample>(960, 1), 0);
  std::array<Sample, kBlockSamples> out{};
  b.Pull(out);
  std::vector<Sample> s(100, 2);
  std::vector<int64_t> t(100, 42);
  b.ReplaceFuture(s, t);
  EXPECT_EQ(b.future_samples(), 100);
  EXPECT_EQ(b.samples()[0], 1);
  EXPECT_EQ(b.timestamps().back(), 42);
}

}  // namespace
}  // namespace parley::media
