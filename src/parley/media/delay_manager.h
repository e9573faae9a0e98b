// The jitter buffer's delay policy: how much audio to keep buffered so that the configured
// fraction of packets arrives in time, estimated from packet arrival times.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "parley/base/time.h"

namespace parley::media {

struct DelayManagerConfig {
  double quantile = 0.97;        // fraction of packets that should arrive in time
  double forget_factor = 0.983;  // histogram weight kept per update (memory ~1/(1-f) packets)
  int min_delay_ms = 0;          // floor on the target
  int max_delay_ms = 1000;       // ceiling on the target; also the histogram's range
  Duration window = seconds(2);  // how far back the fastest packet is looked for
};

// The estimator (after WebRTC NetEq's relative-delay histogram):
//
//  1. For each primary frame, x = arrival time − (end timestamp / 48 kHz), in ms: the
//     arrival time minus when it would arrive if the network and the sender's clock were
//     perfectly steady (the unknown constant offset cancels below). The end (timestamp +
//     frame length), not the start, because a frame is sent once it is fully captured:
//     so a switch from 20 to 60 ms frames doesn't look like 40 ms of extra delay.
//  2. relative delay d = x − min(x over the packets that arrived in the last `window`):
//     how much later this packet came than the fastest recent one. Reordered and
//     delayed packets get large d; a clean network gives d = 0. A sliding minimum (not a
//     running one) follows route changes and slow clock drift.
//  3. d goes into a histogram with 1 ms buckets over [0, max_delay_ms]. Each update scales
//     every bucket by f (forget_factor) and adds (1 − f) to d's bucket, so the histogram
//     is a probability distribution that forgets old packets exponentially and tracks the
//     network both up and down. For the first 1/(1−f) packets f is lowered to 1 − 1/n,
//     which makes the histogram the plain empirical distribution of what was seen.
//  4. target = (the `quantile` point of the histogram, bucket lower edge) + one frame,
//     clamped to [max(min_delay_ms, one frame), max_delay_ms]. The frame term is what any
//     buffer needs to hold one whole frame when its playout starts; on a network without
//     jitter the target is exactly one frame (20 ms for 20 ms frames).
//
// A packet that arrives with no reference in the window (the first, after a DTX pause or
// a resynchronisation longer than the window, or after ResetReference) only seeds the
// window: its d would be 0 by construction and would bias the histogram low.
//
// Only primary frames' arrivals are fed in (a redundant copy's arrival says nothing about
// its own frame's transit). Single context; time is passed in.
class DelayManager {
 public:
  explicit DelayManager(DelayManagerConfig config = {});

  // A primary frame starting at unwrapped `timestamp` (48 kHz samples), `frame_samples`
  // long, arrived at `arrival`.
  void Update(int64_t timestamp, int frame_samples, TimePoint arrival);

  // Forgets the fastest-packet reference (after an outage or a stream restart, when the
  // path may have changed); the histogram is kept.
  void ResetReference();

  int TargetDelayMs() const { return target_delay_ms_; }
  // The quantile of the relative-delay distribution, ms (lower bucket edge).
  int RelativeDelayQuantileMs() const;
  // The last relative delay measured, ms (for tests and stats).
  double last_relative_delay_ms() const { return last_relative_delay_ms_; }
  const std::vector<double>& histogram() const { return histogram_; }

 private:
  void AddToHistogram(double relative_delay_ms);
  void UpdateTarget();

  struct Arrival {
    TimePoint arrival;
    double offset_ms;  // x above
  };

  DelayManagerConfig config_;
  std::vector<double> histogram_;  // bucket i: relative delay in [i, i+1) ms
  uint64_t updates_ = 0;
  std::deque<Arrival> window_;     // increasing offset_ms: front is the window's minimum
  int frame_ms_ = 20;
  int target_delay_ms_;
  double last_relative_delay_ms_ = 0;
};

}  // namespace parley::media
