// Objective speech-quality score after ViSQOL (Hines, Skoglund, Kokaram, Harte,
// EURASIP JASMP 2015:13; ViSQOL v3, Chinen et al., QoMEX 2020). Method: docs/quality.md.
#include "parley/media/quality_score.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <string>

namespace parley::media {
namespace {

// Analysis on a 16 kHz-equivalent band (bands stop at 8 kHz, as ViSQOL v3's speech
// mode does after resampling to 16 kHz). We transform the 48 kHz signal directly and
// ignore bins above 8 kHz, which is the same band-limit without a resampler.
constexpr int kWindowSamples = 16 * kSamplesPerMs;  // 16 ms: ViSQOL's 256 samples at 16 kHz
constexpr int kFftSize = 2 * kWindowSamples;        // zero-padded: 31.25 Hz bin spacing
constexpr int kHopSamples = kWindowSamples / 2;     // 8 ms, 50% overlap, as ViSQOL
constexpr int kFineHopSamples = 2 * kSamplesPerMs;  // degraded side: 2 ms alignment steps
constexpr int kFinePerHop = kHopSamples / kFineHopSamples;  // 4
constexpr int kBands = 32;
constexpr double kLowestBandHz = 50.0;
constexpr double kHighestBandHz = 8000.0;
constexpr int kBankLanes = 8;     // filterbank weights are zero-padded to this multiple
constexpr int kPatchFrames = 30;  // ViSQOL's patch: 30 frames = 240 ms of reference
// Per-patch refinement searches +-1 ms (half the fine grid) by FFT cross-correlation.
constexpr int kRefineLag = kFineHopSamples / 2;
constexpr int kXcorrSize = 16384;  // > one patch (11520 samples) + 2 * kRefineLag

// Spectrogram cells are dB clamped to [reference peak - range, ...] and shifted so
// the floor is 0: quieter detail than this is inaudible under the speech and would
// only make NSIM react to coding noise in empty bands.
constexpr double kDynamicRangeDb = 50.0;
// NSIM constants (Hines et al. 2015, after SSIM): C1 = (0.01 L)^2, C2 = (0.03 L)^2 / 2,
// with L the intensity range of the spectrogram.
constexpr double kC1 = (0.01 * kDynamicRangeDb) * (0.01 * kDynamicRangeDb);
constexpr double kC2 = (0.03 * kDynamicRangeDb) * (0.03 * kDynamicRangeDb) / 2.0;
constexpr float kC1f = static_cast<float>(kC1);
constexpr float kC2f = static_cast<float>(kC2);

// A reference frame counts as active speech within this many dB of the loudest frame.
constexpr double kActiveFrameRangeDb = 40.0;
// "Silenced": a short block of active reference speech whose aligned degraded block is
// at least this much quieter. Opus PLC and codec noise never come near it; a lost frame
// filled with zeros, or PLC that has faded out, does.
constexpr double kSilencedDropDb = 30.0;
constexpr int kSilenceBlockSamples = 4 * kSamplesPerMs;  // fits 4-5 times in a 20 ms loss

// Silenced speech is penalised beyond what NSIM sees (a 20 ms hole is smeared by the
// 16 ms window and the 3x3 statistics, so NSIM alone rates it barely below PLC, while
// listeners find muted speech much worse): the similarity that is mapped to MOS is
// nsim - kSilencePenalty * silenced_speech_fraction.
constexpr double kSilencePenalty = 0.5;

// The fixed similarity -> MOS map, piecewise linear through anchors calibrated once
// (docs/quality.md): pooled means over six voices and eight loss seeds of the
// conditions named, set to the MOS values listening tests typically give them.
// Monotone, so rankings never depend on it.
struct MosAnchor {
  double similarity, mos;
};
constexpr MosAnchor kMosAnchors[] = {
    {0.40, 1.0},  // white noise at 0 dB SNR scores about here; a silent signal below
    {0.785, 2.0}, // Opus 24 kbit/s, 20% random loss, PLC
    {0.858, 3.0}, // Opus 24 kbit/s, 10% random loss, PLC
    {0.936, 4.3}, // Opus 24 kbit/s, 20 ms frames, no loss
    {1.00, 5.0},  // identical
};

double NsimToMos(double q) {
  if (q <= kMosAnchors[0].similarity) return kMosAnchors[0].mos;
  for (size_t i = 1; i < std::size(kMosAnchors); ++i) {
    const MosAnchor& lo = kMosAnchors[i - 1];
    const MosAnchor& hi = kMosAnchors[i];
    if (q <= hi.similarity) {
      return lo.mos + (hi.mos - lo.mos) * (q - lo.similarity) / (hi.similarity - lo.similarity);
    }
  }
  return kMosAnchors[std::size(kMosAnchors) - 1].mos;
}

// Level alignment is bounded so a silent or near-silent degraded signal is not blown up
// into its own noise floor.
constexpr double kMaxGainDb = 30.0;

// Glasberg & Moore (1990) equivalent rectangular bandwidth and ERB-rate scale.
double ErbHz(double f) { return 24.7 * (4.37 * f / 1000.0 + 1.0); }
double ErbRate(double f) { return 21.4 * std::log10(1.0 + 0.00437 * f); }
double ErbRateToHz(double e) { return (std::pow(10.0, e / 21.4) - 1.0) / 0.00437; }

// 3x3 Gaussian window (sigma 0.5) used by NSIM for local statistics, as in ViSQOL.
struct Gauss3 {
  double w[3][3];
  Gauss3() {
    double sum = 0;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        const double d2 = (i - 1) * (i - 1) + (j - 1) * (j - 1);
        w[i][j] = std::exp(-d2 / (2 * 0.5 * 0.5));
        sum += w[i][j];
      }
    }
    for (auto& row : w) {
      for (double& v : row) v /= sum;
    }
  }
};

