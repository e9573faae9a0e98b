// The echo canceller's far-end reference: what the speaker actually played, with when
// it played, carried from the playout callback to the capture callback.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>

#include "parley/base/time.h"
#include "parley/media/audio_format.h"
#include "parley/media/spsc_ring.h"

namespace parley::media {

// One 10 ms block as it went to the speaker, and when its first sample reached it.
struct FarEndBlock {
  std::array<Sample, kBlockSamples> samples;
  int64_t play_time_ns;  // steady_clock time since epoch
};

// A lock-free hand-over in two contexts: the producer (the output device's callback)
// calls OnPlayed with everything it played, silence it inserted on underrun included,
// since that is what the room hears; the consumer (the input device's callback) calls
// FeedDue before processing each captured block and gets the played blocks whose
// playout starts at or before a given time (the capture block's time plus a fixed
// lead), oldest first. Fed that way, the canceller sees each far-end block a fixed lead
// before the capture that holds its echo, whatever the devices' buffering, and the
// stream delay to report follows from the two timestamps.
//
// Memory is allocated once in the constructor; OnPlayed and FeedDue never allocate,
// lock or log. Blocks that find the ring full (nobody consumes: no echo cancellation,
// or the capture stalled) are dropped and counted. Blocks more than `max_lag` older
// than the capture are skipped unfed (the capture fell behind; feeding them would burst
// CPU in the callback for echo that is long gone).
class FarEndReference {
 public:
  explicit FarEndReference(int capacity_blocks = 64, Duration max_lag = milliseconds(400))
      : ring_(static_cast<size_t>(capacity_blocks)), max_lag_(max_lag) {}
  FarEndReference(const FarEndReference&) = delete;
  FarEndReference& operator=(const FarEndReference&) = delete;

  // Producer: `played` samples, the first of which reaches the speaker at `play_time`.
  // Any length; samples are re-blocked into 10 ms blocks.
  void OnPlayed(std::span<const Sample> played, TimePoint play_time) {
    size_t done = 0;
    while (done < played.size()) {
      if (pending_fill_ == 0) {
        pending_.play_time_ns = (play_time + SamplesToDuration(done)).time_since_epoch().count();
      }
      const size_t n = std::min(played.size() - done, kBlockSamples - pending_fill_);
      std::copy_n(played.data() + done, n, pending_.samples.data() + pending_fill_);
      pending_fill_ += n;
      done += n;
      if (pending_fill_ == kBlockSamples) {
        pending_fill_ = 0;
        if (ring_.Write(std::span<const FarEndBlock>(&pending_, 1)) == 0) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  }

  // Consumer: calls feed(std::span<const Sample, kBlockSamples>) for every block due at
  // `capture_time`. Returns capture_time minus the play time of the newest block fed,
  // or nothing if none was due.
  template <typename Feed>
  std::optional<Duration> FeedDue(TimePoint capture_time, Feed&& feed) {
    const int64_t capture_ns = capture_time.time_since_epoch().count();
    std::optional<Duration> delay;
    for (;;) {
      if (!held_ && ring_.Read(std::span<FarEndBlock>(&held_block_, 1)) == 1) held_ = true;
      if (!held_ || held_block_.play_time_ns > capture_ns) return delay;
      held_ = false;
      const Duration age{capture_ns - held_block_.play_time_ns};
      if (age > max_lag_) {
        stale_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      feed(std::span<const Sample, kBlockSamples>(held_block_.samples));
      delay = age;
    }
  }

  // Any thread.
  uint64_t dropped_blocks() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t stale_blocks() const { return stale_.load(std::memory_order_relaxed); }

 private:
  static Duration SamplesToDuration(size_t samples) {
    return Duration{static_cast<int64_t>(samples) * 1'000'000'000 / kSampleRateHz};
  }

  SpscRing<FarEndBlock> ring_;
  const Duration max_lag_;
  FarEndBlock pending_{};   // producer: the block being filled
  size_t pending_fill_ = 0;
  FarEndBlock held_block_{};  // consumer: read from the ring, not yet due
  bool held_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> stale_{0};
};

}  // namespace parley::media
