// The jitter buffer's per-frame decision: play normally, shrink or grow the delay by time
// stretching, conceal a missing frame, or merge back after concealment.
#pragma once

#include <optional>

namespace parley::media {

enum class Operation {
  kNormal,            // decode the next frame and play it
  kAccelerate,        // decode it and remove a pitch period (buffer well above target)
  kPreemptiveExpand,  // decode it and insert a pitch period (below target, frame present)
  kExpand,            // the next frame is missing: conceal
  kMerge,             // the first frame after concealment: decode and cross-fade into it
  kComfortNoise,      // a DTX pause: comfort noise until the next talk spurt is due
};

const char* OperationName(Operation op);

struct DecisionInput {
  int target_samples = 0;    // the DelayManager's target, 48 kHz samples
  int buffered_samples = 0;  // decoded-but-unplayed + held frames, 48 kHz samples
  bool next_frame_available = false;
  Operation previous = Operation::kNormal;
};

// Thresholds (after NetEq's DecisionLogic), on a filtered buffer level L and target T:
//   low  = max(3/4 T, T − 85 ms)       below it (and the frame is there): PreemptiveExpand
//   high = max(T, low + 20 ms)         at or above it: Accelerate
// The 20 ms band between them is the hysteresis that keeps a level wobbling around the
// target (arrival jitter, 10 ms pulls against 20 ms frames) from flipping between the two.
// L is the level seen at each decision smoothed over ~8 decisions (so one early or late
// packet doesn't trigger a stretch), and a stretch moves L by what it removed or added at
// once, so the next decision doesn't stretch again for the same excess. Stretches are
// spaced at least kMinDecisionsBetweenStretches decisions apart, except far above the
// target (L ≥ 4·high) where every decision may accelerate.
// Single context; pure bookkeeping, no clock.
class DecisionLogic {
 public:
  static constexpr int kMinDecisionsBetweenStretches = 2;
  static constexpr double kLevelSmoothing = 0.875;  // weight kept per decision

  Operation Decide(const DecisionInput& input);

  // A time stretch changed the buffered audio by `delta_samples` (negative: removed).
  void OnStretched(int delta_samples);
  // Forget the level (after a start, a resynchronisation, or a DTX pause).
  void Reset();

  static int LowLimitSamples(int target_samples);
  static int HighLimitSamples(int target_samples);

  std::optional<double> filtered_level_samples() const { return filtered_level_; }

 private:
  std::optional<double> filtered_level_;
  int decisions_since_stretch_ = kMinDecisionsBetweenStretches;
};

}  // namespace parley::media
