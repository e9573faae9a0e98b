// What the signaling load generator measured: set-up latencies, calls per second and
// failures by reason. Pure: the driver passes times in.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "parley/base/time.h"

namespace parley::load {

class LoadStats {
 public:
  void CallStarted() { ++started_; }
  // `latency`: invite sent to both parties' `relay` received.
  void CallSetUp(Duration latency) { latencies_ms_.push_back(ToMillis(latency)); }
  void Failed(const std::string& reason) { ++failures_[reason]; }

  uint64_t started() const { return started_; }
  uint64_t set_up() const { return latencies_ms_.size(); }
  uint64_t failed() const;
  const std::map<std::string, uint64_t>& failures() const { return failures_; }
  // The q-quantile (0..1, nearest rank) of set-up latency in ms; 0 with no calls.
  double LatencyQuantileMs(double q) const;

 private:
  uint64_t started_ = 0;
  mutable std::vector<double> latencies_ms_;  // sorted lazily by LatencyQuantileMs
  std::map<std::string, uint64_t> failures_;
};

}  // namespace parley::load