// FFTW's planner is global state and not thread-safe; every plan this library makes
// or destroys takes this lock. Executing a plan on our own buffers needs no lock.
std::mutex& FftwPlannerMutex() {
  static std::mutex mutex;
  return mutex;
}

double ToDb(double power) { return 10.0 * std::log10(power + 1e-10); }

std::vector<float> ToFloat(std::span<const Sample> s, double gain) {
  std::vector<float> out(s.size());
  for (size_t i = 0; i < s.size(); ++i) out[i] = static_cast<float>(s[i] * gain);
  return out;
}

double Energy(std::span<const Sample> s) {
  double e = 0;
  for (Sample v : s) e += static_cast<double>(v) * v;
  return e;
}

// RMS per fine hop, zero-mean: the envelope used for the global alignment.
std::vector<float> Envelope(std::span<const float> x) {
  std::vector<double> env((x.size() + kFineHopSamples - 1) / kFineHopSamples, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    env[i / kFineHopSamples] += static_cast<double>(x[i]) * x[i];
  }
  double mean = 0;
  for (double& v : env) {
    v = std::sqrt(v / kFineHopSamples);
    mean += v / static_cast<double>(env.size());
  }
  std::vector<float> out(env.size());
  for (size_t i = 0; i < env.size(); ++i) out[i] = static_cast<float>(env[i] - mean);
  return out;
}

// Lag (in fine hops) by which `deg` trails `ref`, maximising the envelope cross-
// correlation. ViSQOL v3 aligns globally the same way before its per-patch search.
int GlobalLag(const std::vector<float>& ref, const std::vector<float>& deg, int max_lag) {
  double deg_var = 0;
  for (float v : deg) deg_var += static_cast<double>(v) * v;
  if (deg_var <= 1e-6 * static_cast<double>(deg.size() + 1)) return 0;  // silent: no evidence
  // The degraded envelope padded with max_lag zeros each side, so every lag reads in
  // range; the loop over lags is then element-wise and vectorises.
  // Lags go in blocks of a fixed width so the compiler knows the trip count.
  constexpr int kBlock = 16;
  const int lags = 2 * max_lag + 1;
  const int lanes = (lags + kBlock - 1) / kBlock * kBlock;
  std::vector<float> padded(deg.size() + static_cast<size_t>(lanes) + ref.size(), 0.0f);
  std::copy(deg.begin(), deg.end(), padded.begin() + max_lag);
  std::vector<float> acc(lanes, 0.0f);
  for (int k0 = 0; k0 < lanes; k0 += kBlock) {
    float* __restrict a = acc.data() + k0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const float rv = ref[i];
      const float* __restrict dp = padded.data() + i + k0;  // dp[k] = deg[i + k0 + k - max_lag]
      for (int k = 0; k < kBlock; ++k) a[k] += rv * dp[k];
    }
  }
  int best = 0;
  for (int k = 1; k < lags; ++k) {
    // Ties go to the smaller |lag|.
    if (acc[k] > acc[best] || (acc[k] == acc[best] && std::abs(k - max_lag) < std::abs(best - max_lag))) {
      best = k;
    }
  }
  return best - max_lag;
}

}  // namespace

