// Chooses what the sender sends (Opus bitrate, frame length, FEC, redundant copies) from
// the peer's quality reports and the round-trip time, so that a call uses what the path
// carries without building a queue. Logic without I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "parley/base/time.h"
#include "parley/call/control_message.h"
#include "parley/call/loss_protection_policy.h"

namespace parley::call {

struct BitrateControllerConfig {
  // Wire rates, bit/s, counting everything a packet costs: sealed packet (header, tag,
  // padding bucket) plus UDP/IPv4 (28 bytes).
  double start_wire_bps = 64000;
  double min_wire_bps = 12000;
  double max_wire_bps = 64000;
  double data_saving_wire_bps = 12000;
  int udp_ip_overhead_bytes = 28;
  Duration report_interval = seconds(1);
  bool data_saving = false;  // the local user's --data-saving
};

// What the sender uses from now on. `frame_ms` changes take effect at a frame boundary.
struct MediaSettings {
  int opus_bitrate_bps = 24000;  // 6000..64000
  int frame_ms = 20;             // 20, 40 or 60; 120 in data-saving mode
  int max_opus_bytes = 0;        // cap on one Opus packet (0: none); data saving keeps
                                 // every packet in one padding bucket with it
  LossProtection protection;
  bool dtx = false;              // on in data-saving mode
  double budget_wire_bps = 0;    // the wire budget these were chosen for
  double expected_wire_bps = 0;  // what they should cost on the wire with steady VBR
  bool operator==(const MediaSettings&) const = default;
};

// The controller, after GCC (draft-ietf-rmcat-gcc-02) in spirit, on once-a-second
// reports rather than per-packet feedback:
//  - the budget is the whole wire: media and our control packets (reports, four a second
//    in trouble, are a sixth of a 24 kbit/s link); media gets what control leaves.
//  - delay first: the peer reports the queueing delay of our media (one-way delay over
//    its recent minimum). A queue that grows (>= 40 ms and rising, or >= 40 ms with
//    what arrives clearly below what we sent and loss) means we exceed the bottleneck:
//    the budget drops to 85 % of what the peer received (a real bandwidth estimate,
//    where libtgvoip stepped 1 kbit/s a second; less one packet, which a short report
//    interval may hold too many), or lower, enough to drain the reported queue within
//    a second, once per report. The bottleneck (below) is then replaced by what arrived
//    over the whole span the queue stood (>= 750 ms; the queue counted over one packet's
//    serialization at the bottleneck, which the peer's older baseline lacks). If the
//    queue still stands then, and the budget is below the 60 ms floor (16.5 kbit/s on
//    the wire), media drops to data saving's 120 ms packets (10.4 kbit/s) until a fluid
//    model of the queue at that rate says it is gone (at most 2 s), and the budget
//    comes back to 85 % of the bottleneck. A delay that stays flat for
//    2 s while everything arrives is no queue (a slower link's longer serialization, a
//    longer route): it is taken off the reported queue.
//  - a queue of 25–40 ms, or one that is high but flat (a longer route, not our queue):
//    hold.
//  - otherwise grow: +20 % a second, never above 1.5x what we actually sent (silence
//    and DTX don't count as headroom). Below a bottleneck we know (the rate that
//    arrived at a cut where under 70 % of what we sent arrived: a delay step delivers
//    everything and leaves no ceiling; a later cut without that evidence keeps it),
//    only up to 85 % of it: sitting under it keeps a queue from standing.
//  - whether it has lifted we learn from probes, every 4 s while the queue is quiet:
//    up to 500 ms at 125 % of it with the same settings, from its first packet, the media
//    packets padded up to that rate (VBR speech sends less than its budget, in pauses
//    much less, and a probe must send what it tests), the padding never more than 30 ms
//    of its base ahead nor 1.5 frames at its rate in one packet. A probe is
//    judged on the queue it would have left were the bottleneck still there (a fluid
//    queue fed with what we actually sent): still there if the peer's mean rose by half
//    that prediction (at most 8 ms, at least 3), and then no cut for it; a probe that
//    predicts under 6 ms (DTX silence), carried no more than its base, or ran while the
//    peer's reported delay fell by over 15 ms (its 10 s baseline moved: a probe's queue
//    hides in that) proves nothing and is retried 1 s later; it is judged on a report
//    ending 150 ms after it at the earliest. A clean one is followed at once by one 125 %
//    above what it carried, the budget staying under the old ceiling; three clean in a
//    row mean it lifted (each proves only ~6 % more than its base): forget it, start from
//    what the last carried and grow by 50 % a second (no longer held to 1.5x what speech
//    sends: the probes backed it) until the next congestion.
//  - loss alone never lowers the budget: random loss is met with protection
//    (LossProtectionPolicy, fed per second, and only loss seen without a queue, since
//    loss with a queue is our own overflow; a clean second also under a flat delay we
//    took off), whose copies come out of the same budget.
//  - no report (an outage, a handover, or reports lost in our own queue): nothing
//    changes for 4 intervals; then, while we keep sending, 70 % of the budget every 4
//    intervals. A 3 s outage costs nothing; a flood that drowns the reports ends.
// The budget is then spent (ChooseSettings) on the frame length and Opus bitrate that
// give the best E-model equipment impairment, counting padding buckets and UDP/IP, with
// a small preference for shorter frames (latency).
// Data saving (local, or asked for by the peer's flag): budget capped at 12 kbit/s,
// 120 ms packets at 6 kbit/s capped at 96 bytes of Opus, so that every packet seals
// into the 128-byte bucket: (128 + 28) x 8 / 0.12 s = 10.4 kbit/s on the wire while
// talking, 11.2 at most in any one-second window (9 packets), less with DTX in pauses.
// Single-threaded: the call's media thread. `now` never goes backwards.
class BitrateController {
 public:
  explicit BitrateController(BitrateControllerConfig config = {});

