// The E-model (ITU-T G.107) for one direction of a call: R = Ro - Is - Id - Ie,eff + A
// with the standard's default values for everything a terminal does not change.
#include "parley/call/quality_estimate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace parley::call {
namespace {

// Ro - Is with every G.107 default (Table 3): the best narrowband R.
constexpr double kDefaultRoMinusIs = 93.2;
constexpr double kAdvantage = 0;  // A: a fixed-line-like expectation

// Ie of Opus by bitrate. G.113 has no Opus entry. These values were set by hand (a
// smooth curve from ~34 at 6 kbit/s to 0 at 64 kbit/s, interpolated linearly in
// log(bitrate)); the bitrate controller ranks its choices with them. Derived from
// `parley lab`'s quality score on generated speech instead (clean link, 20 ms frames,
// MOS-LQO scaled so 64 kbit/s is G.107's 4.41, Ie = 93.2 - R(MOS)), Opus would get
// 59, 50, 35, 27, 21, 15, 12, 9, 0 at the same points (docs/benchmarks.md): harsher
// below 16 kbit/s. Adopting those needs the controller's frame-length preference
// retuned with them, which is left to do.
constexpr std::array<std::pair<int, double>, 9> kOpusIe = {{
    {6000, 34}, {8000, 27}, {10000, 22}, {12000, 18}, {16000, 12},
    {20000, 8}, {24000, 5}, {32000, 2}, {64000, 0},
}};

// Bpl of Opus with its PLC: assumed equal to G.113's 25.1 for G.711 with PLC (G.729A
// has ~19); not derived from measurements.
constexpr double kOpusBpl = 25.1;

}  // namespace

double DelayImpairment(double ta_ms) {
  if (ta_ms <= 100) return 0;
  // G.107 (7-27): X = lg(Ta/100) / lg 2; Idd = 25 {(1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2}.
  const double x = std::log10(ta_ms / 100.0) / std::log10(2.0);
  return 25.0 * (std::pow(1 + std::pow(x, 6), 1.0 / 6) - 3 * std::pow(1 + std::pow(x / 3, 6), 1.0 / 6) + 2);
}

double OpusIe(int bitrate_bps) {
  if (bitrate_bps <= kOpusIe.front().first) return kOpusIe.front().second;
  if (bitrate_bps >= kOpusIe.back().first) return kOpusIe.back().second;
  for (std::size_t i = 1; i < kOpusIe.size(); ++i) {
    if (bitrate_bps <= kOpusIe[i].first) {
      const auto [b0, ie0] = kOpusIe[i - 1];
      const auto [b1, ie1] = kOpusIe[i];
      const double t = std::log(static_cast<double>(bitrate_bps) / b0) / std::log(static_cast<double>(b1) / b0);
      return ie0 + t * (ie1 - ie0);
    }
  }
  return kOpusIe.back().second;
}

double OpusBpl() { return kOpusBpl; }

double MosFromR(double r) {
  if (r <= 0) return 1.0;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

QualityEstimate EstimateQuality(const QualityInputs& in) {
  const double ie = OpusIe(in.opus_bitrate_bps);
  const double ppl = std::clamp(in.loss_after_recovery, 0.0, 1.0) * 100;
  const double burst = std::max(1.0, in.burst_ratio);
  // G.107 (7-29): Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl).
  const double ie_eff = ie + (95 - ie) * ppl / (ppl / burst + kOpusBpl);
  QualityEstimate estimate;
  estimate.r_factor = std::clamp(
      kDefaultRoMinusIs - DelayImpairment(std::max(0.0, in.one_way_delay_ms)) - ie_eff + kAdvantage, 0.0, 100.0);
  estimate.mos = MosFromR(estimate.r_factor);
  return estimate;
}

}  // namespace parley::call