struct QualityScorer::Spectrogram {
  int frames = 0;
  std::vector<float> db;     // frames x kBands, dB of band power (not yet floored)
  std::vector<float> level;  // frames: dB of the mean band power, for activity
};

namespace {

// Clamp to the floor and shift so the floor is 0: NSIM's constants assume [0, L].
std::vector<float> Floored(const std::vector<float>& db, float floor_db) {
  std::vector<float> out(db.size());
  for (size_t i = 0; i < db.size(); ++i) out[i] = std::max(db[i], floor_db) - floor_db;
  return out;
}

// Local means and standard deviations under the 3x3 Gaussian for every interior cell
// of a [frames x kBands] image whose neighbouring frames are `step` rows apart.
struct LocalStats {
  std::vector<float> mu, sd;
};
LocalStats ComputeLocalStats(const std::vector<float>& img, int frames, int step) {
  static const Gauss3 g;
  LocalStats st;
  st.mu.assign(img.size(), 0.0f);
  st.sd.assign(img.size(), 0.0f);
  for (int t = step; t + step < frames; ++t) {
    for (int b = 1; b + 1 < kBands; ++b) {
      double m = 0, m2 = 0;
      for (int i = 0; i < 3; ++i) {
        const float* row = &img[static_cast<size_t>(t + (i - 1) * step) * kBands + b - 1];
        for (int j = 0; j < 3; ++j) {
          m += g.w[i][j] * row[j];
          m2 += g.w[i][j] * row[j] * row[j];
        }
      }
      const size_t at = static_cast<size_t>(t) * kBands + b;
      st.mu[at] = static_cast<float>(m);
      st.sd[at] = static_cast<float>(std::sqrt(std::max(0.0, m2 - m * m)));
    }
  }
  return st;
}

// One patch's NSIM (Hines et al. 2015): the mean over its interior cells (or over
// interior frames [t_begin, t_end) only) of
//   l * s,  l = (2 mu_r mu_d + C1) / (mu_r^2 + mu_d^2 + C1),  s = (cov + C2) / (sd_r sd_d + C2).
// `r*` point at the reference patch's first frame (rows kBands apart); `d*` at the
// degraded patch's first frame, its rows `d_stride` floats apart (the fine grid is
// denser than the reference's).
struct PatchView {
  const float* v;
  const float* mu;
  const float* sd;
  size_t stride;
};
double PatchNsim(const PatchView& r, const PatchView& d, int t_begin = 1,
                 int t_end = kPatchFrames - 1) {
  static const Gauss3 g;
  const float w00 = static_cast<float>(g.w[0][0]);
  const float w01 = static_cast<float>(g.w[0][1]);
  const float w11 = static_cast<float>(g.w[1][1]);
  double total = 0;
  t_begin = std::max(t_begin, 1);
  t_end = std::min(t_end, kPatchFrames - 1);
  for (int t = t_begin; t < t_end; ++t) {
    const float* r0 = r.v + (t - 1) * r.stride;
    const float* r1 = r.v + t * r.stride;
    const float* r2 = r.v + (t + 1) * r.stride;
    const float* d0 = d.v + (t - 1) * d.stride;
    const float* d1 = d.v + t * d.stride;
    const float* d2 = d.v + (t + 1) * d.stride;
    const float* mr = r.mu + t * r.stride;
    const float* sr = r.sd + t * r.stride;
    const float* md = d.mu + t * d.stride;
    const float* sd = d.sd + t * d.stride;
    float row_total = 0;
    for (int b = 1; b + 1 < kBands; ++b) {
      // The window is symmetric: corners share w00, edges w01, the centre w11.
      const float corners = r0[b - 1] * d0[b - 1] + r0[b + 1] * d0[b + 1] +
                            r2[b - 1] * d2[b - 1] + r2[b + 1] * d2[b + 1];
      const float edges =
          r0[b] * d0[b] + r2[b] * d2[b] + r1[b - 1] * d1[b - 1] + r1[b + 1] * d1[b + 1];
      const float rd = w00 * corners + w01 * edges + w11 * r1[b] * d1[b];
      const float cov = rd - mr[b] * md[b];
      const float l = (2 * mr[b] * md[b] + kC1f) / (mr[b] * mr[b] + md[b] * md[b] + kC1f);
      const float s = (cov + kC2f) / (sr[b] * sd[b] + kC2f);
      row_total += l * s;
    }
    total += row_total;
  }
  return total / ((t_end - t_begin) * (kBands - 2));
}

}  // namespace

