// DelayManager: relative arrival delay, forgetting histogram, quantile target.
#include "parley/media/delay_manager.h"

#include <algorithm>
#include <cmath>

#include "parley/base/check.h"
#include "parley/media/audio_format.h"

namespace parley::media {

DelayManager::DelayManager(DelayManagerConfig config)
    : config_(config), histogram_(static_cast<size_t>(std::max(config.max_delay_ms, 1)) + 1, 0.0) {
  PARLEY_CHECK(config_.quantile > 0 && config_.quantile <= 1);
  PARLEY_CHECK(config_.forget_factor > 0 && config_.forget_factor < 1);
  PARLEY_CHECK(config_.min_delay_ms >= 0 && config_.max_delay_ms >= config_.min_delay_ms);
  UpdateTarget();
}

void DelayManager::Update(int64_t timestamp, int frame_samples, TimePoint arrival) {
  if (frame_samples > 0) frame_ms_ = std::max(1, frame_samples / kSamplesPerMs);
  // A frame can be sent only once all of it is captured: its expected arrival follows its
  // end, so a change of frame length is not mistaken for delay.
  const double offset_ms = ToMillis(arrival.time_since_epoch()) -
                           static_cast<double>(timestamp + std::max(frame_samples, 0)) / kSamplesPerMs;

  // Slide the window, then keep it a monotonic queue so its front is the minimum.
  while (!window_.empty() && arrival - window_.front().arrival > config_.window) window_.pop_front();
  const bool had_reference = !window_.empty();
  while (!window_.empty() && window_.back().offset_ms >= offset_ms) window_.pop_back();
  window_.push_back({arrival, offset_ms});

  if (had_reference) {
    last_relative_delay_ms_ = offset_ms - window_.front().offset_ms;
    AddToHistogram(last_relative_delay_ms_);
  }
  UpdateTarget();
}

void DelayManager::ResetReference() { window_.clear(); }

void DelayManager::AddToHistogram(double relative_delay_ms) {
  ++updates_;
  const double forget =
      std::min(config_.forget_factor, 1.0 - 1.0 / static_cast<double>(updates_));
  for (double& bucket : histogram_) bucket *= forget;
  const auto last = static_cast<double>(histogram_.size() - 1);
  const auto index = static_cast<size_t>(std::clamp(std::floor(relative_delay_ms), 0.0, last));
  histogram_[index] += 1.0 - forget;
}

int DelayManager::RelativeDelayQuantileMs() const {
  if (updates_ == 0) return 0;
  double total = 0;
  for (double bucket : histogram_) total += bucket;
  double cumulative = 0;
  // A small tolerance so a quantile of exactly 1.0 isn't pushed past the last bucket by rounding.
  const double wanted = config_.quantile * total * (1 - 1e-9);
  for (size_t i = 0; i < histogram_.size(); ++i) {
    cumulative += histogram_[i];
    if (cumulative >= wanted) return static_cast<int>(i);
  }
  return static_cast<int>(histogram_.size() - 1);
}

void DelayManager::UpdateTarget() {
  const int floor_ms = std::min(std::max(config_.min_delay_ms, frame_ms_), config_.max_delay_ms);
  target_delay_ms_ = std::clamp(RelativeDelayQuantileMs() + frame_ms_, floor_ms, config_.max_delay_ms);
}

}  // namespace parley::media
