// SyncBuffer: decoded samples with per-sample timestamps and a short played history.
#include "parley/media/sync_buffer.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::media {

SyncBuffer::SyncBuffer() {
  // Steady state never exceeds history + a few frames; reserving avoids reallocation.
  samples_.reserve(kHistorySamples + 8 * kMaxFrameSamples);
  timestamps_.reserve(kHistorySamples + 8 * kMaxFrameSamples);
}

void SyncBuffer::Append(std::span<const Sample> samples, int64_t first_timestamp) {
  samples_.insert(samples_.end(), samples.begin(), samples.end());
  const size_t old_size = timestamps_.size();
  timestamps_.resize(old_size + samples.size(), kNoTimestamp);
  if (first_timestamp != kNoTimestamp) {
    int64_t* track = timestamps_.data() + old_size;
    for (size_t i = 0; i < samples.size(); ++i) track[i] = first_timestamp + static_cast<int64_t>(i);
  }
}

void SyncBuffer::ReplaceFuture(std::span<const Sample> samples, std::span<const int64_t> timestamps) {
  PARLEY_CHECK(samples.size() == timestamps.size());
  samples_.resize(static_cast<size_t>(future_start_));
  timestamps_.resize(static_cast<size_t>(future_start_));
  samples_.insert(samples_.end(), samples.begin(), samples.end());
  timestamps_.insert(timestamps_.end(), timestamps.begin(), timestamps.end());
}

int64_t SyncBuffer::Pull(std::span<Sample, kBlockSamples> out) {
  PARLEY_CHECK(future_samples() >= kBlockSamples);
  const auto start = samples_.begin() + future_start_;
  std::copy(start, start + kBlockSamples, out.begin());
  const int64_t first = timestamps_[static_cast<size_t>(future_start_)];
  future_start_ += kBlockSamples;
  TrimHistory();
  return first;
}

void SyncBuffer::Clear() {
  samples_.clear();
  timestamps_.clear();
  future_start_ = 0;
}

void SyncBuffer::TrimHistory() {
  const int excess = future_start_ - kHistorySamples;
  if (excess <= 0) return;
  samples_.erase(samples_.begin(), samples_.begin() + excess);
  timestamps_.erase(timestamps_.begin(), timestamps_.begin() + excess);
  future_start_ -= excess;
}

}  // namespace parley::media
