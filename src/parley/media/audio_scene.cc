// Echo and noise scenes: a Schroeder reverberator for the room, simple filters and
// envelopes for the noises. Cheap (O(n)) so the lab runs far faster than real time.
#include "parley/media/audio_scene.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "parley/base/random.h"

namespace parley::media {
namespace {

constexpr double kFullScale = 32768.0;

double Rms(std::span<const float> x) {
  double sum = 0;
  for (float v : x) sum += double{v} * v;
  return x.empty() ? 0 : std::sqrt(sum / static_cast<double>(x.size()));
}

void ScaleToRms(std::vector<float>& x, double rms) {
  const double now = Rms(x);
  if (now <= 0) return;
  const float gain = static_cast<float>(rms / now);
  for (float& v : x) v *= gain;
}

Sample ToSample(double v) {
  return static_cast<Sample>(std::clamp(std::lround(v * kFullScale), -32768L, 32767L));
}

// Schroeder's reverberator (1962): four parallel feedback combs, then two allpasses.
// Each comb's feedback gain makes it fall 60 dB in rt60.
std::vector<float> Reverberate(std::span<const float> in, double rt60_ms) {
  static constexpr std::array<int, 4> kCombs = {1693, 1759, 1621, 1549};  // ~32-37 ms
  static constexpr std::array<int, 2> kAllpasses = {245, 605};
  std::vector<float> out(in.size(), 0.0f);
  const double rt60_samples = std::max(1.0, rt60_ms * kSamplesPerMs);
  for (int delay : kCombs) {
    const float g = static_cast<float>(std::pow(10.0, -3.0 * delay / rt60_samples));
    std::vector<float> y(in.size(), 0.0f);
    for (size_t n = 0; n < in.size(); ++n) {
      y[n] = in[n] + (n >= static_cast<size_t>(delay) ? g * y[n - static_cast<size_t>(delay)] : 0.0f);
      out[n] += 0.25f * y[n];
    }
  }
  for (int delay : kAllpasses) {
    const float g = 0.5f;
    std::vector<float> y(out.size(), 0.0f);
    const auto d = static_cast<size_t>(delay);
    for (size_t n = 0; n < out.size(); ++n) {
      const float x_d = n >= d ? out[n - d] : 0.0f;
      const float y_d = n >= d ? y[n - d] : 0.0f;
      y[n] = -g * out[n] + x_d + g * y_d;
    }
    out = std::move(y);
  }
  return out;
}

}  // namespace

EchoScene MakeEchoScene(const EchoSceneConfig& config, std::span<const Sample> far, std::span<const Sample> near) {
  const size_t length = far.size();
  Random random(config.seed);
  EchoScene scene;
  scene.far_end.assign(far.begin(), far.end());

  // The speaker: soft clipping, normalised so small signals pass at unit gain.
  const double drive = std::max(0.1, config.speaker_drive);
  std::vector<float> speaker(length);
  for (size_t i = 0; i < length; ++i) {
    speaker[i] = static_cast<float>(std::tanh(drive * far[i] / kFullScale) / drive);
  }
  // The room: direct path, a few early reflections, and the reverberant tail, all
  // after the echo delay.
  const auto delay = static_cast<size_t>(std::max(0, config.echo_delay_ms) * kSamplesPerMs);
  std::vector<float> room(length, 0.0f);
  const auto add_tap = [&](size_t at, float gain) {
    for (size_t i = 0; i + at < length; ++i) room[i + at] += gain * speaker[i];
  };
  add_tap(delay, 1.0f);
  for (int reflection = 0; reflection < 4; ++reflection) {
    const auto extra = static_cast<size_t>(random.Between(3, 25) * kSamplesPerMs);
    add_tap(delay + extra, static_cast<float>(random.Between(20, 50) / 100.0 * (random.Chance(0.5) ? 1 : -1)));
  }
  std::vector<float> delayed(length, 0.0f);
  for (size_t i = 0; i + delay < length; ++i) delayed[i + delay] = speaker[i];
  const std::vector<float> tail = Reverberate(delayed, config.rt60_ms);
  for (size_t i = 0; i < length; ++i) room[i] += 0.5f * tail[i];
  std::vector<float> far_float(length);
  for (size_t i = 0; i < length; ++i) far_float[i] = static_cast<float>(far[i] / kFullScale);
  ScaleToRms(room, Rms(far_float) * std::pow(10.0, config.echo_gain_db / 20));

  scene.near_clean.assign(length, 0);
  if (config.double_talk && !near.empty()) {
    const double gain = std::pow(10.0, config.near_gain_db / 20);
    for (size_t i = length / 4, j = 0; i < length; ++i, ++j) {
      scene.near_clean[i] = ToSample(gain * near[j % near.size()] / kFullScale);
    }
  }
  const double noise_rms = std::pow(10.0, config.mic_noise_dbfs / 20);
  scene.echo.resize(length);
  scene.mic.resize(length);
  for (size_t i = 0; i < length; ++i) {
    scene.echo[i] = ToSample(room[i]);
    scene.mic[i] = ToSample(room[i] + scene.near_clean[i] / kFullScale + random.Normal(0, noise_rms));
  }
  return scene;
}

std::string_view NoiseKindName(NoiseKind kind) {
  switch (kind) {
    case NoiseKind::kWhite: return "white";
    case NoiseKind::kPink: return "pink";
    case NoiseKind::kHum: return "hum";
    case NoiseKind::kBabble: return "babble";
    case NoiseKind::kClicks: return "clicks";
    case NoiseKind::kTraffic: return "traffic";
  }
  return "?";
}

const std::vector<NoiseKind>& AllNoiseKinds() {
  static const std::vector<NoiseKind> kinds = {NoiseKind::kWhite,  NoiseKind::kPink,   NoiseKind::kHum,
                                               NoiseKind::kBabble, NoiseKind::kClicks, NoiseKind::kTraffic};
  return kinds;
}

Result<NoiseKind> ParseNoiseKind(std::string_view name) {
  for (NoiseKind kind : AllNoiseKinds()) {
    if (NoiseKindName(kind) == name) return kind;
  }
  return Error{"unknown noise \"" + std::string(name) + "\": use white, pink, hum, babble, clicks or traffic"};
}

std::vector<float> MakeNoise(NoiseKind kind, size_t length, uint64_t seed, std::span<const Sample> babble_source) {
  Random random(seed);
  std::vector<float> noise(length, 0.0f);
  switch (kind) {
    case NoiseKind::kWhite:
      for (float& v : noise) v = static_cast<float>(random.Normal(0, 1));
      break;
    case NoiseKind::kPink: {
      // Paul Kellet's economy pink filter (-3 dB/octave within 0.5 dB above 10 Hz).
      double b0 = 0, b1 = 0, b2 = 0;
      for (float& v : noise) {
        const double white = random.Normal(0, 1);
        b0 = 0.99765 * b0 + white * 0.0990460;
        b1 = 0.96300 * b1 + white * 0.2965164;
        b2 = 0.57000 * b2 + white * 1.0526913;
        v = static_cast<float>(b0 + b1 + b2 + white * 0.1848);
      }
      break;
    }
    case NoiseKind::kHum: {
      static constexpr std::array<std::pair<int, double>, 4> kHarmonics = {
          {{50, 1.0}, {100, 0.5}, {150, 0.35}, {250, 0.2}}};
      std::array<double, kHarmonics.size()> phase{};
      for (double& p : phase) p = random.Uniform() * 2 * std::numbers::pi;
      for (size_t i = 0; i < length; ++i) {
        double v = 0;
        for (size_t h = 0; h < kHarmonics.size(); ++h) {
          v += kHarmonics[h].second *
               std::sin(2 * std::numbers::pi * kHarmonics[h].first * static_cast<double>(i) / kSampleRateHz + phase[h]);
        }
        noise[i] = static_cast<float>(v + random.Normal(0, 0.01));
      }
      break;
    }
    case NoiseKind::kBabble: {
      if (babble_source.empty()) return MakeNoise(NoiseKind::kPink, length, seed, {});
      for (int talker = 0; talker < 6; ++talker) {
        const auto offset = static_cast<size_t>(random.Between(0, static_cast<int64_t>(babble_source.size()) - 1));
        const auto gain = static_cast<float>(random.Between(50, 100) / 100.0);
        for (size_t i = 0; i < length; ++i) {
          noise[i] += gain * static_cast<float>(babble_source[(i + offset) % babble_source.size()] / kFullScale);
        }
      }
      break;
    }
    case NoiseKind::kClicks: {
      // A key press: 4 ms of noise decaying with a 1 ms time constant, every ~150 ms.
      size_t at = static_cast<size_t>(random.Exponential(150) * kSamplesPerMs);
      while (at < length) {
        const double amplitude = random.Between(40, 100) / 100.0;
        for (size_t i = 0; i < 4 * kSamplesPerMs && at + i < length; ++i) {
          noise[at + i] += static_cast<float>(amplitude * std::exp(-static_cast<double>(i) / kSamplesPerMs) *
                                              random.Normal(0, 1));
        }
        at += static_cast<size_t>((30 + random.Exponential(120)) * kSamplesPerMs);
      }
      break;
    }
    case NoiseKind::kTraffic: {
      // Brown-ish rumble (one-pole low-pass near 150 Hz) under an envelope of
      // vehicles passing: Gaussian swells 1.5 s wide, every ~3 s, on a quiet floor.
      const double pole = std::exp(-2 * std::numbers::pi * 150.0 / kSampleRateHz);
      std::vector<double> envelope(length, 0.2);
      double pass_at_s = random.Exponential(1.5);
      const double length_s = static_cast<double>(length) / kSampleRateHz;
      while (pass_at_s < length_s + 3) {
        const double amplitude = random.Between(50, 150) / 100.0;
        for (size_t i = 0; i < length; ++i) {
          const double t = static_cast<double>(i) / kSampleRateHz - pass_at_s;
          if (std::abs(t) < 4.5) envelope[i] += amplitude * std::exp(-t * t / (2 * 0.75 * 0.75));
        }
        pass_at_s += 1 + random.Exponential(2);
      }
      double low = 0;
      for (size_t i = 0; i < length; ++i) {
        low = pole * low + (1 - pole) * random.Normal(0, 1);
        noise[i] = static_cast<float>(envelope[i] * low);
      }
      break;
    }
  }
  ScaleToRms(noise, 0.1);
  return noise;
}

double ActiveLevel(std::span<const Sample> speech) {
  constexpr size_t kFrame = 20 * kSamplesPerMs;
  std::vector<double> energies;
  for (size_t at = 0; at + kFrame <= speech.size(); at += kFrame) {
    double sum = 0;
    for (size_t i = at; i < at + kFrame; ++i) sum += static_cast<double>(speech[i]) * speech[i];
    energies.push_back(sum / kFrame);
  }
  if (energies.empty()) return 0;
  const double loudest = *std::max_element(energies.begin(), energies.end());
  double sum = 0;
  size_t count = 0;
  for (double e : energies) {
    if (e >= loudest * 1e-4) {  // within 40 dB
      sum += e;
      ++count;
    }
  }
  return count == 0 ? 0 : std::sqrt(sum / static_cast<double>(count));
}

Samples MixAtSnr(std::span<const Sample> speech, std::span<const float> noise, double snr_db) {
  const double speech_level = ActiveLevel(speech) / kFullScale;
  const double noise_rms = Rms(noise.subspan(0, std::min(noise.size(), speech.size())));
  const double gain = noise_rms > 0 ? speech_level / std::pow(10.0, snr_db / 20) / noise_rms : 0;
  Samples out(speech.size());
  for (size_t i = 0; i < speech.size(); ++i) {
    const double n = i < noise.size() ? gain * noise[i] : 0;
    out[i] = ToSample(speech[i] / kFullScale + n);
  }
  return out;
}

}  // namespace parley::media
