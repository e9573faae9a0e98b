// The reconnect schedule: rounds over the profile's servers with a doubling, jittered
// delay between them.
#include "parley/signal/reconnect_schedule.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::signal {

ReconnectSchedule::ReconnectSchedule(std::size_t server_count, ReconnectScheduleConfig config)
    : server_count_(server_count), config_(config) {
  PARLEY_CHECK(server_count_ >= 1);
}

Duration ReconnectSchedule::Delay(int round, double random_unit) const {
  // first_delay * 2^round, without overflowing for many rounds.
  Duration base = config_.first_delay;
  for (int i = 0; i < round && base < config_.max_delay; ++i) base *= 2;
  base = std::min(base, config_.max_delay);
  const double unit = std::clamp(random_unit, 0.0, 1.0);
  const double factor = 1.0 - config_.jitter + 2.0 * config_.jitter * unit;
  const auto scaled = std::chrono::duration_cast<Duration>(base * factor);
  return std::clamp(scaled, Duration::zero(), config_.max_delay);
}

void ReconnectSchedule::OnLost(TimePoint now, double random_unit) {
  active_ = true;
  failed_rounds_ = 0;
  next_server_ = 0;
  next_attempt_at_ = now + Delay(0, random_unit);
}

void ReconnectSchedule::OnFailure(TimePoint now, double random_unit) {
  if (!active_) return;
  if (next_server_ + 1 < server_count_) {
    ++next_server_;
    next_attempt_at_ = now;
    return;
  }
  ++failed_rounds_;
  next_server_ = 0;
  next_attempt_at_ = now + Delay(failed_rounds_, random_unit);
}

void ReconnectSchedule::OnSuccess() {
  active_ = false;
  failed_rounds_ = 0;
  next_server_ = 0;
}

}  // namespace parley::signal
