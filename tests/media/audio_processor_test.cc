// AudioProcessor and CaptureProcessor: pass-through when off, echo removed at a fixed
// delay, noise suppressed, AGC levelling, rumble high-passed, stats.
#include "parley/media/audio_processor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "codec_test_signals.h"
#include "parley/base/random.h"
#include "parley/media/audio_processing_lab.h"
#include "parley/media/audio_scene.h"
#include "parley/media/capture_processor.h"

namespace parley::media {
namespace {

constexpr AudioProcessingConfig kAllOff{
    .echo_cancellation = false, .noise_suppression = false, .gain_control = false, .high_pass_filter = false};

Samples RandomSamples(size_t n, uint64_t seed, double stddev = 3000) {
  Random random(seed);
  Samples out(n);
  for (Sample& s : out) s = static_cast<Sample>(std::clamp(random.Normal(0, stddev), -32768.0, 32767.0));
  return out;
}

double Energy(std::span<const Sample> x) {
  double e = 0;
  for (Sample v : x) e += static_cast<double>(v) * v;
  return e;
}

// Speech-like far end: pink noise switched on and off in random 150-400 ms syllables.
Samples SyllabicNoise(size_t n, uint64_t seed) {
  const std::vector<float> pink = MakeNoise(NoiseKind::kPink, n, seed, {});
  Random random(seed + 1);
  Samples out(n, 0);
  size_t at = 0;
  bool on = true;
  while (at < n) {
    const auto length = static_cast<size_t>(random.Between(150, 400) * kSamplesPerMs);
    for (size_t i = at; i < std::min(n, at + length); ++i) {
      out[i] = on ? static_cast<Sample>(std::clamp(pink[i] * 2.5 * 32768.0, -32768.0, 32767.0)) : 0;
    }
    at += length;
    on = !on;
  }
  return out;
}

TEST(AudioProcessorTest, EveryStageOffIsABitExactPassThrough) {
  auto processor = AudioProcessor::Create(kAllOff);
  ASSERT_TRUE(processor.ok());
  const Samples input = RandomSamples(kBlockSamples * 20, 7);
  Samples far = RandomSamples(kBlockSamples, 8);
  for (size_t at = 0; at < input.size(); at += kBlockSamples) {
    std::array<Sample, kBlockSamples> block;
    std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(at), kBlockSamples, block.begin());
    (*processor)->AnalyzeFarEnd(std::span<const Sample, kBlockSamples>(far.data(), kBlockSamples));
    (*processor)->ProcessCapture(block, 40);
    ASSERT_TRUE(std::equal(block.begin(), block.end(), input.begin() + static_cast<std::ptrdiff_t>(at)));
  }
  EXPECT_FALSE((*processor)->stats().estimated_echo_delay_ms);
}

TEST(AudioProcessorTest, CapturePathWithEveryStageOffPassesOddChunksThroughExactly) {
  auto processor = AudioProcessor::Create(kAllOff);
  ASSERT_TRUE(processor.ok());
  auto reference = std::make_shared<FarEndReference>();
  CaptureProcessor capture(std::move(*processor), reference);
  SpscRing<Sample> out(8 * kBlockSamples);
  const Samples input = RandomSamples(kBlockSamples * 10 + 100, 9);
  Samples got;
  const TimePoint t0{seconds(5)};
  for (size_t at = 0; at < input.size(); at += 173) {
    const size_t n = std::min<size_t>(173, input.size() - at);
    ASSERT_TRUE(capture.Push(std::span(input).subspan(at, n), t0, out));
    std::array<Sample, kBlockSamples> block;
    while (out.Read(block) == kBlockSamples) got.insert(got.end(), block.begin(), block.end());
  }
  ASSERT_EQ(got.size(), kBlockSamples * 10);  // whole blocks only; the last 100 wait
  EXPECT_TRUE(std::equal(got.begin(), got.end(), input.begin()));
  EXPECT_EQ(capture.stats().blocks_processed, 10u);
}

TEST(AudioProcessorTest, EchoCancellationOffIgnoresTheFarEndBitForBit) {
  // Noise suppression alone: feeding a far end must change nothing.
  const AudioProcessingConfig ns_only{
      .echo_cancellation = false, .noise_suppression = true, .gain_control = false, .high_pass_filter = true};
  auto with_far = AudioProcessor::Create(ns_only);
  auto without_far = AudioProcessor::Create(ns_only);
  ASSERT_TRUE(with_far.ok() && without_far.ok());
  const Samples input = RandomSamples(kBlockSamples * 50, 11);
  const Samples far = RandomSamples(kBlockSamples * 50, 12, 8000);
  for (size_t at = 0; at < input.size(); at += kBlockSamples) {
    std::array<Sample, kBlockSamples> a;
    std::array<Sample, kBlockSamples> b;
    std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(at), kBlockSamples, a.begin());
    b = a;
    (*with_far)->AnalyzeFarEnd(std::span<const Sample, kBlockSamples>(far.data() + at, kBlockSamples));
    (*with_far)->ProcessCapture(a, 30);
    (*without_far)->ProcessCapture(b, 0);
    ASSERT_EQ(a, b) << "block " << at / kBlockSamples;
  }
}

