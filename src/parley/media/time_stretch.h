// Pitch-synchronous time-scale modification (WSOLA-style, after NetEq's Accelerate and
// PreemptiveExpand): removes or inserts exactly one pitch period with a cross-fade.
// Written by hand because the jitter buffer must decide, per frame, exactly how many
// samples go or come and at which sample (to keep each sample's timestamp exact);
// libsonic's streaming API only takes a speed factor and releases output on its own
// schedule, so it cannot give that control.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parley/media/audio_format.h"

namespace parley::media {

struct StretchResult {
  int splice_position = 0;    // index into the input where the output first differs
  int period_samples = 0;     // pitch period used (0: no analysis possible)
  int samples_changed = 0;    // removed (accelerate) or added (expand); 0 if not applied
  double correlation = 0;     // normalised correlation at the period, in [-1, 1]
  bool quiet = false;         // applied because the segment is too quiet to hear a seam
};

// Works on `audio` = history (already played, read only) followed by the future (not yet
// played) from index `future_start`. The output replaces only the future part. All
// lengths are samples at 48 kHz. Stateless apart from scratch buffers; one context.
class TimeStretch {
 public:
  static constexpr int kMinPeriodSamples = 120;   // 2.5 ms (400 Hz)
  static constexpr int kMaxPeriodSamples = 720;   // 15 ms (67 Hz)
  static constexpr int kWindowSamples = 720;      // correlation window
  static constexpr int kMinInputSamples = kWindowSamples + kMaxPeriodSamples;  // 30 ms
  static constexpr double kVoicedCorrelation = 0.9;
  static constexpr double kQuietRms = 60.0;       // about −55 dBFS

  // Removes one period starting at future_start (the output's first sample continues the
  // history). Needs ≥ 30 ms of future. `out_future` gets the new future part.
  StretchResult Accelerate(std::span<const Sample> audio, int future_start, std::vector<Sample>& out_future);

  // Inserts one period at the first point s ≥ future_start with s ≥ period (so the period
  // before s exists). Needs ≥ 30 ms of audio in total and at least one period of future.
  StretchResult PreemptiveExpand(std::span<const Sample> audio, int future_start,
                                 std::vector<Sample>& out_future);

  // Applies the same edit to a per-sample track (timestamps), history+future in, future
  // out: an accelerate's cross-fade carries the later period's values, an expand's
  // inserted period repeats the values of the period before the splice.
  static void ApplyToTrack(const StretchResult& result, bool accelerate, std::span<const int64_t> track,
                           int future_start, std::vector<int64_t>& out_future);

 private:
  struct Pitch {
    int period = 0;
    double correlation = 0;
    double rms = 0;
  };
  // Best period of audio[start, start + kMinInputSamples): coarse search on a 4x
  // decimated copy, refined at full rate.
  Pitch FindPitch(std::span<const Sample> audio, int start);

  std::vector<float> decimated_;
  std::vector<double> coarse_correlation_;
};

}  // namespace parley::media