  // Every media packet we send: its sealed size in bytes.
  void OnPacketSent(std::size_t sealed_bytes, TimePoint now);
  // Every control packet we send on the call's path (reports, bye): they cross the same
  // bottleneck, and the budget pays for them (media gets what they leave).
  void OnControlSent(std::size_t sealed_bytes, TimePoint now);
  // The newest round-trip time measurement.
  void OnRtt(double rtt_ms) { rtt_ms_ = rtt_ms; }
  // The loss the peer reported in a 0x01 receiver report. Used for protection only and
  // only while the peer sends no quality reports (an older peer).
  const MediaSettings& OnReceiverReportLoss(double loss_fraction, TimePoint now);
  // Timers: the feedback timeout. Every ~10 ms.
  const MediaSettings& OnTick(TimePoint now);
  // The peer's quality report on what we send.
  const MediaSettings& OnQualityReport(const QualityReport& report, TimePoint now);

  const MediaSettings& settings() const { return settings_; }
  double target_wire_bps() const { return target_wire_bps_; }
  bool data_saving() const { return config_.data_saving || peer_wants_data_saving_; }
  // The rate of the newest congestion, if we know a bottleneck.
  std::optional<double> known_bottleneck_wire_bps() const { return congested_at_wire_bps_; }
  // The wire rate a running probe sends at (bit/s), if one runs.
  std::optional<double> probe_wire_bps() const {
    return probe_ && !probe_->ended ? std::optional<double>(probe_->rate_bps) : std::nullopt;
  }
  // The sealed size (bytes) to pad the media packet sent at `now` to at least (0: as
  // small as the padding policy allows): while a probe runs, what keeps it sending at
  // its rate whatever the speech (PacketSealer pads to the next bucket up; what went
  // over is owed back by the next packets).
  std::size_t ProbePaddingFloor(TimePoint now) const;
  // What we sent on the wire over the last report interval, media and control (stats).
  double SentWireBps(TimePoint now) const;

  // The best settings for a wire budget with this protection (pure; for tests and the
  // lab). `current_frame_ms` gets a small hysteresis so frame length does not flap.
  static MediaSettings ChooseSettings(double budget_wire_bps, const LossProtection& protection, bool data_saving,
                                      int current_frame_ms, int udp_ip_overhead_bytes);

