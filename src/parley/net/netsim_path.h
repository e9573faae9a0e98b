// Both directions of a simulated network path: two NetsimLinks with independent
// randomness, for tests and the lab that need a caller and a callee.
#pragma once

#include <cstdint>
#include <optional>

#include "parley/base/time.h"
#include "parley/net/netsim_link.h"
#include "parley/net/netsim_spec.h"

namespace parley::net {

// Deterministic for a seed, like NetsimLink; the two links draw from unrelated streams
// of it. Outages and steps in a shared spec hit both directions at the same times.
class NetsimPath {
 public:
  // The same conditions both ways.
  NetsimPath(const NetsimSpec& spec, uint64_t seed, TimePoint start);
  NetsimPath(NetsimSpec a_to_b, NetsimSpec b_to_a, uint64_t seed, TimePoint start);

  NetsimLink& a_to_b() { return a_to_b_; }
  NetsimLink& b_to_a() { return b_to_a_; }
  const NetsimLink& a_to_b() const { return a_to_b_; }
  const NetsimLink& b_to_a() const { return b_to_a_; }

  // The earlier of the two links' next deliveries.
  std::optional<TimePoint> NextDeliveryTime() const;

 private:
  NetsimLink a_to_b_;
  NetsimLink b_to_a_;
};

}  // namespace parley::net
