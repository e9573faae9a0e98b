// Gilbert-Elliott bursty packet loss: a two-state Markov chain stepped once per packet.
// Deterministic: all randomness comes from the Random the caller passes in.
#pragma once

#include "parley/base/random.h"

namespace parley::net {

// The "simple Gilbert" form of the Gilbert-Elliott model (E. N. Gilbert, "Capacity of
// a burst-noise channel", 1960; E. O. Elliott, 1963): state Good loses no packet, state
// Bad loses every packet, so a loss burst is exactly one stay in Bad.
//
// Derivation from the two numbers a user gives, average loss L (fraction) and mean
// burst length B (packets), with p = P(Good -> Bad) and r = P(Bad -> Good) per packet:
//   - A stay in Bad lasts k packets with probability (1-r)^(k-1) r (geometric), whose
//     mean is 1/r, so r = 1/B.
//   - The stationary share of Bad is p / (p + r); it must equal L, so
//     p = r L / (1 - L) = L / (B (1 - L)).
//   - p <= 1 needs B >= L / (1 - L) (e.g. B >= 1 up to 50% loss, B >= 4 for 80%).
//   - Bernoulli loss is the special case p + r = 1, i.e. B = 1 / (1 - L).
// L = 1 loses everything (B is then irrelevant); L = 0 loses nothing.
class GilbertElliott {
 public:
  // loss_fraction in [0, 1]; mean_burst_packets >= 1 and >= L / (1 - L) unless L is 0 or 1.
  GilbertElliott(double loss_fraction, double mean_burst_packets);

  // Changes the parameters from the next packet on; the current state is kept (a burst
  // in progress runs on), except that loss 0 ends it at once.
  void Set(double loss_fraction, double mean_burst_packets);

  // Decides the fate of the next packet: true if it is lost. The first call draws the
  // starting state from the stationary distribution, so the loss rate is unbiased.
  bool NextLost(Random& random);

  double p_good_to_bad() const { return p_; }
  double p_bad_to_good() const { return r_; }
  bool bad() const { return bad_; }

 private:
  double loss_ = 0;
  double p_ = 0;
  double r_ = 1;
  bool started_ = false;
  bool bad_ = false;
};

}  // namespace parley::net
