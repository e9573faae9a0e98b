// Token buckets keyed by a string (a client IP, a user, a connection): how parleyd
// limits logins and invites. Logic without I/O: the caller passes the time.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "parley/base/time.h"

namespace parley::server {

// Up to `burst` events at once, then one more per `interval`.
struct RateLimit {
  int burst = 1;                    // >= 1
  Duration interval = seconds(1);  // > 0
};

// The generic cell rate algorithm (GCRA, ITU-T I.371), the exact integer form of a
// token bucket: per key, one "theoretical arrival time" that moves `interval` ahead
// per allowed event and may run at most burst * interval ahead of now.
//
// Memory is bounded by `max_keys`: buckets that have refilled completely are dropped
// (a new bucket is full, so nothing changes); if the table is still full of active
// buckets, new keys are refused (fail closed) until some refill.
// Not thread-safe; the hub's strand owns it.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit, std::size_t max_keys = 100000);

  // Takes one event for `key` at `now`; false if the key is over its limit.
  // `now` must not go backwards.
  bool Allow(const std::string& key, TimePoint now);
  // Drops the key's bucket (e.g. when a connection closes).
  void Forget(const std::string& key);
  std::size_t size() const { return next_free_.size(); }

 private:
  void Prune(TimePoint now);

  RateLimit limit_;
  std::size_t max_keys_;
  std::unordered_map<std::string, TimePoint> next_free_;  // the key's theoretical arrival time
  TimePoint next_prune_{};
};

}  // namespace parley::server
