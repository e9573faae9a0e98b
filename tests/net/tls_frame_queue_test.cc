// The drop-oldest frame queue: caps in frames and bytes hold, the newest frames survive.
#include "parley/net/tls_frame_queue.h"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

std::vector<uint8_t> Frame(uint8_t tag, size_t size = 10) { return std::vector<uint8_t>(size, tag); }

TEST(TlsFrameQueueTest, KeepsOrderBelowTheCaps) {
  TlsFrameQueue queue(4, 1000);
  for (uint8_t i = 0; i < 3; ++i) EXPECT_TRUE(queue.Push(Frame(i)));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.bytes(), 30u);
  for (uint8_t i = 0; i < 3; ++i) EXPECT_EQ(queue.Pop(), Frame(i));
  EXPECT_FALSE(queue.Pop().has_value());
  EXPECT_EQ(queue.dropped(), 0u);
}

TEST(TlsFrameQueueTest, DropsOldestAtTheFrameCap) {
  TlsFrameQueue queue(4, 1000);
  for (uint8_t i = 0; i < 10; ++i) queue.Push(Frame(i));
  EXPECT_EQ(queue.size(), 4u);
  EXPECT_EQ(queue.dropped(), 6u);
  EXPECT_EQ(queue.front(), Frame(6));
}

TEST(TlsFrameQueueTest, DropsOldestAtTheByteCap) {
  TlsFrameQueue queue(100, 100);
  for (uint8_t i = 0; i < 5; ++i) queue.Push(Frame(i, 30));
  EXPECT_LE(queue.bytes(), 100u);
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.front(), Frame(2, 30));
  EXPECT_FALSE(queue.Push(Frame(9, 101)));  // alone over the cap: dropped, the rest kept
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.dropped(), 3u);
  queue.Clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

}  // namespace
}  // namespace parley::net
