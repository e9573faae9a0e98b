// What the receiver sees of the media it gets, per report interval: which sequence
// numbers were expected and how many arrived (before any recovery), and, from arrival
// times against the frames' capture timestamps, interarrival jitter, a queueing-delay
// estimate and the received bitrate. Feeds the receiver and quality reports.
#pragma once

#include <deque>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "parley/base/time.h"

namespace parley::call {

// One interval's figures, as carried back to the sender in a receiver report.
struct LossReport {
  uint32_t expected = 0;  // packets the sequence numbers say were sent in the interval
  uint32_t received = 0;  // distinct packets that arrived (duplicates not counted)
  // Packets missing across a silence of kOutageGap or more: an outage, left to path
  // recovery (ConnectivityMonitor), not loss. Not in `expected`: FEC and copies cover a
  // frame or three, so a sender that read a 3 s outage as 99 % loss would buy heavy
  // redundancy, longer frames and, at the receiver, a jitter buffer grown to wait for
  // copies, all for a network that is clean again.
  uint32_t outage_packets = 0;
  double loss_fraction() const {
    return expected == 0 ? 0.0 : 1.0 - static_cast<double>(received) / expected;
  }
  // From OnArrival (all 0 when it was never called).
  double jitter_ms = 0;        // RFC 3550 §6.4.1 interarrival jitter, at the interval's end
  double queue_delay_ms = 0;   // mean relative one-way delay in the interval minus the
                               // lowest seen over the last kBaseDelayWindow
  uint64_t bytes = 0;          // wire bytes that arrived in the interval (as given)
  // The far end's Opus bitrate while it sends (DTX pauses excluded): primary frame
  // bytes over the audio they carry; 0 when nothing arrived.
  double opus_bitrate_bps = 0;
  int frame_ms = 0;            // the newest packet's frame length (its Opus TOC)
};

// Counts by 16-bit sequence number with wrap; a late packet from an earlier interval
// is counted as received in the interval it arrives in (as RTCP does, RFC 3550 A.3).
// Single-threaded: the call's media thread.
class ReceiveStatistics {
 public:
  // No packet for this long, then a jump in sequence numbers: the packets in the jump
  // went missing in an outage (the connectivity monitor says "reconnecting" after 1 s).
  static constexpr Duration kOutageGap = seconds(1);

  // The one-way delay baseline is the lowest seen over this long (by arrival time, not
  // by intervals: in trouble reports come every 250 ms, and ten of those let a standing
  // queue become the baseline in 2.5 s): long enough that a queue the sender keeps
  // standing shows, short enough that a path whose base delay grew (a longer route, a
  // handover) stops looking congested.
  static constexpr Duration kBaseDelayWindow = seconds(10);

  // A packet with this sequence number arrived at `arrival` (local time).
  void OnPacket(uint16_t sequence, TimePoint arrival);
  // Timing of one media packet: `timestamp` is its primary frame's capture time in
  // 48 kHz samples (wraps), `frame_samples` that frame's own length (from its Opus TOC;
  // <= 0 if unreadable: the last one's is kept), `bytes` what it cost on the wire,
  // `primary_bytes` the size of its primary Opus frame, `arrival` the local time.
  // The relative delay arrival - capture has an unknown clock offset, but its changes
  // are the changes of the one-way delay.
  void OnArrival(uint32_t timestamp, int frame_samples, std::size_t bytes, std::size_t primary_bytes,
                 TimePoint arrival);
  // The figures since the last call, and starts a new interval.
  LossReport TakeInterval();

 private:
  std::optional<int64_t> highest_;  // unwrapped
  int64_t interval_base_ = 0;      // highest unwrapped sequence at the last report
  uint32_t received_in_interval_ = 0;
  uint32_t outage_packets_in_interval_ = 0;
  std::optional<TimePoint> last_packet_arrival_;
  uint64_t recent_seen_ = 0;  // bit i: highest_ - i arrived; detects duplicates within 64

  // Arrival timing. Relative delays are in ms with an arbitrary origin.
  std::optional<int64_t> last_timestamp_;  // unwrapped, samples
  double last_relative_delay_ms_ = 0;
  double jitter_ms_ = 0;
  double delay_sum_ms_ = 0;  // this interval
  uint32_t delay_count_ = 0;
  std::optional<double> interval_min_delay_ms_;
  std::optional<TimePoint> last_arrival_;  // of any packet with timing
  struct IntervalMinimum {
    TimePoint at;  // the interval's last arrival
    double delay_ms;
  };
  std::deque<IntervalMinimum> interval_minima_;  // within kBaseDelayWindow of the newest
  uint64_t bytes_in_interval_ = 0;
  uint64_t primary_bytes_in_interval_ = 0;
  int64_t audio_samples_in_interval_ = 0;
  int64_t frame_samples_ = 0;  // the newest packet's frame length
};

}  // namespace parley::call