QualityScorer::QualityScorer(QualityOptions options) : options_(options) {
  window_.resize(kWindowSamples);
  for (int i = 0; i < kWindowSamples; ++i) {
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / kWindowSamples));
  }

  // Gammatone-like bands from an FFT (the "FFT gammatonegram" approximation): each
  // band sums bin powers weighted by a 4th-order gammatone filter's power response,
  // |H(f)|^2 ~ (1 + ((f - fc) / b)^2)^-4 with b = 1.019 ERB(fc), centre frequencies
  // evenly spaced on the ERB-rate scale from 50 Hz to 8 kHz (ViSQOL v3 speech mode).
  const double bin_hz = static_cast<double>(kSampleRateHz) / kFftSize;
  const int last_bin = static_cast<int>(kHighestBandHz / bin_hz);
  const double e_lo = ErbRate(kLowestBandHz);
  const double e_hi = ErbRate(kHighestBandHz);
  bank_.resize(kBands);
  bank_first_bin_.resize(kBands);
  for (int b = 0; b < kBands; ++b) {
    const double fc = ErbRateToHz(e_lo + (e_hi - e_lo) * b / (kBands - 1));
    const double bw = 1.019 * ErbHz(fc);
    std::vector<double> w(last_bin + 1);
    for (int k = 0; k <= last_bin; ++k) {
      const double x = (k * bin_hz - fc) / bw;
      const double gain = std::pow(1.0 + x * x, -4.0);
      w[k] = gain < 1e-4 ? 0.0 : gain;  // beyond -40 dB the skirt only costs time
    }
    int first = 0;
    while (first <= last_bin && w[first] == 0.0) ++first;
    int last = last_bin;
    while (last >= first && w[last] == 0.0) --last;
    const double sum = std::accumulate(w.begin() + first, w.begin() + last + 1, 0.0);
    PARLEY_CHECK_MSG(first <= last && sum > 0, "every band must cover at least one FFT bin");
    bank_first_bin_[b] = first;
    for (int k = first; k <= last; ++k) bank_[b].push_back(static_cast<float>(w[k] / sum));
    bank_[b].resize((bank_[b].size() + kBankLanes - 1) / kBankLanes * kBankLanes, 0.0f);
  }

  std::lock_guard<std::mutex> lock(FftwPlannerMutex());
  fft_in_ = static_cast<float*>(fftwf_malloc(sizeof(float) * kFftSize));
  fft_out_ = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * (kFftSize / 2 + 1)));
  PARLEY_CHECK_MSG(fft_in_ != nullptr && fft_out_ != nullptr, "out of memory for FFT buffers");
  plan_ = fftwf_plan_dft_r2c_1d(kFftSize, fft_in_, fft_out_, FFTW_ESTIMATE);
  xcorr_in_ = static_cast<float*>(fftwf_malloc(sizeof(float) * kXcorrSize));
  xcorr_ref_ = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * (kXcorrSize / 2 + 1)));
  xcorr_out_ = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * (kXcorrSize / 2 + 1)));
  PARLEY_CHECK_MSG(xcorr_in_ != nullptr && xcorr_ref_ != nullptr && xcorr_out_ != nullptr,
                   "out of memory for FFT buffers");
  xcorr_forward_ = fftwf_plan_dft_r2c_1d(kXcorrSize, xcorr_in_, xcorr_out_, FFTW_ESTIMATE);
  xcorr_inverse_ = fftwf_plan_dft_c2r_1d(kXcorrSize, xcorr_out_, xcorr_in_, FFTW_ESTIMATE);
  PARLEY_CHECK_MSG(plan_ != nullptr && xcorr_forward_ != nullptr && xcorr_inverse_ != nullptr,
                   "FFTW could not plan the analysis transforms");
}

