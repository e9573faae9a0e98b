// Loss protection levels: none → Opus FEC → full copies of the previous two frames.
#include "parley/call/loss_protection_policy.h"

#include <algorithm>
#include <cmath>

namespace parley::call {

int LossProtectionPolicy::LevelFor(double loss) const {
  if (loss > thresholds_.copies_above) return 2;
  if (loss > thresholds_.fec_above) return 1;
  return 0;
}

LossProtection LossProtectionPolicy::ProtectionAt(int level, double loss) {
  LossProtection p;
  if (level == 1) {
    p.fec = true;
    // Opus spends more on FEC the more loss it expects.
    p.fec_expected_loss_percent = std::clamp(static_cast<int>(std::ceil(loss * 100)), 1, 25);
  }
  if (level == 2) p.redundant_distances = {1, 2};
  return p;
}

const LossProtection& LossProtectionPolicy::OnLossReport(double loss_fraction) {
  loss_fraction = std::clamp(loss_fraction, 0.0, 1.0);
  // Rise fast, fall slowly: one bad interval is enough to protect, one good is not
  // enough to stop.
  smoothed_loss_ = loss_fraction > smoothed_loss_ ? loss_fraction
                                                  : 0.7 * smoothed_loss_ + 0.3 * loss_fraction;
  const int wanted = LevelFor(smoothed_loss_);
  if (wanted > level_) {
    level_ = wanted;
    calm_reports_ = 0;
  } else if (LevelFor(loss_fraction) >= level_) {
    calm_reports_ = 0;  // this report still needs the level
  } else if (++calm_reports_ >= thresholds_.calm_reports_to_step_down) {
    // Calm is what the reports say, not the smoothed loss: counting from when that fell
    // under the level (3-4 reports after 15 % loss ends) kept 60 ms frames and copies
    // for 10 s on a link that had got clean. Down to what the smoothed loss still asks
    // for (5 calm reports after 15 %: FEC, 5 more: nothing).
    level_ = wanted;
    calm_reports_ = 0;
  }
  current_ = ProtectionAt(level_, smoothed_loss_);
  return current_;
}

}  // namespace parley::call
