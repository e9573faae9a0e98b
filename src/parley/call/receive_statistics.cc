// Interval loss counting by sequence number (RFC 3550 appendix A.3, simplified).
#include "parley/call/receive_statistics.h"

namespace parley::call {

void ReceiveStatistics::OnPacket(uint16_t sequence) {
  if (!highest_) {
    highest_ = sequence;
    interval_base_ = static_cast<int64_t>(sequence) - 1;
    recent_seen_ = 1;
    ++received_in_interval_;
    return;
  }
  // Unwrap relative to the highest seen: the nearest value with these low 16 bits.
  const int64_t delta = static_cast<int16_t>(static_cast<uint16_t>(sequence - static_cast<uint16_t>(*highest_)));
  const int64_t unwrapped = *highest_ + delta;
  if (delta > 0) {
    recent_seen_ = delta >= 64 ? 0 : recent_seen_ << delta;
    recent_seen_ |= 1;
    highest_ = unwrapped;
  } else {
    const int64_t age = -delta;
    if (age >= 64) return;  // too old to tell from a duplicate: ignore
    const uint64_t bit = uint64_t{1} << age;
    if (recent_seen_ & bit) return;  // duplicate
    recent_seen_ |= bit;
  }
  ++received_in_interval_;
}

LossReport ReceiveStatistics::TakeInterval() {
  LossReport report;
  if (highest_) {
    const int64_t expected = *highest_ - interval_base_;
    report.expected = static_cast<uint32_t>(expected > 0 ? expected : 0);
    report.received = received_in_interval_;
    if (report.received > report.expected) report.expected = report.received;  // late arrivals
    interval_base_ = *highest_;
  }
  received_in_interval_ = 0;
  return report;
}

}  // namespace parley::call