TEST(AudioProcessorTest, EchoCancellerRemovesASyntheticEchoAtAFixedDelay) {
  // 8 s of syllabic far-end noise through a 100 ms room with reverberation and a soft-
  // clipping speaker; timestamps exact, as a device that reports its latency.
  const Samples far = SyllabicNoise(8 * kSampleRateHz, 21);
  const EchoScene scene = MakeEchoScene(EchoSceneConfig{.echo_delay_ms = 100, .seed = 3}, far, {});
  auto processor = AudioProcessor::Create(
      {.echo_cancellation = true, .noise_suppression = false, .gain_control = false, .high_pass_filter = true});
  ASSERT_TRUE(processor.ok());
  const ProcessedScene processed = ProcessScene(std::move(*processor), far, scene.mic, milliseconds(98));
  ASSERT_EQ(processed.out.size(), scene.mic.size());
  // After 3 s of convergence.
  const size_t from = 3 * kSampleRateHz;
  const double in = Energy(std::span(scene.mic).subspan(from));
  const double out = Energy(std::span(processed.out).subspan(from));
  const double erle_db = 10 * std::log10(in / out);
  // Measured 39.6 dB; required with margin.
  EXPECT_GT(erle_db, 30.0);
  // The same scene without echo cancellation leaves the echo (only the high-pass).
  auto off = AudioProcessor::Create(
      {.echo_cancellation = false, .noise_suppression = false, .gain_control = false, .high_pass_filter = true});
  ASSERT_TRUE(off.ok());
  const ProcessedScene kept = ProcessScene(std::move(*off), far, scene.mic, milliseconds(98));
  EXPECT_LT(10 * std::log10(in / Energy(std::span(kept.out).subspan(from))), 3.0);
  ASSERT_TRUE(processed.stats.estimated_echo_delay_ms.has_value());
}

