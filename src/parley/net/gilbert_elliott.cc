// Gilbert-Elliott bursty loss (derivation in gilbert_elliott.h).
#include "parley/net/gilbert_elliott.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::net {

GilbertElliott::GilbertElliott(double loss_fraction, double mean_burst_packets) {
  Set(loss_fraction, mean_burst_packets);
}

void GilbertElliott::Set(double loss_fraction, double mean_burst_packets) {
  PARLEY_CHECK_MSG(loss_fraction >= 0 && loss_fraction <= 1, "loss fraction must be in [0, 1]");
  PARLEY_CHECK_MSG(mean_burst_packets >= 1, "mean burst must be at least one packet");
  loss_ = loss_fraction;
  if (loss_fraction <= 0) {
    p_ = 0;
    r_ = 1;
    bad_ = false;  // no loss means none, not the tail of a burst
    return;
  }
  if (loss_fraction >= 1) {
    p_ = 1;
    r_ = 0;
    return;
  }
  r_ = 1 / mean_burst_packets;
  p_ = r_ * loss_fraction / (1 - loss_fraction);
  // Allow rounding at the edge; the parser rejects bursts that are really too short.
  PARLEY_CHECK_MSG(p_ <= 1 + 1e-6, "mean burst too short for this loss rate");
  p_ = std::min(p_, 1.0);
}

bool GilbertElliott::NextLost(Random& random) {
  if (!started_) {
    started_ = true;
    bad_ = random.Chance(loss_);
  } else if (bad_) {
    bad_ = !random.Chance(r_);
  } else {
    bad_ = random.Chance(p_);
  }
  return bad_;
}

}  // namespace parley::net
