// LoadStats: counters and nearest-rank quantiles.
#include "load_stats.h"

#include <algorithm>
#include <cmath>

namespace parley::load {

uint64_t LoadStats::failed() const {
  uint64_t total = 0;
  for (const auto& [reason, count] : failures_) total += count;
  return total;
}

double LoadStats::LatencyQuantileMs(double q) const {
  if (latencies_ms_.empty()) return 0;
  std::sort(latencies_ms_.begin(), latencies_ms_.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies_ms_.size())));
  return latencies_ms_[std::clamp<size_t>(rank, 1, latencies_ms_.size()) - 1];
}

}  // namespace parley::load
