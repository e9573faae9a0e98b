// Interval loss counting by sequence number (RFC 3550 appendix A.3, simplified), and
// arrival timing: jitter (RFC 3550 §6.4.1), queueing delay over a sliding minimum.
#include "parley/call/receive_statistics.h"

#include <algorithm>
#include <cmath>

namespace parley::call {

void ReceiveStatistics::OnPacket(uint16_t sequence, TimePoint arrival) {
  const bool after_outage = last_packet_arrival_ && arrival - *last_packet_arrival_ >= kOutageGap;
  last_packet_arrival_ = arrival;
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
    if (after_outage) outage_packets_in_interval_ += static_cast<uint32_t>(delta - 1);
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

void ReceiveStatistics::OnArrival(uint32_t timestamp, int frame_samples, std::size_t bytes,
                                  std::size_t primary_bytes, TimePoint arrival) {
  bytes_in_interval_ += bytes;
  last_arrival_ = arrival;
  int64_t unwrapped = timestamp;
  if (last_timestamp_) {
    const auto delta = static_cast<int32_t>(timestamp - static_cast<uint32_t>(*last_timestamp_));
    unwrapped = *last_timestamp_ + delta;
  }
  // The packet's own length, not the timestamp step from the one before: that step is
  // the previous frame's length plus any DTX gap, so after a pause or a shorter frame it
  // put one capture end too late, and its too-low delay became the baseline for 10 s,
  // every later packet reading as queued by the difference (40-100 ms).
  if (frame_samples > 0) frame_samples_ = frame_samples;
  // A packet leaves when its frame's LAST sample is captured: measure from there, so a
  // change of frame length does not look like a change of delay.
  if (frame_samples_ > 0) {
    primary_bytes_in_interval_ += primary_bytes;
    audio_samples_in_interval_ += frame_samples_;
  }
  const double capture_ms = static_cast<double>(unwrapped + frame_samples_) / 48.0;
  const double relative_ms = ToMillis(arrival.time_since_epoch()) - capture_ms;
  if (last_timestamp_) {
    // RFC 3550 §6.4.1: J += (|D(i-1,i)| - J) / 16, in arrival order.
    const double d = std::abs(relative_ms - last_relative_delay_ms_);
    jitter_ms_ += (d - jitter_ms_) / 16.0;
  }
  last_timestamp_ = unwrapped;
  last_relative_delay_ms_ = relative_ms;
  delay_sum_ms_ += relative_ms;
  ++delay_count_;
  interval_min_delay_ms_ = interval_min_delay_ms_ ? std::min(*interval_min_delay_ms_, relative_ms) : relative_ms;
}

LossReport ReceiveStatistics::TakeInterval() {
  LossReport report;
  report.jitter_ms = jitter_ms_;
  report.bytes = bytes_in_interval_;
  bytes_in_interval_ = 0;
  report.frame_ms = static_cast<int>(frame_samples_ / 48);
  if (audio_samples_in_interval_ > 0) {
    report.opus_bitrate_bps = static_cast<double>(primary_bytes_in_interval_) * 8 * 48000 /
                              static_cast<double>(audio_samples_in_interval_);
  }
  primary_bytes_in_interval_ = 0;
  audio_samples_in_interval_ = 0;
  if (interval_min_delay_ms_ && last_arrival_) {
    interval_minima_.push_back({*last_arrival_, *interval_min_delay_ms_});
    while (interval_minima_.front().at < *last_arrival_ - kBaseDelayWindow) interval_minima_.pop_front();
    double base = *interval_min_delay_ms_;
    for (const IntervalMinimum& m : interval_minima_) base = std::min(base, m.delay_ms);
    report.queue_delay_ms = std::max(0.0, delay_sum_ms_ / delay_count_ - base);
  }
  delay_sum_ms_ = 0;
  delay_count_ = 0;
  interval_min_delay_ms_.reset();
  if (highest_) {
    const int64_t expected = *highest_ - interval_base_ - outage_packets_in_interval_;
    report.outage_packets = outage_packets_in_interval_;
    report.expected = static_cast<uint32_t>(expected > 0 ? expected : 0);
    report.received = received_in_interval_;
    if (report.received > report.expected) report.expected = report.received;  // late arrivals
    interval_base_ = *highest_;
  }
  received_in_interval_ = 0;
  outage_packets_in_interval_ = 0;
  return report;
}

}  // namespace parley::call
