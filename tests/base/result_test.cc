#include "parley/base/result.h"

#include <gtest/gtest.h>

#include "parley/base/random.h"
#include "parley/base/time.h"

namespace parley {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Error{"value must be positive"};
  return v;
}

TEST(ResultTest, CarriesValueOrError) {
  auto good = ParsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = ParsePositive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "value must be positive");
}

TEST(ResultDeathTest, ValueOfErrorAbortsWithItsMessage) {
  auto bad = ParsePositive(0);
  EXPECT_DEATH((void)bad.value(), "value must be positive");
}

TEST(RandomTest, SameSeedSameSequence) {
  Random a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  EXPECT_EQ(clock.Now(), TimePoint{});
  clock.Advance(milliseconds(20));
  EXPECT_DOUBLE_EQ(ToMillis(clock.Now() - TimePoint{}), 20.0);
}

}  // namespace
}  // namespace parley