QualityScorer::~QualityScorer() {
  std::lock_guard<std::mutex> lock(FftwPlannerMutex());
  fftwf_destroy_plan(plan_);
  fftwf_destroy_plan(xcorr_forward_);
  fftwf_destroy_plan(xcorr_inverse_);
  fftwf_free(fft_in_);
  fftwf_free(fft_out_);
  fftwf_free(xcorr_in_);
  fftwf_free(xcorr_ref_);
  fftwf_free(xcorr_out_);
}

// Sample lag in [-kRefineLag, kRefineLag] around `shift` that best matches the
// degraded waveform to the reference segment (normalised cross-correlation). The
// spectrogram search is only as fine as its grid, and a 1 ms offset of a 16 ms window
// already costs a few hundredths of NSIM; ViSQOL v3 likewise refines each patch in time.
int QualityScorer::RefineLag(std::span<const float> ref, long ref_start, int length,
                             std::span<const float> deg, long shift) {
  PARLEY_CHECK(length + 2 * kRefineLag <= kXcorrSize);
  const long deg_n = static_cast<long>(deg.size());
  // Reference segment, zero-padded: its spectrum.
  std::fill(xcorr_in_, xcorr_in_ + kXcorrSize, 0.0f);
  std::copy_n(ref.data() + ref_start, length, xcorr_in_);
  fftwf_execute(xcorr_forward_);
  std::copy_n(&xcorr_out_[0][0], 2 * (kXcorrSize / 2 + 1), &xcorr_ref_[0][0]);
  // Degraded window covering every lag (outside the signal: silence).
  const long first = ref_start + shift - kRefineLag;
  const int window = length + 2 * kRefineLag;
  std::fill(xcorr_in_, xcorr_in_ + kXcorrSize, 0.0f);
  for (long j = std::max(0L, first); j < std::min(deg_n, first + window); ++j) xcorr_in_[j - first] = deg[j];
  std::vector<double> energy(2 * kRefineLag + 1);
  double e = 0;
  for (int j = 0; j < length; ++j) e += static_cast<double>(xcorr_in_[j]) * xcorr_in_[j];
  for (int k = 0; k <= 2 * kRefineLag; ++k) {
    energy[k] = e;
    e += static_cast<double>(xcorr_in_[length + k]) * xcorr_in_[length + k] -
         static_cast<double>(xcorr_in_[k]) * xcorr_in_[k];
  }
  fftwf_execute(xcorr_forward_);
  // conj(R) * D: its inverse is c[k] = sum_i r[i] d[i + k], no wrap for k <= 2 kRefineLag
  // because the zero padding exceeds the window.
  for (int k = 0; k <= kXcorrSize / 2; ++k) {
    const float rr = xcorr_ref_[k][0], ri = xcorr_ref_[k][1];
    const float dr = xcorr_out_[k][0], di = xcorr_out_[k][1];
    xcorr_out_[k][0] = rr * dr + ri * di;
    xcorr_out_[k][1] = rr * di - ri * dr;
  }
  fftwf_execute(xcorr_inverse_);
  int best = 0;
  double best_score = 0;
  for (int k = 0; k <= 2 * kRefineLag; ++k) {
    if (energy[k] <= 0) continue;
    const double score = xcorr_in_[k] / std::sqrt(energy[k]);  // unscaled by N: argmax only
    if (score > best_score) {
      best_score = score;
      best = k - kRefineLag;
    }
  }
  return best;
}

