// When a shared service (the Redis node bus, the PostgreSQL store) may be tried again
// after it failed: pure logic, given the current time, so a stall costs one timeout.
#pragma once

#include <algorithm>

#include "parley/base/time.h"

namespace parley::server {

// Closed: every call tries the service. After a failure it opens: calls fail fast
// (the caller does not reconnect or wait) until `retry_after` has passed; then one
// call may try (half-open). Its success closes the breaker; its failure opens it
// again for twice as long, up to `max_retry_after`. So a service that stopped
// answering costs the caller one timeout per retry interval, not one per call.
//
// Header-only (used by parley_server's PostgresStore and parley_node_bus's
// RedisNodeBus, two libraries). Not thread-safe: used from its owner's one context.
class CircuitBreaker {
 public:
  struct Config {
    Duration retry_after = seconds(1);      // after the first failure
    Duration max_retry_after = seconds(8);  // the interval doubles up to this
  };

  explicit CircuitBreaker(Config config) : config_(config), interval_(config.retry_after) {}

  // True if a call may try the service at `now`. While open, the first call at or
  // after retry_at() is let through and the next ones wait for its outcome (the
  // retry time moves on by one interval, so they fail fast meanwhile).
  bool MayTry(TimePoint now) {
    if (!open_) return true;
    if (now < retry_at_) return false;
    retry_at_ = now + interval_;  // a trial that never reports back still retries later
    return true;
  }

  void OnSuccess() {
    open_ = false;
    interval_ = config_.retry_after;
  }

  void OnFailure(TimePoint now) {
    if (open_) interval_ = std::min(interval_ * 2, config_.max_retry_after);
    open_ = true;
    retry_at_ = now + interval_;
  }

  bool open() const { return open_; }
  // Meaningful while open(): when the next call may try.
  TimePoint retry_at() const { return retry_at_; }

 private:
  Config config_;
  Duration interval_;
  bool open_ = false;
  TimePoint retry_at_{};
};

}  // namespace parley::server
