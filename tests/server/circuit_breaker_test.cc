// CircuitBreaker in simulated time: fail fast after a failure, one trial per retry
// interval, the interval doubling up to its cap, and reset by a success.
#include "parley/server/circuit_breaker.h"

#include <gtest/gtest.h>

namespace parley::server {
namespace {

constexpr CircuitBreaker::Config kConfig{seconds(1), seconds(4)};

TEST(CircuitBreakerTest, ClosedLetsEveryCallTry) {
  CircuitBreaker breaker(kConfig);
  TimePoint now{};
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(breaker.MayTry(now));
    breaker.OnSuccess();
    now += milliseconds(1);
  }
  EXPECT_FALSE(breaker.open());
}

TEST(CircuitBreakerTest, AFailureMakesCallsFailFastUntilTheRetryTime) {
  CircuitBreaker breaker(kConfig);
  TimePoint now{};
  breaker.OnFailure(now);
  EXPECT_TRUE(breaker.open());
  EXPECT_EQ(breaker.retry_at(), now + seconds(1));
  // A thousand users' renewals within the interval: none of them tries.
  int tried = 0;
  for (int i = 0; i < 1000; ++i) tried += breaker.MayTry(now + milliseconds(i));
  EXPECT_EQ(tried, 0);
  // At the retry time exactly one call tries; the others still fail fast.
  EXPECT_TRUE(breaker.MayTry(now + seconds(1)));
  EXPECT_FALSE(breaker.MayTry(now + seconds(1)));
  EXPECT_FALSE(breaker.MayTry(now + milliseconds(1500)));
  breaker.OnSuccess();
  EXPECT_FALSE(breaker.open());
  EXPECT_TRUE(breaker.MayTry(now + milliseconds(1500)));
}

TEST(CircuitBreakerTest, FailedTrialsDoubleTheIntervalUpToItsCapAndASuccessResetsIt) {
  CircuitBreaker breaker(kConfig);
  TimePoint now{};
  breaker.OnFailure(now);
  for (Duration expected : {seconds(2), seconds(4), seconds(4)}) {
    now = breaker.retry_at();
    ASSERT_TRUE(breaker.MayTry(now));
    breaker.OnFailure(now);
    EXPECT_EQ(breaker.retry_at() - now, expected);
  }
  now = breaker.retry_at();
  ASSERT_TRUE(breaker.MayTry(now));
  breaker.OnSuccess();
  breaker.OnFailure(now);  // a new outage starts from the first interval again
  EXPECT_EQ(breaker.retry_at() - now, seconds(1));
}

TEST(CircuitBreakerTest, ATrialThatNeverReportsDoesNotKeepTheBreakerShutForever) {
  CircuitBreaker breaker(kConfig);
  TimePoint now{};
  breaker.OnFailure(now);
  ASSERT_TRUE(breaker.MayTry(now + seconds(1)));  // its caller never reports an outcome
  EXPECT_FALSE(breaker.MayTry(now + milliseconds(1999)));
  EXPECT_TRUE(breaker.MayTry(now + seconds(2)));
}

}  // namespace
}  // namespace parley::server