QualityScorer::Spectrogram QualityScorer::Analyse(std::span<const float> x, long first_sample,
                                                  int hop, int frames) {
  Spectrogram s;
  const long n = static_cast<long>(x.size());
  s.frames = frames;
  s.db.resize(static_cast<size_t>(frames) * kBands);
  s.level.resize(frames);
  std::fill(fft_in_, fft_in_ + kFftSize, 0.0f);  // the zero-padded half stays zero
  std::vector<float> power(kFftSize / 2 + 1 + kBankLanes, 0.0f);  // padded for the bank
  for (int f = 0; f < frames; ++f) {
    const long start = first_sample + static_cast<long>(f) * hop;
    if (start >= 0 && start + kWindowSamples <= n) {
      const float* xs = x.data() + start;
      for (int i = 0; i < kWindowSamples; ++i) fft_in_[i] = xs[i] * window_[i];
    } else {
      for (int i = 0; i < kWindowSamples; ++i) {
        const long j = start + i;
        fft_in_[i] = (j >= 0 && j < n) ? x[j] * window_[i] : 0.0f;
      }
    }
    fftwf_execute(plan_);
    for (int k = 0; k <= kFftSize / 2; ++k) {
      power[k] = fft_out_[k][0] * fft_out_[k][0] + fft_out_[k][1] * fft_out_[k][1];
    }
    double total = 0;
    for (int b = 0; b < kBands; ++b) {
      const float* p = power.data() + bank_first_bin_[b];
      const std::vector<float>& w = bank_[b];
      // Weights are padded to whole lanes, so the partial sums vectorise.
      float lanes[kBankLanes] = {};
      for (size_t k = 0; k < w.size(); k += kBankLanes) {
        for (int l = 0; l < kBankLanes; ++l) lanes[l] += w[k + l] * p[k + l];
      }
      float acc = 0;
      for (float v : lanes) acc += v;
      total += acc;
      s.db[static_cast<size_t>(f) * kBands + b] = static_cast<float>(ToDb(acc));
    }
    s.level[f] = static_cast<float>(ToDb(total / kBands));
  }
  return s;
}