TEST(AudioProcessorTest, NoiseSuppressionRaisesTheSnrOfNoisySpeech) {
  // Voiced bursts (1 s on, 0.5 s off) in white noise at 10 dB SNR.
  const int total = 8 * kSampleRateHz;
  const Samples voiced = testing::VoicedSignal(total, 8000);
  Samples clean(static_cast<size_t>(total), 0);
  std::vector<bool> speech(static_cast<size_t>(total), false);
  for (int i = 0; i < total; ++i) {
    if ((i % (3 * kSampleRateHz / 2)) < kSampleRateHz) {
      clean[static_cast<size_t>(i)] = voiced[static_cast<size_t>(i)];
      speech[static_cast<size_t>(i)] = true;
    }
  }
  const std::vector<float> noise = MakeNoise(NoiseKind::kWhite, clean.size(), 5, {});
  const Samples noisy = MixAtSnr(clean, noise, 10);
  auto processor = AudioProcessor::Create(
      {.echo_cancellation = false, .noise_suppression = true, .gain_control = false, .high_pass_filter = true});
  ASSERT_TRUE(processor.ok());
  const ProcessedScene processed = ProcessScene(std::move(*processor), {}, noisy, Duration{0});
  const auto snr = [&](const Samples& x) {
    double s = 0, n = 0;
    for (size_t i = 2 * kSampleRateHz; i < x.size(); ++i) (speech[i] ? s : n) += static_cast<double>(x[i]) * x[i];
    return 10 * std::log10(s / n);  // speech+noise over noise alone, by time share
  };
  const double before = snr(noisy);
  const double after = snr(processed.out);
  // Measured 13.6 -> 20.3 dB (+6.7); required with margin.
  EXPECT_GT(after - before, 4.0) << before << " -> " << after;
}

TEST(AudioProcessorTest, GainControlRaisesQuietSpeech) {
  const Samples quiet = testing::VoicedSignal(4 * kSampleRateHz, 800);  // about -35 dBFS
  auto processor = AudioProcessor::Create(
      {.echo_cancellation = false, .noise_suppression = false, .gain_control = true, .high_pass_filter = false});
  ASSERT_TRUE(processor.ok());
  const ProcessedScene processed = ProcessScene(std::move(*processor), {}, quiet, Duration{0});
  const size_t from = 2 * kSampleRateHz;
  const double gain_db = 10 * std::log10(Energy(std::span(processed.out).subspan(from)) /
                                         Energy(std::span(quiet).subspan(from, processed.out.size() - from)));
  // Measured +3.3 dB after 2 s (the digital AGC ramps up slowly); off it is 0.
  EXPECT_GT(gain_db, 2.0);
}

// Sine of `hz` at amplitude `amplitude`, `n` samples.
Samples Tone(size_t n, double hz, double amplitude) {
  Samples out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<Sample>(amplitude * std::sin(2 * M_PI * hz * i / kSampleRateHz));
  return out;
}

// The energy of `x` at `hz` (one DFT bin over the whole span).
double ToneEnergy(std::span<const Sample> x, double hz) {
  double re = 0, im = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    re += x[i] * std::cos(2 * M_PI * hz * i / kSampleRateHz);
    im += x[i] * std::sin(2 * M_PI * hz * i / kSampleRateHz);
  }
  return re * re + im * im;
}

TEST(AudioProcessorTest, HighPassFilterRemovesRumbleAndKeepsSpeechBand) {
  // Mains hum or handling rumble at 30 Hz under a 1 kHz tone (the speech band).
  const size_t n = 3 * kSampleRateHz;
  Samples in = Tone(n, 30, 6000);
  const Samples voice = Tone(n, 1000, 3000);
  for (size_t i = 0; i < n; ++i) in[i] = static_cast<Sample>(in[i] + voice[i]);
  auto processor = AudioProcessor::Create(
      {.echo_cancellation = false, .noise_suppression = false, .gain_control = false, .high_pass_filter = true});
  ASSERT_TRUE(processor.ok());
  const ProcessedScene processed = ProcessScene(std::move(*processor), {}, in, Duration{0});
  const size_t from = kSampleRateHz;  // past the filter's settling
  const auto before = std::span<const Sample>(in).subspan(from, processed.out.size() - from);
  const auto after = std::span<const Sample>(processed.out).subspan(from);
  const double rumble_db = 10 * std::log10(ToneEnergy(after, 30) / ToneEnergy(before, 30));
  const double voice_db = 10 * std::log10(ToneEnergy(after, 1000) / ToneEnergy(before, 1000));
  std::printf("high-pass: 30 Hz %+.1f dB, 1 kHz %+.1f dB\n", rumble_db, voice_db);
  EXPECT_LT(rumble_db, -10);
  EXPECT_GT(voice_db, -1);
}

}  // namespace
}  // namespace parley::media
