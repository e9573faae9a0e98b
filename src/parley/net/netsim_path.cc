// Both directions of a simulated network path.
#include "parley/net/netsim_path.h"

#include <algorithm>
#include <utility>

namespace parley::net {

NetsimPath::NetsimPath(const NetsimSpec& spec, uint64_t seed, TimePoint start)
    : NetsimPath(spec, spec, seed, start) {}

NetsimPath::NetsimPath(NetsimSpec a_to_b, NetsimSpec b_to_a, uint64_t seed, TimePoint start)
    : a_to_b_(std::move(a_to_b), NetsimDeriveSeed(seed, 100), start),
      b_to_a_(std::move(b_to_a), NetsimDeriveSeed(seed, 101), start) {}

std::optional<TimePoint> NetsimPath::NextDeliveryTime() const {
  auto a = a_to_b_.NextDeliveryTime();
  auto b = b_to_a_.NextDeliveryTime();
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace parley::net
