// A fake AudioDecoder for jitter-buffer tests and the fuzzer: frames are tiny payloads that
// name their own timestamp and length, and the output says exactly what was played.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

#include "parley/media/audio_decoder.h"

namespace parley::media::fake {

// Payload: 0xFA, timestamp (u32 LE), frame samples (u16 LE), flags. Anything else is
// malformed (FrameSamples returns -1).
inline constexpr uint8_t kFakeMagic = 0xFA;
inline constexpr uint8_t kFakeHasFec = 1;       // carries FEC for the frame before it
inline constexpr uint8_t kFakeUndecodable = 2;  // sized fine, but Decode fails

inline std::vector<uint8_t> FakePayload(uint32_t timestamp, int samples, uint8_t flags = 0) {
  return {kFakeMagic,
          static_cast<uint8_t>(timestamp),
          static_cast<uint8_t>(timestamp >> 8),
          static_cast<uint8_t>(timestamp >> 16),
          static_cast<uint8_t>(timestamp >> 24),
          static_cast<uint8_t>(samples),
          static_cast<uint8_t>(samples >> 8),
          flags};
}

struct FakeFrame {
  uint32_t timestamp = 0;
  int samples = 0;
  uint8_t flags = 0;
};

inline bool ParseFakePayload(std::span<const uint8_t> p, FakeFrame& frame) {
  if (p.size() != 8 || p[0] != kFakeMagic) return false;
  frame.timestamp = static_cast<uint32_t>(p[1]) | static_cast<uint32_t>(p[2]) << 8 |
                    static_cast<uint32_t>(p[3]) << 16 | static_cast<uint32_t>(p[4]) << 24;
  frame.samples = p[5] | p[6] << 8;
  frame.flags = p[7];
  return true;
}

enum class FakeSignal {
  // Every decoded sample names its sender timestamp (MarkerSample); FEC and PLC output
  // use disjoint value ranges. Noise-like, so time stretching leaves it alone.
  kMarker,
  // A voiced, tone-like signal (200 Hz and two harmonics) that is a pure function of the
  // timestamp; FEC is the same at 90 %, PLC continues it from where decoding stopped
  // and fades out over 100 ms, as a real PLC does. For continuity checks.
  kTone,
};

class FakeAudioDecoder final : public AudioDecoder {
 public:
  // Decoded: |v| < 8192; FEC: 8192 <= |v| < 16384; PLC: |v| >= 16384. Signs and values
  // are hashed from the position, so the signal is zero-mean and uncorrelated at every
  // lag (time stretching finds no period in it and leaves it alone).
  static uint32_t Mix(uint32_t x) {
    x *= 0x9E3779B1u;
    x ^= x >> 15;
    x *= 0x85EBCA77u;
    x ^= x >> 13;
    x *= 0xC2B2AE3Du;
    return x ^ (x >> 16);
  }
  static Sample Signed(uint32_t h, int base, int span) {
    const int magnitude = base + static_cast<int>((h >> 1) % static_cast<uint32_t>(span));
    return static_cast<Sample>((h & 1) ? -magnitude : magnitude);
  }
  static Sample MarkerSample(uint32_t position) { return Signed(Mix(position), 0, 8192); }
  static Sample FecMarkerSample(uint32_t position) { return Signed(Mix(position ^ 0x5A5A5A5Au), 8192, 8192); }
  static Sample PlcMarkerSample(uint32_t n) { return Signed(Mix(n ^ 0xA5A5A5A5u), 16384, 8192); }
  static bool IsFecSample(Sample s) { return std::abs(s) >= 8192 && std::abs(s) < 16384; }
  static bool IsPlcSample(Sample s) { return std::abs(s) >= 16384; }

  static constexpr double kToneHz = 200.0;
  static double Tone(double position) {
    const double t = position / 48000.0;
    const double w = 2 * std::numbers::pi * kToneHz * t;
    return 6000 * std::sin(w) + 3000 * std::sin(2 * w + 0.5) + 1500 * std::sin(3 * w + 1.0);
  }

  explicit FakeAudioDecoder(FakeSignal signal = FakeSignal::kMarker) : signal_(signal) {}

  struct Counts {
    int decode = 0, fec = 0, conceal = 0;
    int conceal_samples = 0;
  };
  const Counts& counts() const { return counts_; }

  int FrameSamples(std::span<const uint8_t> payload) const override {
    FakeFrame f;
    if (!ParseFakePayload(payload, f)) return -1;
    return f.samples;
  }
  bool HasFec(std::span<const uint8_t> payload) const override {
    FakeFrame f;
    return ParseFakePayload(payload, f) && (f.flags & kFakeHasFec);
  }
  int Decode(std::span<const uint8_t> payload, std::span<Sample> out) override {
    FakeFrame f;
    if (!ParseFakePayload(payload, f) || (f.flags & kFakeUndecodable) || f.samples <= 0 ||
        static_cast<size_t>(f.samples) > out.size()) {
      return -1;
    }
    ++counts_.decode;
    for (int i = 0; i < f.samples; ++i) out[static_cast<size_t>(i)] = Produce(f.timestamp + static_cast<uint32_t>(i), 1.0, false);
    plc_position_ = static_cast<double>(f.timestamp) + f.samples;
    plc_samples_ = 0;
    return f.samples;
  }
  int DecodeFec(std::span<const uint8_t> next, int samples, std::span<Sample> out) override {
    FakeFrame f;
    if (!ParseFakePayload(next, f) || !(f.flags & kFakeHasFec) || samples <= 0 ||
        static_cast<size_t>(samples) > out.size()) {
      return -1;
    }
    ++counts_.fec;
    const uint32_t lost = f.timestamp - static_cast<uint32_t>(samples);
    for (int i = 0; i < samples; ++i) out[static_cast<size_t>(i)] = Produce(lost + static_cast<uint32_t>(i), 0.9, true);
    plc_position_ = static_cast<double>(f.timestamp);
    plc_samples_ = 0;
    return samples;
  }
  int Conceal(int samples, std::span<Sample> out) override {
    if (samples <= 0 || static_cast<size_t>(samples) > out.size()) return -1;
    ++counts_.conceal;
    counts_.conceal_samples += samples;
    for (int i = 0; i < samples; ++i) {
      if (signal_ == FakeSignal::kMarker) {
        out[static_cast<size_t>(i)] = PlcMarkerSample(static_cast<uint32_t>(plc_samples_total_));
      } else {
        const double gain = std::max(0.0, 1.0 - plc_samples_ / 4800.0);
        out[static_cast<size_t>(i)] = static_cast<Sample>(std::lround(gain * Tone(plc_position_)));
        plc_position_ += 1;
      }
      ++plc_samples_;
      ++plc_samples_total_;
    }
    return samples;
  }

 private:
  Sample Produce(uint32_t position, double gain, bool fec) const {
    if (signal_ == FakeSignal::kMarker) return fec ? FecMarkerSample(position) : MarkerSample(position);
    return static_cast<Sample>(std::lround(gain * Tone(position)));
  }

  FakeSignal signal_;
  Counts counts_;
  double plc_position_ = 0;
  int plc_samples_ = 0;        // since the last decode: drives the tone's fade-out
  int64_t plc_samples_total_ = 0;
};

}  // namespace parley::media::fake