 private:
  enum class Packets { kAll, kMedia };
  double SentWireBitsBetween(TimePoint from, TimePoint to, Packets which = Packets::kAll) const;
  // The rise in the peer's mean queueing delay (ms) over [from, to) that the running
  // probe would cause if the known bottleneck were still there.
  double PredictedProbeQueueMs(TimePoint from, TimePoint to) const;
  double SentWireBpsBetween(TimePoint from, TimePoint to, Packets which = Packets::kAll) const;
  void MaybeStartProbe(double queue_ms, double raw_queue_ms, TimePoint now);
  void EndProbe(TimePoint now);  // stops its padding; its report is still awaited
  double SentSealedBpsBetween(TimePoint from, TimePoint to) const;  // media only
  double SentPacketsBetween(TimePoint from, TimePoint to) const;    // media only
  void Choose(TimePoint now);
  // What our control packets (reports, bye) cost on the wire over the last report
  // interval (bit/s).
  double ControlWireBps(TimePoint now) const;
  // What the floor's settings (60 ms at 6 kbit/s) and our control packets cost on the
  // wire (bit/s): no cut goes below it.
  double FloorWireBps(TimePoint now) const;
  // What the standing queue a cut found still holds (bits; <= 0: gone).
  double DrainRemainingBits(TimePoint now) const;
  void MaybeEndDrain(TimePoint now);
  void Record(std::size_t sealed_bytes, TimePoint now, bool media);

  struct Sent {
    TimePoint at;
    std::size_t sealed_bytes;
    bool media = true;  // else control
  };

  BitrateControllerConfig config_;
  LossProtectionPolicy policy_;
  MediaSettings settings_;
  double target_wire_bps_;
  std::optional<double> rtt_ms_;
  std::optional<double> last_queue_delay_ms_;
  std::optional<double> congested_at_wire_bps_;
  std::optional<TimePoint> last_decrease_;
  std::optional<TimePoint> last_feedback_;  // newest quality report, or the last timeout cut
  bool peer_sends_quality_ = false;
  bool peer_wants_data_saving_ = false;
  std::deque<Sent> sent_;  // the last few seconds of packets sent, media and control
  double loss_weighted_ = 0;  // loss x seconds, not yet given to the policy
  double loss_seconds_ = 0;
  double wire_overshoot_ = 1.0;  // smoothed sent / expected wire rate (VBR over buckets)
  // A probe above the known bottleneck: running until `end`, then waiting for the report
  // that covers it.
  struct Probe {
    TimePoint start;
    TimePoint end;
    double queue_before_ms = 0;
    double raw_before_ms = 0;    // as the peer reported it (no flat delay taken off)
    bool baseline_moved = false;  // the peer's reported delay fell under it: no proof
    double base_bps = 0;   // what it tests above: the known bottleneck, or what the last
                           // clean probe carried; bounds the queue it may build
    double rate_bps = 0;   // what it sends on the wire, padding included
    bool sent_any = false;  // start and end count from its first packet
    bool ended = false;
  };
  std::optional<Probe> probe_;
  TimePoint next_probe_at_{};
  bool fast_growth_ = false;  // probes showed the bottleneck lifted
  int clean_probes_ = 0;      // probes in a row that sent above it without a queue
  std::optional<double> proven_wire_bps_;  // what the last of those carried
  struct QueueSample {
    TimePoint at;
    double queue_ms;
    bool no_loss;
    double received_bits;  // media, wire
    double sent_bits;
  };
  std::deque<QueueSample> recent_queues_;  // reports of the last ~3 s
  double queue_offset_ms_ = 0;  // a flat delay taken off the reported queue
  // Since the last cut, while the reported queue stood: bits our packets got through
  // (wire), over how long, and one packet's share (edge error of the span).
  double busy_bits_ = 0;
  double busy_seconds_ = 0;
  double busy_packet_bits_ = 0;
  bool busy_from_cut_ = false;
  // After a cut that found a standing queue: a fluid model of it, served at the
  // estimated bottleneck from the end of the report's interval; until it is empty (or
  // kMaxDrain) media may go below the 60 ms floor.
  struct Drain {
    TimePoint from;
    TimePoint deadline;
    double queue_bits = 0;
    double rate_bps = 0;
  };
  std::optional<Drain> drain_;
};

}  // namespace parley::call
