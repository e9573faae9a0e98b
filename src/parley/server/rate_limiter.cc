// GCRA token buckets (see rate_limiter.h).
#include "parley/server/rate_limiter.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::server {

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_keys) : limit_(limit), max_keys_(max_keys) {
  PARLEY_CHECK(limit_.burst >= 1);
  PARLEY_CHECK(limit_.interval > Duration::zero());
  PARLEY_CHECK(max_keys_ >= 1);
}

bool RateLimiter::Allow(const std::string& key, TimePoint now) {
  auto it = next_free_.find(key);
  if (it == next_free_.end()) {
    if (next_free_.size() >= max_keys_) {
      Prune(now);
      if (next_free_.size() >= max_keys_) return false;
    }
    it = next_free_.emplace(key, now).first;
  }
  const TimePoint start = std::max(it->second, now);
  const TimePoint after = start + limit_.interval;
  if (after - now > limit_.interval * limit_.burst) return false;
  it->second = after;
  return true;
}

void RateLimiter::Forget(const std::string& key) { next_free_.erase(key); }

void RateLimiter::Prune(TimePoint now) {
  // At most once per interval, so a full table under attack costs O(keys) rarely.
  if (now < next_prune_) return;
  next_prune_ = now + limit_.interval;
  std::erase_if(next_free_, [now](const auto& entry) { return entry.second <= now; });
}

}  // namespace parley::server
