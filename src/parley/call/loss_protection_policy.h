// Chooses how the sender protects audio against loss (Opus in-band FEC, copies of
// older frames) from the loss the receiver reports. Logic without I/O.
#pragma once

#include <vector>

namespace parley::call {

struct LossProtection {
  bool fec = false;                // Opus in-band FEC: a coarse copy of frame N-1 in N
  int fec_expected_loss_percent = 0;
  // Older frames repeated in full, as distances back from the newest (1 = previous).
  std::vector<int> redundant_distances;

  bool operator==(const LossProtection&) const = default;
};

// Three levels, chosen from the loss the receiver reports:
//  - none, below 1%: protection costs bits, and FEC costs quality (below).
//  - Opus FEC, 1–4%: cheap (same bitrate), but libopus makes room for it by coding a
//    narrower band, which the lab scores ~0.4 MOS lower on a clean channel; at this loss
//    that is about what PLC alone would cost, and FEC avoids the glitches.
//  - full copies of the previous two frames, above 4%: a frame is then lost only when
//    three packets in a row are, and every recovered frame is full quality. It triples
//    the payload bitrate; measured in the lab (docs/benchmarks.md) it holds 10% random
//    loss to ~0.3% concealed and the quality score to within ~0.1 of a clean call,
//    where FEC plus one copy lost ~0.8. FEC on top of copies adds nothing, since the
//    copy at distance 1 is a better version of what FEC carries.
// Steps up at once when loss rises (a lost second of a call is audible) and steps
// down only after several calm reports in a row (each one's own loss under the level's
// threshold), to what the smoothed loss still asks for.
class LossProtectionPolicy {
 public:
  struct Thresholds {
    double fec_above = 0.01;     // loss fraction that turns FEC on
    double copies_above = 0.04;  // ... that switches to full copies of two frames
    int calm_reports_to_step_down = 5;
  };

  LossProtectionPolicy() : LossProtectionPolicy(Thresholds{}) {}
  explicit LossProtectionPolicy(Thresholds thresholds) : thresholds_(thresholds) {}

  // A receiver report's loss fraction (0..1, before recovery). Returns the protection
  // to use from now on.
  const LossProtection& OnLossReport(double loss_fraction);
  const LossProtection& current() const { return current_; }

 private:
  int LevelFor(double loss_fraction) const;
  static LossProtection ProtectionAt(int level, double loss_fraction);

  Thresholds thresholds_;
  LossProtection current_;
  int level_ = 0;
  int calm_reports_ = 0;
  double smoothed_loss_ = 0;
};

}  // namespace parley::call
