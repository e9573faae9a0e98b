// The lock-free ring: FIFO order, wrap-around, full/empty edges, and a two-thread
// stress run in which every item arrives once, in order, with nothing invented.
#include "parley/media/spsc_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include "parley/media/audio_format.h"

namespace parley::media {
namespace {

TEST(SpscRingTest, CapacityRoundsUpToAPowerOfTwo) {
  EXPECT_EQ(SpscRing<int16_t>(1).capacity(), 1u);
  EXPECT_EQ(SpscRing<int16_t>(480).capacity(), 512u);
  EXPECT_EQ(SpscRing<int16_t>(1024).capacity(), 1024u);
}

TEST(SpscRingTest, StartsEmpty) {
  SpscRing<int16_t> ring(8);
  EXPECT_EQ(ring.ReadAvailable(), 0u);
  EXPECT_EQ(ring.WriteAvailable(), 8u);
  std::vector<int16_t> out(4, 7);
  EXPECT_EQ(ring.Read(out), 0u);
  EXPECT_EQ(out, std::vector<int16_t>(4, 7));  // untouched
}

TEST(SpscRingTest, ReadsBackWhatWasWrittenInOrder) {
  SpscRing<int16_t> ring(8);
  const std::vector<int16_t> in = {1, 2, 3, 4, 5};
  EXPECT_EQ(ring.Write(in), 5u);
  EXPECT_EQ(ring.ReadAvailable(), 5u);
  EXPECT_EQ(ring.WriteAvailable(), 3u);
  std::vector<int16_t> out(3);
  EXPECT_EQ(ring.Read(out), 3u);
  EXPECT_EQ(out, (std::vector<int16_t>{1, 2, 3}));
  out.assign(8, 0);
  EXPECT_EQ(ring.Read(out), 2u);
  EXPECT_EQ(out[0], 4);
  EXPECT_EQ(out[1], 5);
}

TEST(SpscRingTest, WriteTakesOnlyWhatFitsWhenFull) {
  SpscRing<int16_t> ring(4);
  const std::vector<int16_t> in = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ring.Write(in), 4u);
  EXPECT_EQ(ring.WriteAvailable(), 0u);
  EXPECT_EQ(ring.Write(in), 0u);
  std::vector<int16_t> out(4);
  EXPECT_EQ(ring.Read(out), 4u);
  EXPECT_EQ(out, (std::vector<int16_t>{1, 2, 3, 4}));
}

TEST(SpscRingTest, WrapsAroundTheEndManyTimes) {
  SpscRing<int16_t> ring(8);
  int16_t next_in = 0;
  int16_t next_out = 0;
  for (int round = 0; round < 100; ++round) {
    const size_t n = 1 + static_cast<size_t>(round % 7);  // odd sizes straddle the end
    std::vector<int16_t> in(n);
    for (auto& x : in) x = next_in++;
    ASSERT_EQ(ring.Write(in), n);
    std::vector<int16_t> out(n);
    ASSERT_EQ(ring.Read(out), n);
    for (auto x : out) ASSERT_EQ(x, next_out++);
  }
}

TEST(SpscRingTest, SkipDropsTheOldest) {
  SpscRing<int16_t> ring(8);
  const std::vector<int16_t> in = {1, 2, 3, 4};
  ring.Write(in);
  EXPECT_EQ(ring.Skip(3), 3u);
  EXPECT_EQ(ring.Skip(10), 1u);
  EXPECT_EQ(ring.ReadAvailable(), 0u);
  EXPECT_EQ(ring.WriteAvailable(), 8u);
}

// One producer writing 10 ms blocks, one consumer reading odd-sized chunks through a
// small ring (it fills and empties hundreds of times): every item arrives exactly once
// and in order. A side that makes no progress yields, so the test also finishes
// quickly on a loaded machine (well under a second when idle).
TEST(SpscRingTest, TwoThreadStressKeepsEveryItemInOrder) {
  SpscRing<uint32_t> ring(4 * kBlockSamples);
  constexpr uint32_t kTotal = 10000 * kBlockSamples;  // 100 s of audio
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::atomic<bool> stop{false};

  std::thread producer([&] {
    std::vector<uint32_t> block(kBlockSamples);
    for (uint32_t next = 0; next < kTotal && !stop.load(std::memory_order_relaxed);) {
      for (size_t i = 0; i < block.size(); ++i) block[i] = next + static_cast<uint32_t>(i);
      size_t done = 0;
      while (done < block.size() && !stop.load(std::memory_order_relaxed)) {
        const size_t n = ring.Write(std::span<const uint32_t>(block.data() + done, block.size() - done));
        if (n == 0) std::this_thread::yield();
        done += n;
      }
      next += static_cast<uint32_t>(done);
    }
  });

  uint32_t expected = 0;
  bool in_order = true;
  std::vector<uint32_t> chunk(333);
  while (expected < kTotal && in_order && std::chrono::steady_clock::now() < give_up) {
    const size_t got = ring.Read(chunk);
    if (got == 0) std::this_thread::yield();
    for (size_t i = 0; i < got; ++i, ++expected) {
      if (chunk[i] != expected) {
        ADD_FAILURE() << "item " << expected << " came out as " << chunk[i];
        in_order = false;
        break;
      }
    }
  }
  stop = true;
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(expected, kTotal);
  EXPECT_EQ(ring.ReadAvailable(), 0u);
}

}  // namespace
}  // namespace parley::media
