// Loss as the receiver sees it, per report interval: which sequence numbers were
// expected and how many arrived (before any recovery). Feeds the receiver reports.
#pragma once

#include <cstdint>
#include <optional>

namespace parley::call {

// One interval's figures, as carried back to the sender in a receiver report.
struct LossReport {
  uint32_t expected = 0;  // packets the sequence numbers say were sent in the interval
  uint32_t received = 0;  // distinct packets that arrived (duplicates not counted)
  double loss_fraction() const {
    return expected == 0 ? 0.0 : 1.0 - static_cast<double>(received) / expected;
  }
};

// Counts by 16-bit sequence number with wrap; a late packet from an earlier interval
// is counted as received in the interval it arrives in (as RTCP does, RFC 3550 A.3).
class ReceiveStatistics {
 public:
  void OnPacket(uint16_t sequence);
  // The figures since the last call, and starts a new interval.
  LossReport TakeInterval();

 private:
  std::optional<int64_t> highest_;  // unwrapped
  int64_t interval_base_ = 0;      // highest unwrapped sequence at the last report
  uint32_t received_in_interval_ = 0;
  uint64_t recent_seen_ = 0;  // bit i: highest_ - i arrived; detects duplicates within 64
};

}  // namespace parley::call
