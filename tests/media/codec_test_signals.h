// Test signals and measures for the codec tests: a synthetic voiced signal, a sine,
// correlation and SNR, and the generated speech in $PARLEY_TESTDATA.
#pragma once

#include <cmath>
#include <cstdlib>
#include <numbers>
#include <optional>
#include <span>
#include <string>

#include <sndfile.h>

#include "parley/media/audio_format.h"

namespace parley::media::testing {

// A vowel-like signal at 48 kHz: the harmonics of a gliding ~140 Hz fundamental up to
// 4 kHz, shaped by formants at 700, 1220 and 2600 Hz (an "a"), under a 3 Hz envelope
// (never below -8 dB, so Opus' voice activity detector stays on). Like real voice, little energy sits near the fundamental, where Opus'
// VOIP high-pass filter (60..100 Hz) would shift the phase.
inline double FormantGain(double hz) {
  auto bump = [hz](double centre, double width) {
    const double x = (hz - centre) / width;
    return std::exp(-0.5 * x * x);
  };
  return bump(700, 130) + 0.7 * bump(1220, 150) + 0.25 * bump(2600, 250) + 0.03;
}

inline Samples VoicedSignal(int samples, double peak = 12000) {
  Samples out(static_cast<size_t>(samples));
  double phase = 0;
  for (int i = 0; i < samples; ++i) {
    const double t = static_cast<double>(i) / kSampleRateHz;
    const double f0 = 140 + 20 * std::sin(2 * std::numbers::pi * 0.7 * t);
    phase += 2 * std::numbers::pi * f0 / kSampleRateHz;
    double v = 0;
    for (int h = 1; h * f0 < 4000; ++h) v += FormantGain(h * f0) * std::sin(h * phase);
    const double envelope = 0.7 + 0.3 * std::sin(2 * std::numbers::pi * 3 * t);
    out[static_cast<size_t>(i)] = static_cast<Sample>(peak * 0.4 * envelope * v);
  }
  return out;
}

inline Samples Sine(int samples, double hz, double amplitude, int rate = kSampleRateHz) {
  Samples out(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    out[static_cast<size_t>(i)] =
        static_cast<Sample>(amplitude * std::sin(2 * std::numbers::pi * hz * i / rate));
  }
  return out;
}

// Normalized cross-correlation of a and b (same length): 1 for identical shapes.
inline double Correlation(std::span<const Sample> a, std::span<const Sample> b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0;
}

// Signal-to-noise ratio of `test` against `reference`, in dB.
inline double SnrDb(std::span<const Sample> reference, std::span<const Sample> test) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < reference.size() && i < test.size(); ++i) {
    signal += double(reference[i]) * reference[i];
    const double d = double(reference[i]) - test[i];
    noise += d * d;
  }
  return 10 * std::log10((signal + 1e-9) / (noise + 1e-9));
}

inline double SquaredError(std::span<const Sample> a, std::span<const Sample> b) {
  double e = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = double(a[i]) - b[i];
    e += d * d;
  }
  return e;
}

// The generated speech (scripts/make-speech), or nothing if PARLEY_TESTDATA is unset
// or the file is missing. Read with libsndfile directly so codec tests need no WAV code.
inline std::optional<Samples> LoadSpeech(const std::string& name) {
  const char* dir = std::getenv("PARLEY_TESTDATA");
  if (dir == nullptr) return std::nullopt;
  const std::string path = std::string(dir) + "/" + name;
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) return std::nullopt;
  if (info.samplerate != kSampleRateHz || info.channels != 1) {
    sf_close(f);
    return std::nullopt;
  }
  Samples out(static_cast<size_t>(info.frames));
  const sf_count_t got = sf_readf_short(f, out.data(), info.frames);
  sf_close(f);
  out.resize(static_cast<size_t>(got));
  return out;
}

}  // namespace parley::media::testing