Result<QualityReport> QualityScorer::Score(std::span<const Sample> reference,
                                           std::span<const Sample> degraded) {
  const int min_ref_samples = 2 * kPatchFrames * kHopSamples;
  if (static_cast<int>(reference.size()) < min_ref_samples) {
    return Error{"reference is " + std::to_string(reference.size() / kSamplesPerMs) +
                 " ms long; the score needs at least " +
                 std::to_string(min_ref_samples / kSamplesPerMs) +
                 " ms of active speech at 48 kHz"};
  }
  if (static_cast<int>(degraded.size()) < kMinDegradedMs * kSamplesPerMs) {
    return Error{"degraded signal is " + std::to_string(degraded.size() / kSamplesPerMs) +
                 " ms long; it must be at least " + std::to_string(kMinDegradedMs) +
                 " ms (and should cover the reference)"};
  }
  const double ref_energy = Energy(reference);
  if (ref_energy <= 0) return Error{"reference is digital silence; score a recording of speech"};

  // Level alignment: the degraded signal is scaled to the reference's total energy
  // (ViSQOL scales to the reference level too), so a gain change is not a defect.
  // Total rather than mean energy keeps added leading silence from changing the gain.
  const double deg_energy = Energy(degraded);
  double gain = 1.0;
  if (deg_energy > 0) {
    const double max_gain = std::pow(10.0, kMaxGainDb / 20.0);
    gain = std::clamp(std::sqrt(ref_energy / deg_energy), 1.0 / max_gain, max_gain);
  }
  const std::vector<float> ref = ToFloat(reference, 1.0);
  const std::vector<float> deg = ToFloat(degraded, gain);

  // 1. Global alignment, in fine hops.
  const int max_lag = options_.max_global_delay_ms * kSamplesPerMs / kFineHopSamples;
  const int lag = GlobalLag(Envelope(ref), Envelope(deg), max_lag);

  // 2. The reference: spectrogram, floor, active frames, and the patches to compare.
  const int nref = static_cast<int>((ref.size() + kHopSamples - 1) / kHopSamples);
  const Spectrogram rs = Analyse(ref, 0, kHopSamples, nref);
  const float floor_db = *std::max_element(rs.db.begin(), rs.db.end()) -
                         static_cast<float>(kDynamicRangeDb);
  const std::vector<float> r = Floored(rs.db, floor_db);
  const LocalStats rstats = ComputeLocalStats(r, nref, 1);

  const float loudest = *std::max_element(rs.level.begin(), rs.level.end());
  std::vector<char> active(nref);
  for (int t = 0; t < nref; ++t) active[t] = rs.level[t] >= loudest - kActiveFrameRangeDb;
  std::vector<int> patch_starts;
  for (int t0 = 0; t0 + kPatchFrames <= nref; t0 += kPatchFrames) {
    const int n = static_cast<int>(std::count(active.begin() + t0, active.begin() + t0 + kPatchFrames, 1));
    if (2 * n >= kPatchFrames) patch_starts.push_back(t0);
  }
  if (patch_starts.size() < 2) {
    return Error{"reference holds too little active speech (" +
                 std::to_string(patch_starts.size()) + " patch(es) of " +
                 std::to_string(kPatchFrames * kHopSamples / kSamplesPerMs) +
                 " ms); the score needs at least two, about half a second of speech"};
  }

  // 3. The degraded signal on the fine grid, over every position the patch search can
  // reach (fine frame fmin + p, p = 0..padded-1); outside the signal is silence.
  const int drift = options_.max_patch_drift_ms * kSamplesPerMs / kFineHopSamples;
  const int fmin = lag - drift - kFinePerHop;
  const int padded = kFinePerHop * (nref - 1) + 2 * drift + 2 * kFinePerHop + 1;
  const Spectrogram ds = Analyse(deg, static_cast<long>(fmin) * kFineHopSamples, kFineHopSamples, padded);
  const std::vector<float> d = Floored(ds.db, floor_db);
  const LocalStats dstats = ComputeLocalStats(d, padded, kFinePerHop);

  // Silenced-speech blocks: short blocks of the reference against the degraded signal
  // at each patch's alignment (energies after level alignment).
  const int nblocks = static_cast<int>(ref.size()) / kSilenceBlockSamples;
  std::vector<double> ref_block_db(nblocks);
  for (int k = 0; k < nblocks; ++k) {
    double e = 0;
    for (int i = 0; i < kSilenceBlockSamples; ++i) {
      const double v = ref[static_cast<size_t>(k) * kSilenceBlockSamples + i];
      e += v * v;
    }
    ref_block_db[k] = ToDb(e / kSilenceBlockSamples);
  }
  const double loudest_block = *std::max_element(ref_block_db.begin(), ref_block_db.end());
  auto deg_block_db = [&](long start) {
    double e = 0;
    for (long i = std::max(0L, start); i < std::min<long>(start + kSilenceBlockSamples, deg.size()); ++i) {
      e += static_cast<double>(deg[i]) * deg[i];
    }
    return ToDb(e / kSilenceBlockSamples);
  };

  QualityReport report;
  report.delay_ms = static_cast<double>(lag) * kFineHopSamples / kSamplesPerMs;
  double nsim_sum = 0, lsd_sum = 0;
  int lsd_frames = 0, speech_blocks = 0, silenced_blocks = 0;
  for (int t0 : patch_starts) {
    const size_t roff = static_cast<size_t>(t0) * kBands;
    const PatchView rview{r.data() + roff, rstats.mu.data() + roff, rstats.sd.data() + roff, kBands};
    auto grid_view = [&](int p0) {
      const size_t off = static_cast<size_t>(p0) * kBands;
      return PatchView{d.data() + off, dstats.mu.data() + off, dstats.sd.data() + off,
                       static_cast<size_t>(kFinePerHop) * kBands};
    };

    // 4. Per-patch alignment: ViSQOL takes the offset that maximises the patch's
    // similarity; a call's delay drifts, and this keeps the drift from reading as
    // damage. Frames [t_begin, t_end) of the patch are aligned as one segment; the
    // result is the sample shift of the degraded signal against the reference.
    const long ref_start = static_cast<long>(t0) * kHopSamples;
    const int centre = kFinePerHop * t0 + lag - fmin;
    auto align = [&](int t_begin, int t_end) {
      // Every fine step: NSIM of voiced speech drops within a few ms of the true
      // offset (pitch periods are that short), so a coarser search misses the peak.
      int best_p0 = centre;
      double best_q = PatchNsim(rview, grid_view(centre), t_begin, t_end);
      for (int off = 1; off <= drift; ++off) {
        for (int p0 : {centre - off, centre + off}) {
          const double q = PatchNsim(rview, grid_view(p0), t_begin, t_end);
          if (q > best_q) {
            best_q = q;
            best_p0 = p0;
          }
        }
      }
      // 5. Sample-accurate refinement: the grid is 2 ms, and a 1 ms offset of a 16 ms
      // window already costs a few hundredths of NSIM. ViSQOL v3 likewise refines
      // each patch in time.
      const long shift = static_cast<long>(best_p0 + fmin) * kFineHopSamples - ref_start;
      const long seg = static_cast<long>(t_begin) * kHopSamples;
      return std::pair<long, long>{
          shift, shift + RefineLag(ref, ref_start + seg, (t_end - t_begin) * kHopSamples, deg, shift)};
    };
    // The degraded patch re-analysed with frames [0, split) at shift_a and the rest at
    // shift_b, and its NSIM against the reference patch.
    struct Candidate {
      std::vector<float> v;
      double q = -1e300;
      int split = kPatchFrames;
      long shift_a = 0, shift_b = 0;
    };
    auto assemble = [&](int split, long shift_a, long shift_b) {
      Candidate c;
      c.split = split;
      c.shift_a = shift_a;
      c.shift_b = shift_b;
      Spectrogram ps = Analyse(deg, ref_start + shift_a, kHopSamples, split);
      if (split < kPatchFrames) {
        const Spectrogram pb = Analyse(deg, ref_start + static_cast<long>(split) * kHopSamples + shift_b,
                                       kHopSamples, kPatchFrames - split);
        ps.db.insert(ps.db.end(), pb.db.begin(), pb.db.end());
      }
      c.v = Floored(ps.db, floor_db);
      const LocalStats st = ComputeLocalStats(c.v, kPatchFrames, 1);
      c.q = PatchNsim(rview, PatchView{c.v.data(), st.mu.data(), st.sd.data(), kBands});
      return c;
    };

    // The grid's alignment and the refined one: the waveform match is usually the
    // better, but with heavy distortion it need not be, so NSIM decides.
    const auto [grid, refined] = align(0, kPatchFrames);
    Candidate best = assemble(kPatchFrames, grid, grid);
    if (refined != grid) {
      Candidate c = assemble(kPatchFrames, refined, refined);
      if (c.q > best.q) best = std::move(c);
    }
    // Jitter buffers move the delay in pauses, so a patch that holds a pause may need
    // a different alignment on each side of it: split at the quietest inactive frame
    // (each side at least a sixth of the patch) and keep the split if it matches better.
    int split = -1;
    for (int t = kPatchFrames / 6; t < kPatchFrames - kPatchFrames / 6; ++t) {
      if (!active[t0 + t] && (split < 0 || rs.level[t0 + t] < rs.level[t0 + split])) split = t;
    }
    if (split > 0) {
      Candidate two = assemble(split, align(0, split).second, align(split, kPatchFrames).second);
      if (two.q > best.q) best = std::move(two);
    }
    const std::vector<float>& dpatch = best.v;
    auto shift_at_frame = [&](int t) { return t < best.split ? best.shift_a : best.shift_b; };
    const double best_q = best.q;
    nsim_sum += best_q;

    // Log-spectral distance over the patch's active frames, at the chosen alignment.
    for (int t = 0; t < kPatchFrames; ++t) {
      if (!active[t0 + t]) continue;
      double sq = 0;
      for (int b = 0; b < kBands; ++b) {
        const double diff = r[roff + static_cast<size_t>(t) * kBands + b] -
                            dpatch[static_cast<size_t>(t) * kBands + b];
        sq += diff * diff;
      }
      lsd_sum += std::sqrt(sq / kBands);
      ++lsd_frames;
    }

    const int first_block = static_cast<int>(ref_start / kSilenceBlockSamples);
    const int end_block = std::min(
        static_cast<int>((ref_start + kPatchFrames * kHopSamples) / kSilenceBlockSamples), nblocks);
    for (int k = first_block; k < end_block; ++k) {
      if (ref_block_db[k] < loudest_block - kActiveFrameRangeDb) continue;
      ++speech_blocks;
      const long at = static_cast<long>(k) * kSilenceBlockSamples;
      const int frame = static_cast<int>((at - ref_start) / kHopSamples);
      if (deg_block_db(at + shift_at_frame(frame)) <
          ref_block_db[k] - kSilencedDropDb) {
        ++silenced_blocks;
      }
    }
  }
  report.patches = static_cast<int>(patch_starts.size());
  report.nsim = std::clamp(nsim_sum / report.patches, 0.0, 1.0);
  report.log_spectral_distance_db = lsd_frames > 0 ? lsd_sum / lsd_frames : 0.0;
  report.silenced_speech_fraction =
      speech_blocks > 0 ? static_cast<double>(silenced_blocks) / speech_blocks : 0.0;
  report.mos = NsimToMos(report.nsim - kSilencePenalty * report.silenced_speech_fraction);
  return report;
}

Result<QualityReport> ScoreSpeechQuality(std::span<const Sample> reference,
                                         std::span<const Sample> degraded) {
  QualityScorer scorer;
  return scorer.Score(reference, degraded);
}

}  // namespace parley::media
