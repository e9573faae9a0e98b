// The bitrate controller on netsim scenarios, whole calls in simulated time: a 24 kbit/s
// bottleneck with every test voice in three variants (settle below it within 5 s, no wait
// of 100 ms after that, climb back within 10 s), loss steps, RTT steps, a 3 s outage, an
// address change, and data saving.
#include "parley/call/adaptation_lab.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <ostream>
#include <string>

#include "parley/base/random.h"
#include "parley/media/wav_file.h"

namespace parley::call {
namespace {

// build/testdata/VOICE.wav, read once.
const media::Samples& Speech(const std::string& voice = "speech_en_male") {
  static std::map<std::string, media::Samples> loaded;
  if (auto it = loaded.find(voice); it != loaded.end()) return it->second;
  const char* dir = std::getenv("PARLEY_TESTDATA");
  const std::string path = std::string(dir ? dir : "build/testdata") + "/" + voice + ".wav";
  auto samples = media::ReadAudioFile(path);
  if (!samples) {
    ADD_FAILURE() << samples.error().message << " (make speech generates it)";
    return loaded[voice] = media::Samples(48000 * 5);
  }
  return loaded[voice] = std::move(*samples);
}

AdaptationLabReport RunPreset(const std::string& preset_name, const std::string& voice = "speech_en_male") {
  for (const AdaptationPreset& preset : AdaptationPresets()) {
    if (preset.name != preset_name) continue;
    AdaptationLabConfig config;
    config.network = preset.network;
    config.duration_s = preset.duration_s;
    config.data_saving = preset.data_saving;
    auto report = RunAdaptationLab(config, Speech(voice));
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : AdaptationLabReport{};
  }
  ADD_FAILURE() << "no preset " << preset_name;
  return {};
}

// Seconds [from, to) of the trace (t_s is each second's end).
std::vector<AdaptationSecond> Between(const AdaptationLabReport& r, double from, double to) {
  std::vector<AdaptationSecond> out;
  for (const AdaptationSecond& s : r.seconds) {
    if (s.t_s > from && s.t_s <= to) out.push_back(s);
  }
  return out;
}

double MeanTarget(const std::vector<AdaptationSecond>& seconds) {
  double sum = 0;
  for (const AdaptationSecond& s : seconds) sum += s.target_kbps;
  return seconds.empty() ? 0 : sum / static_cast<double>(seconds.size());
}

std::string Trace(const AdaptationLabReport& r) {
  std::string out;
  for (const AdaptationSecond& s : r.seconds) {
    out += std::to_string(s.t_s) + " target " + std::to_string(s.target_kbps) + " wire " +
           std::to_string(s.wire_kbps) + " opus " + std::to_string(s.opus_bitrate_bps) + " frame " +
           std::to_string(s.frame_ms) + " copies " + std::to_string(s.redundant_copies) + " queue " +
           std::to_string(s.queue_delay_max_ms) + " loss " + std::to_string(s.loss_fraction) + " mos " +
           std::to_string(s.mos) + "\n";
  }
  return out;
}

// The speech as real calls would vary it: variant 0 is the file; 1 and 2 add a ±1 LSB
// dither from a fixed seed (what changed between generations of `make speech` before sox
// ran with -R: only the low bits, yet Opus's VBR packet sizes and so every decision
// after them differ); 3 to 6 start 0.73, 1.46, 2.19 and 2.92 s into the file (looped),
// so that the drop at 10 s and the lift at 30 s meet other words and pauses. Made in
// memory, the same on every run. (`parley lab` has no such option.)
constexpr int kDithers = 2;
constexpr int kShifts = 4;
constexpr double kShiftStepS = 0.73;

media::Samples Variant(const media::Samples& speech, int variant) {
  media::Samples out = speech;
  if (variant > 0 && variant <= kDithers) {
    Random random(static_cast<uint64_t>(variant));
    for (media::Sample& s : out) {
      s = static_cast<media::Sample>(std::clamp<int>(s + static_cast<int>(random.Between(-1, 1)), -32768, 32767));
    }
  } else if (variant > kDithers) {
    const auto shift = static_cast<std::size_t>((variant - kDithers) * kShiftStepS * 48000) % out.size();
    std::rotate(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(shift), out.end());
  }
  return out;
}

struct BottleneckCase {
  const char* voice;
  int variant;
};

// gtest prints a failing case's parameter with this (not as raw bytes).
void PrintTo(const BottleneckCase& c, std::ostream* os) { *os << c.voice << " variant " << c.variant; }

std::string CaseName(const testing::TestParamInfo<BottleneckCase>& info) {
  const int v = info.param.variant;
  if (v > kDithers) return std::string(info.param.voice) + "_shift" + std::to_string(v - kDithers);
  return std::string(info.param.voice) + (v == 0 ? "_file" : "_dither" + std::to_string(v));
}

// Every voice `make speech` generates, each in seven variants: how much speech sends,
// and when its VBR peaks and pauses come, changes from voice to voice, with the
// speech's exact bytes and with where in it the drop and the lift fall, and the
// bottleneck's figures must not depend on them. Session 6's controller met them on the
// file and the dithers (worst second 43-83 ms) but not on 5 of the 28 shifted starts
// (104-180 ms: a cut's estimate of ~27 kbit/s above the 24 kbit/s link; a queue
// draining at ~2 kbit/s with media at its 16.5 kbit/s floor; the budget stuck at the
// 12 kbit/s minimum).
class BottleneckTest : public testing::TestWithParam<BottleneckCase> {};

TEST_P(BottleneckTest, SettlesBelowWithoutAQueueAndRecoversWithin10s) {
  const media::Samples speech = Variant(Speech(GetParam().voice), GetParam().variant);
  AdaptationLabConfig config;
  config.network = "delay=30ms;at=10s:rate=24kbit;at=30s:rate=off";  // the bottleneck preset
  config.duration_s = 45;
  auto report = RunAdaptationLab(config, speech);
  ASSERT_TRUE(report.ok()) << report.error().message;
  const AdaptationLabReport& r = *report;
  ASSERT_EQ(r.seconds.size(), 45u);
  const double before = MeanTarget(Between(r, 5, 10));
  EXPECT_GT(before, 40) << Trace(r);
  // From 5 s after the drop until it lifts: below the bottleneck every second (media and
  // control, UDP/IP counted), and no packet waits 100 ms.
  std::vector<double> waits;
  double wire_max = 0;
  for (const AdaptationSecond& s : Between(r, 15, 30)) {
    EXPECT_LT(s.wire_kbps, 24) << "at " << s.t_s;
    // The budget, not the wire: a pause in the speech sends less (DTX) without any cut.
    EXPECT_GT(s.target_kbps, 12) << "collapsed at " << s.t_s;
    waits.push_back(s.queue_delay_max_ms);
    wire_max = std::max(wire_max, s.wire_kbps);
  }
  std::sort(waits.begin(), waits.end());
  ASSERT_EQ(waits.size(), 15u);
  // The issue's < 100 ms: the worst second of these 49 runs waits 43-91 ms, the median
  // second 32-43 (a 92-byte report and a 60 ms media packet meeting at 24 kbit/s).
  EXPECT_LT(waits[7], 60) << "median of each second's longest wait";
  EXPECT_LT(waits.back(), 100) << "longest wait";
  // Within 10 s of the lift (at 30 s) the budget is back to 90 % of where it was.
  double recovered_at = 0;
  for (const AdaptationSecond& s : Between(r, 30, 45)) {
    if (recovered_at == 0 && s.target_kbps >= 0.9 * before) recovered_at = s.t_s;
  }
  // The figures docs/benchmarks.md quotes.
  std::printf("%s variant %d: wire 15-30 s at most %.1f kbit/s, each second's longest wait median %.0f ms, "
              "worst %.0f ms; budget back to 90 %% at %.0f s\n",
              GetParam().voice, GetParam().variant, wire_max, waits[7], waits.back(), recovered_at);
  EXPECT_GT(recovered_at, 30) << "no recovery";
  EXPECT_LE(recovered_at, 40);
  if (HasFailure()) ADD_FAILURE() << "the run, second by second:\n" << Trace(r);
}

std::vector<BottleneckCase> BottleneckCases() {
  std::vector<BottleneckCase> cases;
  for (const char* voice : {"speech_en_male", "speech_en_female", "speech_de", "speech_es", "speech_fa", "speech_ru",
                            "conversation"}) {
    for (int variant = 0; variant <= kDithers + kShifts; ++variant) cases.push_back({voice, variant});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Voices, BottleneckTest, testing::ValuesIn(BottleneckCases()), CaseName);

TEST(AdaptationLabTest, LossStepsBringProtectionNotACollapse) {
  const AdaptationLabReport r = RunPreset("loss-steps");
  const double before = MeanTarget(Between(r, 5, 10));
  const std::vector<AdaptationSecond> lossy = Between(r, 13, 25);
  for (const AdaptationSecond& s : lossy) {
    EXPECT_GE(s.redundant_copies, 1) << "at " << s.t_s << "\n" << Trace(r);
    EXPECT_GE(s.target_kbps, 0.9 * before) << "random loss lowered the budget at " << s.t_s << "\n" << Trace(r);
    EXPECT_LT(s.concealed_fraction, 0.05) << "at " << s.t_s << "\n" << Trace(r);
  }
  // Loss gone: protection steps down again after its calm reports.
  EXPECT_EQ(r.seconds.back().redundant_copies, 0) << Trace(r);
  EXPECT_FALSE(r.seconds.back().fec) << Trace(r);
}

TEST(AdaptationLabTest, RttStepIsNotMistakenForCongestion) {
  const AdaptationLabReport r = RunPreset("rtt-steps");
  const double before = MeanTarget(Between(r, 5, 10));
  // Each step looks like a queue for one report (a rising one-way delay): one cut, no
  // more, since the delay then stays flat and everything sent arrives.
  for (const AdaptationSecond& s : Between(r, 10, 30)) {
    EXPECT_GE(s.target_kbps, 0.5 * before) << "at " << s.t_s << "\n" << Trace(r);
  }
  EXPECT_GE(MeanTarget(Between(r, 25, 30)), 0.9 * before) << Trace(r);
}

TEST(AdaptationLabTest, OutageDoesNotCollapseTheBudget) {
  const AdaptationLabReport r = RunPreset("outage");
  const double before = MeanTarget(Between(r, 5, 10));
  for (const AdaptationSecond& s : Between(r, 10, 25)) {
    EXPECT_GE(s.target_kbps, 0.8 * before) << "at " << s.t_s << "\n" << Trace(r);
  }
  // Audio after the outage is clean again.
  for (const AdaptationSecond& s : Between(r, 16, 25)) EXPECT_LT(s.concealed_fraction, 0.02) << Trace(r);
}

TEST(AdaptationLabTest, AddressChangeKeepsTheBudget) {
  const AdaptationLabReport r = RunPreset("address-change");
  const double before = MeanTarget(Between(r, 5, 10));
  for (const AdaptationSecond& s : Between(r, 10, 25)) {
    EXPECT_GE(s.target_kbps, 0.6 * before) << "at " << s.t_s << "\n" << Trace(r);
  }
  EXPECT_GE(MeanTarget(Between(r, 20, 25)), 0.9 * before) << Trace(r);
}

// The "at most 12 kbit/s including overhead": 120 ms packets capped into the
// 128-byte bucket, so no one-second window of the looped speech (pauses and talk)
// exceeds 12 kbit/s on the wire with UDP/IPv4's 28 bytes counted, while the callee
// still hears it (nothing concealed on a clean path).
TEST(AdaptationLabTest, DataSavingStaysWithin12KbitPerSecondOnTheWire) {
  const AdaptationLabReport r = RunPreset("data-saving");
  for (const AdaptationSecond& s : Between(r, 2, 20)) {
    EXPECT_EQ(s.frame_ms, 120) << Trace(r);
    EXPECT_EQ(s.opus_bitrate_bps, 6000) << Trace(r);
    EXPECT_LE(s.wire_kbps, 12) << "at " << s.t_s << "\n" << Trace(r);
    EXPECT_LT(s.concealed_fraction, 0.01) << "at " << s.t_s << "\n" << Trace(r);
  }
  EXPECT_GT(r.max_window_wire_kbps, 8) << "the sliding window saw no speech";
  EXPECT_LE(r.max_window_wire_kbps, 12) << Trace(r);
  EXPECT_LT(r.mean_wire_kbps, 11) << Trace(r);
  EXPECT_GT(r.mean_mos, 2.5) << Trace(r);

}

}  // namespace
}  // namespace parley::call
