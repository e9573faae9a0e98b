// The capture side of audio processing as it runs in the input device's callback:
// re-blocks captured samples to 10 ms, feeds the far-end reference that is due, cleans
// each block and hands it on.
#pragma once

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "parley/base/time.h"
#include "parley/media/audio_format.h"
#include "parley/media/audio_processor.h"
#include "parley/media/far_end_reference.h"
#include "parley/media/spsc_ring.h"

namespace parley::media {

// Figures for call stats (--stats JSON, the status line), readable from any thread.
struct CaptureProcessingStats {
  AudioProcessingConfig config;
  AudioProcessorStats processor;
  uint64_t blocks_processed = 0;
  uint64_t far_end_blocks_fed = 0;
  uint64_t far_end_blocks_dropped = 0;  // the reference ring was full
  uint64_t far_end_blocks_stale = 0;    // played too long before the capture to matter
};

// Owns the processor; shares the far-end reference with the output device (may be
// null: then the echo canceller has nothing to cancel). Created before the stream
// starts; Push runs in the input callback only (no allocation, no lock, no logging);
// stats() from any thread (relaxed atomics: each figure is current, not a snapshot).
class CaptureProcessor {
 public:
  // How long before its playout a far-end block is given to the echo canceller. WebRTC's
  // AEC keeps a far-end buffer it reads `stream delay` back into; fed just in time (a
  // stream delay near 0) it starves and measured ERLE fell from ~45 to ~21 dB in the lab.
  static constexpr Duration kFarEndLead = milliseconds(60);

  CaptureProcessor(std::unique_ptr<AudioProcessor> processor, std::shared_ptr<FarEndReference> far_end);

  // Callback: `mono` samples whose first was captured at `first_sample_time`. Every
  // completed 10 ms block is processed and written to `out`; returns false if `out`
  // was too full to take one (the media thread fell behind: an overrun).
  bool Push(std::span<const Sample> mono, TimePoint first_sample_time, SpscRing<Sample>& out);

  CaptureProcessingStats stats() const;

 private:
  void ProcessBlock();
  void Publish();

  std::unique_ptr<AudioProcessor> processor_;
  std::shared_ptr<FarEndReference> far_end_;
  std::array<Sample, kBlockSamples> block_{};
  size_t fill_ = 0;
  TimePoint block_time_{};  // capture time of block_[0]
  int last_delay_ms_ = 0;   // kept while no far-end block is due

  // Published by the callback after each block, read by anyone.
  std::atomic<uint64_t> blocks_{0};
  std::atomic<uint64_t> fed_{0};
  std::atomic<int> estimated_delay_ms_{-1};      // -1: none
  std::atomic<int> reported_delay_ms_{0};
  std::atomic<int> erle_centi_db_{INT_MIN};      // INT_MIN: none
  std::atomic<bool> echo_present_{false};
};

}  // namespace parley::media
