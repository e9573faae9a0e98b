// Decoded audio waiting to be played, with the sender timestamp of every sample, plus a
// little played history for time stretching to splice against.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "parley/media/audio_format.h"

namespace parley::media {

// Samples are 48 kHz. Each sample carries the unwrapped sender timestamp it was decoded
// for, or kNoTimestamp (concealment, comfort noise, silence), so the playout timestamp
// stays exact however the audio was stretched: edits are applied to both tracks alike.
// Invariant: samples and timestamps have the same length; at most kHistorySamples of
// played audio are kept before the future. Single context.
class SyncBuffer {
 public:
  static constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();
  static constexpr int kHistorySamples = 1440;  // 30 ms: enough for one expand analysis

  SyncBuffer();

  // Appends decoded audio whose first sample is `first_timestamp` (consecutive after it),
  // or kNoTimestamp for audio that stands for no received frame.
  void Append(std::span<const Sample> samples, int64_t first_timestamp);

  int future_samples() const { return static_cast<int>(samples_.size()) - future_start_; }
  int future_start() const { return future_start_; }
  // History followed by the future.
  std::span<const Sample> samples() const { return samples_; }
  std::span<const int64_t> timestamps() const { return timestamps_; }

  // Replaces the future part (after a time stretch): both spans must be the same length.
  void ReplaceFuture(std::span<const Sample> samples, std::span<const int64_t> timestamps);

  // Moves the next kBlockSamples (which must be there) to `out`; returns the first one's
  // timestamp (or kNoTimestamp).
  int64_t Pull(std::span<Sample, kBlockSamples> out);

  void Clear();

 private:
  void TrimHistory();

  std::vector<Sample> samples_;
  std::vector<int64_t> timestamps_;
  int future_start_ = 0;
};

}  // namespace parley::media
