// The echo and noise labs: scenes through the capture path in simulated time, scored.
#include "parley/media/audio_processing_lab.h"

#include <algorithm>
#include <cmath>

#include "parley/media/capture_processor.h"
#include "parley/media/far_end_reference.h"
#include "parley/media/quality_score.h"
#include "parley/media/spsc_ring.h"

namespace parley::media {
namespace {

constexpr Duration kAcousticPath = milliseconds(2);
constexpr size_t kConvergenceSamples = 2 * kSampleRateHz;

double Energy(std::span<const Sample> x) {
  double sum = 0;
  for (Sample v : x) sum += static_cast<double>(v) * v;
  return sum;
}

double Correlation(std::span<const Sample> a, std::span<const Sample> b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0;
}

// The best correlation of `b` delayed by 0..20 ms against `a`: the noise suppressor
// delays its output by a few ms (its analysis window overlaps the next block).
double BestLagCorrelation(std::span<const Sample> a, std::span<const Sample> b) {
  double best = -1;
  for (size_t lag = 0; lag <= 20 * kSamplesPerMs && lag < b.size(); ++lag) {
    best = std::max(best, Correlation(a, b.subspan(lag)));
  }
  return best;
}

Duration PlayOffset(const EchoLabCase& lab_case) {
  const Duration echo = milliseconds(lab_case.scene.echo_delay_ms) - kAcousticPath;
  switch (lab_case.timestamps) {
    case DeviceTimestamps::kExact: return echo;
    case DeviceTimestamps::kOff50ms: return echo - milliseconds(50);
    case DeviceTimestamps::kNone: return Duration{0};
  }
  return echo;
}

}  // namespace

std::vector<EchoLabCase> EchoLabCases() {
  std::vector<EchoLabCase> cases;
  const auto add = [&](std::string name, EchoSceneConfig scene, DeviceTimestamps timestamps) {
    for (bool double_talk : {false, true}) {
      scene.double_talk = double_talk;
      cases.push_back(EchoLabCase{.name = name, .scene = scene, .timestamps = timestamps});
    }
  };
  add("delay30", EchoSceneConfig{.echo_delay_ms = 30}, DeviceTimestamps::kExact);
  add("delay100", EchoSceneConfig{.echo_delay_ms = 100}, DeviceTimestamps::kExact);
  add("delay200", EchoSceneConfig{.echo_delay_ms = 200}, DeviceTimestamps::kExact);
  add("loud-speaker", EchoSceneConfig{.echo_delay_ms = 100, .speaker_drive = 4, .echo_gain_db = 0},
      DeviceTimestamps::kExact);
  add("reverberant", EchoSceneConfig{.echo_delay_ms = 100, .rt60_ms = 600}, DeviceTimestamps::kExact);
  add("timestamps-off50", EchoSceneConfig{.echo_delay_ms = 200}, DeviceTimestamps::kOff50ms);
  add("no-timestamps", EchoSceneConfig{.echo_delay_ms = 100}, DeviceTimestamps::kNone);
  return cases;
}

ProcessedScene ProcessScene(std::unique_ptr<AudioProcessor> processor, std::span<const Sample> far_end,
                            std::span<const Sample> mic, Duration play_offset) {
  AudioProcessor* raw = processor.get();
  auto reference = std::make_shared<FarEndReference>();
  CaptureProcessor capture(std::move(processor), reference);
  SpscRing<Sample> out_ring(2 * kBlockSamples);
  ProcessedScene result;
  result.out.reserve(mic.size());
  const TimePoint start{seconds(1000)};
  std::array<Sample, kBlockSamples> block{};
  for (size_t at = 0; at + kBlockSamples <= mic.size(); at += kBlockSamples) {
    const TimePoint now = start + milliseconds(static_cast<int64_t>(at / kSamplesPerMs));
    if (at + kBlockSamples <= far_end.size()) {
      reference->OnPlayed(far_end.subspan(at, kBlockSamples), now + play_offset);
    }
    capture.Push(mic.subspan(at, kBlockSamples), now, out_ring);
    while (out_ring.Read(block) == kBlockSamples) result.out.insert(result.out.end(), block.begin(), block.end());
  }
  result.stats = raw->stats();
  return result;
}

Result<EchoLabResult> RunEchoLab(const EchoLabCase& lab_case, std::span<const Sample> near,
                                 std::span<const Sample> far) {
  if (far.size() < 4 * kConvergenceSamples) return Error{"the echo lab needs at least 8 s of far-end speech"};
  const EchoScene scene = MakeEchoScene(lab_case.scene, far, near);
  EchoLabResult result;
  result.name = lab_case.name;
  result.echo_delay_ms = lab_case.scene.echo_delay_ms;
  result.double_talk = lab_case.scene.double_talk;
  const Duration offset = PlayOffset(lab_case);
  if (!lab_case.scene.double_talk) {
    auto processor = AudioProcessor::Create(
        {.echo_cancellation = true, .noise_suppression = false, .gain_control = false, .high_pass_filter = true});
    if (!processor.ok()) return processor.error();
    const ProcessedScene processed = ProcessScene(std::move(*processor), scene.far_end, scene.mic, offset);
    // Blocks where the echo stands 10 dB above the mic's own noise.
    const double noise_block = std::pow(10.0, lab_case.scene.mic_noise_dbfs / 10) * 32768.0 * 32768.0 * kBlockSamples;
    double in = 0;
    double out = 0;
    for (size_t at = kConvergenceSamples; at + kBlockSamples <= processed.out.size(); at += kBlockSamples) {
      const double echo = Energy(std::span(scene.echo).subspan(at, kBlockSamples));
      if (echo < 10 * noise_block) continue;
      in += Energy(std::span(scene.mic).subspan(at, kBlockSamples));
      out += Energy(std::span(processed.out).subspan(at, kBlockSamples));
    }
    if (in > 0) result.erle_db = 10 * std::log10(in / std::max(out, 1.0));
    result.estimated_echo_delay_ms = processed.stats.estimated_echo_delay_ms;
    return result;
  }
  auto processor = AudioProcessor::Create(AudioProcessingConfig{});
  if (!processor.ok()) return processor.error();
  const ProcessedScene processed = ProcessScene(std::move(*processor), scene.far_end, scene.mic, offset);
  result.estimated_echo_delay_ms = processed.stats.estimated_echo_delay_ms;
  const size_t from = scene.mic.size() / 4;
  const size_t to = processed.out.size();
  QualityScorer scorer;
  const std::span<const Sample> reference = std::span(scene.near_clean).subspan(from, to - from);
  auto unprocessed = scorer.Score(reference, std::span(scene.mic).subspan(from, to - from));
  if (!unprocessed.ok()) return unprocessed.error();
  auto cleaned = scorer.Score(reference, std::span(processed.out).subspan(from, to - from));
  if (!cleaned.ok()) return cleaned.error();
  result.near_correlation_unprocessed = Correlation(reference, std::span(scene.mic).subspan(from, to - from));
  result.near_correlation_processed = BestLagCorrelation(reference, std::span(processed.out).subspan(from, to - from));
  auto aec_only = AudioProcessor::Create(
      {.echo_cancellation = true, .noise_suppression = false, .gain_control = false, .high_pass_filter = true});
  if (!aec_only.ok()) return aec_only.error();
  const ProcessedScene echo_cancelled = ProcessScene(std::move(*aec_only), scene.far_end, scene.mic, offset);
  result.near_correlation_aec_only =
      BestLagCorrelation(reference, std::span(echo_cancelled.out).subspan(from, to - from));
  result.near_mos_unprocessed = unprocessed->mos;
  result.near_mos_processed = cleaned->mos;
  return result;
}

Result<NoiseLabReport> RunNoiseLab(std::span<const Sample> speech, std::span<const Sample> babble, uint64_t seed) {
  if (speech.size() < 2 * kConvergenceSamples) return Error{"the noise lab needs at least 4 s of speech"};
  // Speech starts after 1 s of noise alone, so the suppressor has heard the noise.
  Samples padded(kSampleRateHz, 0);
  padded.insert(padded.end(), speech.begin(), speech.end());
  // Pauses: 20 ms frames of the clean speech more than 40 dB below its loudest.
  constexpr size_t kFrame = 20 * kSamplesPerMs;
  double loudest = 0;
  for (size_t at = 0; at + kFrame <= padded.size(); at += kFrame) {
    loudest = std::max(loudest, Energy(std::span(padded).subspan(at, kFrame)));
  }
  QualityScorer scorer;
  const auto suppressor = [] {
    return AudioProcessor::Create(
        {.echo_cancellation = false, .noise_suppression = true, .gain_control = false, .high_pass_filter = true});
  };
  NoiseLabReport report;
  {
    auto processor = suppressor();
    if (!processor.ok()) return processor.error();
    const ProcessedScene processed = ProcessScene(std::move(*processor), {}, padded, Duration{0});
    auto clean = scorer.Score(std::span(padded).subspan(kSampleRateHz),
                              std::span(processed.out).subspan(kSampleRateHz));
    if (!clean.ok()) return clean.error();
    report.clean_mos_suppressed = clean->mos;
  }
  std::vector<NoiseLabResult>& results = report.results;
  for (NoiseKind kind : AllNoiseKinds()) {
    const std::vector<float> noise = MakeNoise(kind, padded.size(), seed, babble);
    for (double snr : {0.0, 5.0, 10.0, 20.0}) {
      // The active level ignores the leading second of silence.
      const Samples noisy = MixAtSnr(padded, noise, snr);
      auto processor = suppressor();
      if (!processor.ok()) return processor.error();
      const ProcessedScene processed = ProcessScene(std::move(*processor), {}, noisy, Duration{0});
      const size_t to = processed.out.size();
      const auto tail = [&](const Samples& x) { return std::span(x).subspan(kSampleRateHz, to - kSampleRateHz); };
      auto before = scorer.Score(tail(padded), tail(noisy));
      if (!before.ok()) return before.error();
      auto after = scorer.Score(tail(padded), tail(processed.out));
      if (!after.ok()) return after.error();
      double pause_in = 0;
      double pause_out = 0;
      for (size_t at = 2 * kSampleRateHz; at + kFrame <= to; at += kFrame) {
        if (Energy(std::span(padded).subspan(at, kFrame)) > loudest * 1e-4) continue;
        pause_in += Energy(std::span(noisy).subspan(at, kFrame));
        pause_out += Energy(std::span(processed.out).subspan(at, kFrame));
      }
      results.push_back(NoiseLabResult{.kind = kind,
                                       .snr_db = snr,
                                       .mos_noisy = before->mos,
                                       .mos_suppressed = after->mos,
                                       .noise_reduction_db = pause_in > 0 ? 10 * std::log10(pause_in / std::max(pause_out, 1.0)) : 0});
    }
  }
  return report;
}

}  // namespace parley::media
