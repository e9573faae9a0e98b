// Unwrapper: 16-bit sequence and 32-bit timestamp wrap, reordering around the wrap.
#include "parley/media/unwrapper.h"

#include <gtest/gtest.h>

namespace parley::media {
namespace {

TEST(UnwrapperTest, SequenceCountsOnAcrossTheWrap) {
  SequenceUnwrapper u;
  EXPECT_EQ(u.Unwrap(65534), 65534);
  EXPECT_EQ(u.Unwrap(65535), 65535);
  EXPECT_EQ(u.Unwrap(0), 65536);
  EXPECT_EQ(u.Unwrap(1), 65537);
  EXPECT_EQ(u.Unwrap(65535), 65535);  // late and from before the wrap
  EXPECT_EQ(u.Unwrap(2), 65538);
}

TEST(UnwrapperTest, TimestampWrapsAt2To32) {
  TimestampUnwrapper u;
  const uint32_t start = 0xFFFFFFFFu - 959;
  EXPECT_EQ(u.Unwrap(start), int64_t{start});
  EXPECT_EQ(u.Unwrap(start + 960u), int64_t{1} << 32);  // wrapped to 0
  EXPECT_EQ(u.Unwrap(960), (int64_t{1} << 32) + 960);
}

TEST(UnwrapperTest, OldValueDoesNotMoveTheReference) {
  SequenceUnwrapper u;
  EXPECT_EQ(u.Unwrap(100), 100);
  EXPECT_EQ(u.Unwrap(100 + 30000), 30100);
  EXPECT_EQ(u.Unwrap(200), 200);  // old, reordered
  // Relative to 30100 (not 200): 30100 + 32767 is the farthest forward value.
  EXPECT_EQ(u.Unwrap(static_cast<uint16_t>(30100 + 32767)), 30100 + 32767);
}

TEST(UnwrapperTest, BackwardsBeforeTheFirstValueGoesNegative) {
  TimestampUnwrapper u;
  EXPECT_EQ(u.Unwrap(100), 100);
  EXPECT_EQ(u.Unwrap(0xFFFFFFFFu - 99), -100);
  EXPECT_EQ(u.Peek(200), 200);
}

}  // namespace
}  // namespace parley::media
