// Objective speech-quality score (MOS-like, 1..5) of a degraded signal against its
// reference, after ViSQOL (Hines et al., EURASIP JASMP 2015; Chinen et al., QoMEX 2020).
#pragma once

#include <fftw3.h>

#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/media/audio_format.h"

namespace parley::media {

struct QualityReport {
  double mos = 1.0;   // 1 (bad) .. 5 (identical); only rankings within Parley are meaningful
  double nsim = 0.0;  // mean over patches of the best-aligned NSIM, 0..1
  double log_spectral_distance_db = 0.0;  // RMS dB difference per active frame, mean
  double silenced_speech_fraction = 0.0;  // active reference speech that is near-silent, 0..1
  double delay_ms = 0.0;  // global alignment: how much later the degraded signal runs
  int patches = 0;        // patches of active reference speech that were compared
};

struct QualityOptions {
  int max_global_delay_ms = 2000;  // search range of the global alignment, either way
  int max_patch_drift_ms = 100;    // per-patch search around the global alignment
};

// Holds the FFTW plan, created once here because FFTW's planner is not thread-safe
// and is slow compared with one transform. Construction and destruction take a
// library-wide lock around the planner. One scorer must not Score() from two
// threads at once (it owns scratch buffers); separate scorers may.
class QualityScorer {
 public:
  explicit QualityScorer(QualityOptions options = {});
  ~QualityScorer();
  QualityScorer(const QualityScorer&) = delete;
  QualityScorer& operator=(const QualityScorer&) = delete;

  // Both signals 48 kHz mono (kSampleRateHz). The reference must hold at least half
  // a second of active speech; the degraded signal may be delayed, rescaled, shorter
  // or longer (missing parts count as silence) but at least kMinDegradedMs long.
  Result<QualityReport> Score(std::span<const Sample> reference,
                              std::span<const Sample> degraded);

  static constexpr int kMinDegradedMs = 250;

 private:
  struct Spectrogram;
  // `frames` frames of `hop` samples starting at `first_sample` (may lie outside the
  // signal: samples there count as silence).
  Spectrogram Analyse(std::span<const float> signal, long first_sample, int hop, int frames);

  QualityOptions options_;
  std::vector<float> window_;             // Hann, one analysis window long
  std::vector<std::vector<float>> bank_;  // per band: power weights over FFT bins
  std::vector<int> bank_first_bin_;       // first bin each band's weights apply to
  float* fft_in_ = nullptr;               // fftwf_malloc'd, aligned for SIMD
  fftwf_complex* fft_out_ = nullptr;
  fftwf_plan plan_ = nullptr;
  // Cross-correlation by FFT for the per-patch sample refinement.
  int RefineLag(std::span<const float> ref, long ref_start, int length, std::span<const float> deg,
                long shift);
  float* xcorr_in_ = nullptr;
  fftwf_complex* xcorr_ref_ = nullptr;
  fftwf_complex* xcorr_out_ = nullptr;
  fftwf_plan xcorr_forward_ = nullptr;
  fftwf_plan xcorr_inverse_ = nullptr;
};

// Convenience: a scorer with default options, used once.
Result<QualityReport> ScoreSpeechQuality(std::span<const Sample> reference,
                                         std::span<const Sample> degraded);

}  // namespace parley::media
