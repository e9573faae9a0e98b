// Time as every Parley component sees it: points and durations on one monotonic
// timeline, given to pure logic by its caller so tests can run in simulated time.
#pragma once

#include <chrono>
#include <cstdint>

namespace parley {

// Real adapters use steady_clock::now(); simulations start at TimePoint{} and add.
using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::nanoseconds;

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline double ToMillis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline Duration FromMillis(double ms) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

// A source of the current time, for the thin I/O layers that need one.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to: the simulated time of tests and `parley lab`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Advance(Duration d) { now_ += d; }
  void Set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

}  // namespace parley
