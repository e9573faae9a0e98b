// DecisionLogic: NetEq-style thresholds with a smoothed level and hysteresis.
#include "parley/media/decision_logic.h"

#include <algorithm>

#include "parley/media/audio_format.h"

namespace parley::media {

const char* OperationName(Operation op) {
  switch (op) {
    case Operation::kNormal: return "normal";
    case Operation::kAccelerate: return "accelerate";
    case Operation::kPreemptiveExpand: return "preemptive-expand";
    case Operation::kExpand: return "expand";
    case Operation::kMerge: return "merge";
    case Operation::kComfortNoise: return "comfort-noise";
  }
  return "?";
}

int DecisionLogic::LowLimitSamples(int target_samples) {
  return std::max(target_samples * 3 / 4, target_samples - 85 * kSamplesPerMs);
}

int DecisionLogic::HighLimitSamples(int target_samples) {
  return std::max(target_samples, LowLimitSamples(target_samples) + 20 * kSamplesPerMs);
}

Operation DecisionLogic::Decide(const DecisionInput& input) {
  if (!input.next_frame_available) return Operation::kExpand;

  const auto level = static_cast<double>(input.buffered_samples);
  filtered_level_ = filtered_level_ ? kLevelSmoothing * *filtered_level_ + (1 - kLevelSmoothing) * level
                                    : level;
  ++decisions_since_stretch_;

  if (input.previous == Operation::kExpand || input.previous == Operation::kComfortNoise) {
    return Operation::kMerge;
  }
  const int high = HighLimitSamples(input.target_samples);
  const int low = LowLimitSamples(input.target_samples);
  const bool spaced = decisions_since_stretch_ > kMinDecisionsBetweenStretches;
  if (*filtered_level_ >= high && (spaced || *filtered_level_ >= 4.0 * high)) {
    return Operation::kAccelerate;
  }
  if (*filtered_level_ < low && spaced) return Operation::kPreemptiveExpand;
  return Operation::kNormal;
}

void DecisionLogic::OnStretched(int delta_samples) {
  if (filtered_level_) *filtered_level_ = std::max(0.0, *filtered_level_ + delta_samples);
  decisions_since_stretch_ = 0;
}

void DecisionLogic::Reset() {
  filtered_level_.reset();
  decisions_since_stretch_ = kMinDecisionsBetweenStretches;
}

}  // namespace parley::media
