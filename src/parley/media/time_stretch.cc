// TimeStretch: normalised-autocorrelation pitch search and one-period splices.
#include "parley/media/time_stretch.h"

#include <algorithm>
#include <cmath>

#include "parley/base/check.h"

namespace parley::media {
namespace {

constexpr int kDecimation = 4;

// Normalised cross-correlation of a[0, n) and b[0, n).
template <typename T>
double NormalisedCorrelation(const T* a, const T* b, int n) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa <= 0 || bb <= 0) return 0;
  return ab / std::sqrt(aa * bb);
}

Sample Mix(Sample from, Sample to, int i, int n) {
  // Linear cross-fade: weight 0 at i = 0 (exactly `from`), 1 at i = n − 1 (exactly `to`),
  // so both seams are continuous with the neighbouring samples.
  const double w = n > 1 ? static_cast<double>(i) / (n - 1) : 1.0;
  const double v = (1 - w) * from + w * to;
  return static_cast<Sample>(std::lround(std::clamp(v, -32768.0, 32767.0)));
}

}  // namespace

TimeStretch::Pitch TimeStretch::FindPitch(std::span<const Sample> audio, int start) {
  PARLEY_CHECK(start >= 0 && start + kMinInputSamples <= static_cast<int>(audio.size()));
  const Sample* x = audio.data() + start;

  double energy = 0;
  for (int i = 0; i < kMinInputSamples; ++i) energy += static_cast<double>(x[i]) * x[i];
  Pitch pitch;
  pitch.rms = std::sqrt(energy / kMinInputSamples);

  // Coarse: 12 kHz (a 4-sample mean is a crude low-pass, enough for a pitch estimate).
  const int n = kMinInputSamples / kDecimation;
  decimated_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    float sum = 0;
    for (int k = 0; k < kDecimation; ++k) sum += x[i * kDecimation + k];
    decimated_[static_cast<size_t>(i)] = sum / kDecimation;
  }
  const int min_lag = kMinPeriodSamples / kDecimation, max_lag = kMaxPeriodSamples / kDecimation;
  const int window = kWindowSamples / kDecimation;
  std::vector<double>& corr = coarse_correlation_;
  corr.assign(static_cast<size_t>(max_lag + 1), -1.0);
  double best = -1;
  for (int lag = min_lag; lag <= max_lag; ++lag) {
    corr[static_cast<size_t>(lag)] = NormalisedCorrelation(decimated_.data(), decimated_.data() + lag, window);
    best = std::max(best, corr[static_cast<size_t>(lag)]);
  }
  // A periodic signal correlates almost as well at 2 and 3 periods as at one; take the
  // shortest lag that is a local peak close to the best, which is the period itself.
  int coarse = min_lag;
  for (int lag = min_lag; lag <= max_lag; ++lag) {
    const double c = corr[static_cast<size_t>(lag)];
    const bool peak = (lag == min_lag || c >= corr[static_cast<size_t>(lag - 1)]) &&
                      (lag == max_lag || c >= corr[static_cast<size_t>(lag + 1)]);
    if (peak && c >= best - 0.05) {
      coarse = lag;
      break;
    }
  }

  // Fine: full rate around the coarse lag.
  pitch.correlation = -2;
  const int lo = std::max(kMinPeriodSamples, coarse * kDecimation - kDecimation);
  const int hi = std::min(kMaxPeriodSamples, coarse * kDecimation + kDecimation);
  for (int lag = lo; lag <= hi; ++lag) {
    const double c = NormalisedCorrelation(x, x + lag, kWindowSamples);
    if (c > pitch.correlation) {
      pitch.correlation = c;
      pitch.period = lag;
    }
  }
  return pitch;
}

StretchResult TimeStretch::Accelerate(std::span<const Sample> audio, int future_start,
                                      std::vector<Sample>& out_future) {
  const int size = static_cast<int>(audio.size());
  PARLEY_CHECK(future_start >= 0 && future_start <= size);
  out_future.assign(audio.begin() + future_start, audio.end());
  StretchResult result;
  result.splice_position = future_start;
  if (size - future_start < kMinInputSamples) return result;

  const Pitch pitch = FindPitch(audio, future_start);
  const int p = pitch.period;
  result.period_samples = p;
  const int s = future_start;
  // The correlation that matters is between the two periods that get cross-faded.
  result.correlation = NormalisedCorrelation(audio.data() + s, audio.data() + s + p, p);
  result.quiet = pitch.rms < kQuietRms;
  if (result.correlation < kVoicedCorrelation && !result.quiet) return result;

  // out = x[s, s+p) faded into x[s+p, s+2p), then x[s+2p, end): one period shorter.
  out_future.clear();
  for (int i = 0; i < p; ++i) out_future.push_back(Mix(audio[static_cast<size_t>(s + i)], audio[static_cast<size_t>(s + p + i)], i, p));
  out_future.insert(out_future.end(), audio.begin() + s + 2 * p, audio.end());
  result.samples_changed = p;
  return result;
}

StretchResult TimeStretch::PreemptiveExpand(std::span<const Sample> audio, int future_start,
                                            std::vector<Sample>& out_future) {
  const int size = static_cast<int>(audio.size());
  PARLEY_CHECK(future_start >= 0 && future_start <= size);
  out_future.assign(audio.begin() + future_start, audio.end());
  StretchResult result;
  result.splice_position = future_start;
  if (size < kMinInputSamples || size - future_start < kMinPeriodSamples) return result;

  // Analyse the 30 ms around the splice point: up to 15 ms of history before it.
  const int start = std::clamp(future_start - kMaxPeriodSamples, 0, size - kMinInputSamples);
  const Pitch pitch = FindPitch(audio, start);
  const int p = pitch.period;
  result.period_samples = p;
  const int s = std::max(future_start, p);
  if (s + p > size) return result;
  result.splice_position = s;
  result.correlation = NormalisedCorrelation(audio.data() + s - p, audio.data() + s, p);
  result.quiet = pitch.rms < kQuietRms;
  if (result.correlation < kVoicedCorrelation && !result.quiet) return result;

  // out = x[future_start, s), then x[s, s+p) faded into x[s−p, s), then x[s, end): the
  // inserted period starts as the natural continuation and ends as the period before s,
  // which x[s] naturally follows.
  out_future.assign(audio.begin() + future_start, audio.begin() + s);
  for (int i = 0; i < p; ++i) out_future.push_back(Mix(audio[static_cast<size_t>(s + i)], audio[static_cast<size_t>(s - p + i)], i, p));
  out_future.insert(out_future.end(), audio.begin() + s, audio.end());
  result.samples_changed = p;
  return result;
}

void TimeStretch::ApplyToTrack(const StretchResult& result, bool accelerate, std::span<const int64_t> track,
                               int future_start, std::vector<int64_t>& out_future) {
  out_future.assign(track.begin() + future_start, track.end());
  if (result.samples_changed == 0) return;
  const int p = result.samples_changed;
  const int s = result.splice_position;
  if (accelerate) {
    // The cross-fade ends as the later period, and the period before it is gone.
    out_future.assign(track.begin() + s + p, track.end());
  } else {
    out_future.assign(track.begin() + future_start, track.begin() + s);
    out_future.insert(out_future.end(), track.begin() + s - p, track.begin() + s);
    out_future.insert(out_future.end(), track.begin() + s, track.end());
  }
}

}  // namespace parley::media
