// Tests of the token buckets in simulated time: burst, refill, independence of keys,
// and the bounded table.
#include "parley/server/rate_limiter.h"

#include <gtest/gtest.h>

namespace parley::server {
namespace {

const TimePoint kStart = TimePoint{} + seconds(1000);

TEST(RateLimiterTest, BurstThenOnePerInterval) {
  RateLimiter limiter(RateLimit{3, seconds(10)});
  EXPECT_TRUE(limiter.Allow("a", kStart));
  EXPECT_TRUE(limiter.Allow("a", kStart));
  EXPECT_TRUE(limiter.Allow("a", kStart));
  EXPECT_FALSE(limiter.Allow("a", kStart));
  EXPECT_FALSE(limiter.Allow("a", kStart + seconds(9)));
  EXPECT_TRUE(limiter.Allow("a", kStart + seconds(10)));
  EXPECT_FALSE(limiter.Allow("a", kStart + seconds(10)));
  // A long pause refills to the burst, not beyond.
  const TimePoint later = kStart + seconds(1000);
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.Allow("a", later) ? 1 : 0;
  EXPECT_EQ(allowed, 3);
}

TEST(RateLimiterTest, RefusedEventsDoNotCost) {
  RateLimiter limiter(RateLimit{1, seconds(10)});
  EXPECT_TRUE(limiter.Allow("a", kStart));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.Allow("a", kStart + seconds(5)));
  EXPECT_TRUE(limiter.Allow("a", kStart + seconds(10)));
}

TEST(RateLimiterTest, SustainedRateIsTheInterval) {
  RateLimiter limiter(RateLimit{5, milliseconds(100)});
  int allowed = 0;
  for (int ms = 0; ms < 10000; ms += 10) allowed += limiter.Allow("k", kStart + milliseconds(ms)) ? 1 : 0;
  EXPECT_GE(allowed, 100 + 5 - 1);
  EXPECT_LE(allowed, 100 + 5);
}

TEST(RateLimiterTest, KeysAreIndependent) {
  RateLimiter limiter(RateLimit{1, seconds(10)});
  EXPECT_TRUE(limiter.Allow("a", kStart));
  EXPECT_FALSE(limiter.Allow("a", kStart));
  EXPECT_TRUE(limiter.Allow("b", kStart));
  limiter.Forget("a");
  EXPECT_TRUE(limiter.Allow("a", kStart));
}

TEST(RateLimiterTest, FullTableDropsRefilledBucketsAndOtherwiseFailsClosed) {
  RateLimiter limiter(RateLimit{1, seconds(10)}, /*max_keys=*/2);
  EXPECT_TRUE(limiter.Allow("a", kStart));
  EXPECT_TRUE(limiter.Allow("b", kStart));
  EXPECT_FALSE(limiter.Allow("c", kStart + seconds(1)));  // a and b still active
  EXPECT_EQ(limiter.size(), 2u);
  EXPECT_TRUE(limiter.Allow("c", kStart + seconds(11)));  // both refilled: dropped
  EXPECT_LE(limiter.size(), 2u);
  // Known keys keep their state when the table is full.
  EXPECT_FALSE(limiter.Allow("c", kStart + seconds(11)));
}

}  // namespace
}  // namespace parley::server
