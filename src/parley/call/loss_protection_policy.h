// Chooses how the sender protects audio against loss (Opus in-band FEC, copies of
// older frames) from the loss the receiver reports. Logic without I/O.
#pragma once

#include <vector>

namespace parley::call {

struct LossProtection {
  bool fec = false;                // Opus in-band FEC: a coarse copy of frame N-1 in N
  int fec_expected_loss_percent = 0;
  // Older frames repeated in full, as distances back from the newest (1 = previous).
  // FEC already covers distance 1, so with FEC on, copies start at distance 2: a
  // frame is then lost only if three packets in a row are.
  std::vector<int> redundant_distances;

  bool operator==(const LossProtection&) const = default;
};

// Steps up at once when loss rises (a lost second of a call is audible) and steps
// down only after several calm reports (protection costs bits, not quality).
class LossProtectionPolicy {
 public:
  struct Thresholds {
    double fec_above = 0.01;         // loss fraction that turns FEC on
    double one_copy_above = 0.04;    // ... adds a full copy two frames back
    double two_copies_above = 0.25;  // ... adds the previous frame in full too
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
