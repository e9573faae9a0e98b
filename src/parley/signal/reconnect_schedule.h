// When and where the client tries to get its signaling connection back after losing
// it (parleyd restarted, a node died): logic without I/O.
#pragma once

#include <cstddef>
#include <cstdint>

#include "parley/base/time.h"

namespace parley::signal {

struct ReconnectScheduleConfig {
  Duration first_delay = milliseconds(500);  // from the loss to the first round
  Duration max_delay = seconds(10);          // the delay between rounds doubles up to this
  // Each delay is scaled by a factor drawn from [1 - jitter, 1 + jitter] (then capped
  // at max_delay), so that the clients of a restarted server do not all come back in
  // the same instant.
  double jitter = 0.2;
};

// A round tries every server of the profile once, in profile order, one right after
// the other (a server that refuses at once costs nothing); between rounds the delay
// doubles from first_delay up to max_delay: 0.5, 1, 2, 4, 8, 10, 10 ... s with one
// server. Success resets everything.
//
// Randomness is injected: `random_unit` arguments are uniform in [0, 1) from the
// caller's source (a fixed value in tests). Pure; single-threaded (the client's call
// loop).
class ReconnectSchedule {
 public:
  // server_count >= 1 (checked).
  ReconnectSchedule(std::size_t server_count, ReconnectScheduleConfig config = {});

  // The connection was lost at `now`: the first attempt (server 0) is due after the
  // first delay.
  void OnLost(TimePoint now, double random_unit);
  // The attempt at next_server() failed at `now`: the next server is due at once, or,
  // after the last one, server 0 after the next (doubled) delay.
  void OnFailure(TimePoint now, double random_unit);
  // Logged in again: nothing is due until the next OnLost.
  void OnSuccess();

  bool active() const { return active_; }
  // Only while active().
  std::size_t next_server() const { return next_server_; }
  TimePoint next_attempt_at() const { return next_attempt_at_; }
  bool Due(TimePoint now) const { return active_ && now >= next_attempt_at_; }
  // Rounds that failed since the loss (0 during the first round).
  int failed_rounds() const { return failed_rounds_; }

 private:
  Duration Delay(int round, double random_unit) const;

  std::size_t server_count_;
  ReconnectScheduleConfig config_;
  bool active_ = false;
  std::size_t next_server_ = 0;
  TimePoint next_attempt_at_{};
  int failed_rounds_ = 0;
};

}  // namespace parley::signal
