// The bitrate controller: a delay-based budget (queueing delay and received rate from
// the peer's reports) spent on Opus bitrate, frame length and loss protection.
#include "parley/call/bitrate_controller.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "parley/call/quality_estimate.h"
#include "parley/crypto/padding_policy.h"

namespace parley::call {
namespace {

constexpr double kQueueCongestedMs = 40;   // at or above, with a rising trend: congested
constexpr double kQueueRisingMs = 5;       // rise between two reports that counts as a trend
constexpr double kQueueQuietMs = 25;       // below: room to grow
constexpr double kDecreaseFactor = 0.85;   // of the received rate, on congestion
constexpr Duration kDrainTime = seconds(1);  // a cut leaves room to drain the queue in this
constexpr double kMaxDrainShare = 0.5;     // but never cuts below half of what arrived
constexpr double kIncreaseFactor = 1.20;   // per second, away from a known bottleneck
constexpr double kFastIncreaseFactor = 1.5;  // per second, once a probe showed it lifted
// A known bottleneck: stay below it, and probe above it rarely and briefly.
constexpr double kBelowBottleneck = 0.85;  // of the rate that last congested: the ceiling
constexpr double kProbeFactor = 1.25;      // of that rate: what a probe sends (padded)
constexpr Duration kProbeDuration = milliseconds(500);
constexpr Duration kProbeInterval = seconds(4);  // after a probe that found it there
// A probe is judged on the queue it would have built at the known bottleneck (from what
// was actually sent, padding included): the bottleneck is still there if the reported
// queue rose by 8 ms, or by half that prediction when that is less (quiet speech drains
// a probe's queue fast), but at least kProbeMinRiseMs; a probe whose predicted rise is
// under kProbeMinPredictedMs proves nothing.
constexpr double kProbeQueueRiseMs = 8;
constexpr double kProbeEvidenceShare = 0.5;
constexpr double kProbeMinRiseMs = 3;
constexpr double kProbeMinPredictedMs = 6;
// A probe is judged on a report whose interval ends this long after it: at the old
// bottleneck its queue is still there then; one ending with the probe shows little.
constexpr Duration kProbeSettle = milliseconds(150);
constexpr double kBottleneckEvidence = 0.7;  // received over sent, at a cut
// A reported queue that stays within kFlatBandMs over kFlatSpan with everything arriving:
// a longer path, not a queue.
constexpr Duration kFlatSpan = seconds(2);
constexpr double kFlatBandMs = 15;
// At or above this (over the serialization of one of our packets at the known rate,
// which the peer's baseline from before the bottleneck does not hold) the bottleneck is
// busy all interval: what arrives is its rate.
constexpr double kBusyQueueMs = 60;
// Over this much of it, what arrived is the bottleneck's estimate (up or down: one short
// report's is a packet off either way). Not 90 % of it: probes reach only ~6 % above
// their base each, and three clean in a row mean it lifted, so an estimate 10 % low
// would let probes still under the link "prove" it lifted.
constexpr Duration kBusySpanForEstimate = milliseconds(750);
// Sending under this share of a known bottleneck, a rising queue under kUnderKnownQueueMs
// is not ours.
constexpr double kUnderKnown = 0.9;
constexpr double kUnderKnownQueueMs = 100;
// Clean probes in a row: it has lifted. Each carries ~6 % above its base (its padding
// never 30 ms of the base ahead in 500 ms), so two could "prove" a link measured 10 %
// low lifted while still under it (then +50 % a second into it: 197 ms waits).
constexpr int kProbesToLift = 3;
// Padding never takes a probe more than this over the rate it tests above (seconds of
// that rate), so the queue it leaves is small; speech alone may add a frame's packet.
constexpr double kProbeMaxQueueS = 0.03;
// And no one packet padded above this many frames at the probe's rate.
constexpr double kProbePacketShare = 1.5;
constexpr double kMaxOverSent = 1.5;       // never budget more than this times what we sent
constexpr int kMinOpusBps = 6000;
constexpr int kMaxOpusBps = 64000;
constexpr double kVbrMargin = 0.8;         // leave room for VBR frames above the average
constexpr double kFramePreferencePerMs = 0.05;  // E-model points per ms of frame: latency
constexpr double kFrameHysteresis = 1.0;   // E-model points a new frame length must win by
// A queue still standing once the bottleneck is measured is drained below the 60 ms
// floor for at most this long (until the model of it says it is gone).
constexpr Duration kMaxDrain = seconds(2);
constexpr int kFeedbackTimeoutIntervals = 4;
constexpr double kFeedbackTimeoutFactor = 0.7;
constexpr std::array<int, 3> kFrameLengthsMs = {20, 40, 60};
constexpr int kFloorFrameMs = kFrameLengthsMs.back();  // the longest of them: the floor's
// Data saving: 120 ms packets, all in this padding bucket (6 kbit/s x 120 ms is ~90
// bytes of Opus on average; the cap holds VBR's peaks in it too).
constexpr int kDataSavingFrameMs = 120;
constexpr std::size_t kDataSavingBucket = 128;

// What the floor (6 kbit/s in the longest frames, each in the 96-byte bucket) costs on
// the wire, UDP/IP included.
double FloorExpectedWireBps(int udp_ip) { return (96.0 + udp_ip) * 8 * 1000 / kFloorFrameMs; }

// Bytes a media payload header and its redundant copies' headers take (protocol.md,
// "Media payload"): 7 fixed, then per copy an offset varint (<= 3 bytes for <= 200 ms)
// and a length varint (1-2 bytes).
int PayloadHeaderBytes(int copies) { return 7 + 4 * copies; }

struct Fit {
  int opus_bps = 0;
  double wire_bps = 0;
};

// The highest Opus bitrate whose packets fit a padding bucket within the budget, at
// frame length `frame_ms` with `copies` redundant copies; nothing if not even 6 kbit/s
// fits.
std::optional<Fit> FitFrame(double budget_wire_bps, int frame_ms, int copies, int udp_ip) {
  const double packets_per_s = 1000.0 / frame_ms;
  const double per_packet_bytes = budget_wire_bps / 8 / packets_per_s - udp_ip;
  std::optional<Fit> best;
  for (std::size_t bucket : crypto::kPaddingBuckets) {
    if (static_cast<double>(bucket) > per_packet_bytes) break;
    const double content = static_cast<double>(bucket - crypto::kSealOverhead) - PayloadHeaderBytes(copies);
    const double opus_bytes = kVbrMargin * content / (1 + copies);
    const int opus_bps = std::min(kMaxOpusBps, static_cast<int>(opus_bytes * 8 * packets_per_s));
    if (opus_bps < kMinOpusBps) continue;
    best = Fit{opus_bps, static_cast<double>(bucket + udp_ip) * 8 * packets_per_s};
    if (opus_bps == kMaxOpusBps) break;
  }
  return best;
}

// Higher is better: the E-model's equipment impairment, and a little for latency.
double Score(const Fit& fit, int frame_ms) {
  return -OpusIe(fit.opus_bps) - kFramePreferencePerMs * frame_ms;
}

}  // namespace

BitrateController::BitrateController(BitrateControllerConfig config)
    : config_(config), target_wire_bps_(config.start_wire_bps) {
  Choose(TimePoint{});
}

void BitrateController::EndProbe(TimePoint now) {
  if (!probe_ || probe_->ended) return;
  probe_->ended = true;
  probe_->end = now;
}

std::size_t BitrateController::ProbePaddingFloor(TimePoint now) const {
  if (!probe_ || probe_->ended) return 0;
  // What is due by the end of this packet's frame at the probe's rate (never more than
  // kProbeMaxQueueS over its base), less what went out since its first packet; rounded
  // down to a padding bucket, so padding never overshoots (the next packets catch up),
  // and never more than one frame at the probe's rate: a probe spread over its packets,
  // not one burst (at 24 kbit/s a 384-byte packet alone is 128 ms on the wire).
  const TimePoint start = probe_->sent_any ? probe_->start : now;
  const double frame_s = settings_.frame_ms / 1000.0;
  const double span_s = ToSeconds(now - start) + frame_s;
  const double due_bits = std::min(probe_->rate_bps * span_s, probe_->base_bps * (span_s + kProbeMaxQueueS));
  const double owed_bytes =
      std::min((due_bits - SentWireBitsBetween(start, now + microseconds(1))) / 8, kProbePacketShare * probe_->rate_bps * frame_s / 8) -
      config_.udp_ip_overhead_bytes;
  std::size_t floor = 0;
  for (std::size_t bucket : crypto::kPaddingBuckets) {
    if (static_cast<double>(bucket) <= owed_bytes) floor = bucket;
  }
  return floor;
}

void BitrateController::MaybeStartProbe(double queue_ms, double raw_queue_ms, TimePoint now) {
  if (!congested_at_wire_bps_ || probe_ || data_saving()) return;
  const double known = *congested_at_wire_bps_;
  // Wherever the budget is: padding makes up the rate.
  if (now < next_probe_at_) return;
  // Above what the last clean probe carried, if one did: the budget stays under the
  // ceiling until two in a row have.
  const double base = proven_wire_bps_.value_or(known);
  if (base * kProbeFactor <= config_.min_wire_bps || base >= config_.max_wire_bps) return;
  // The settings stay (a change of frame length would move the measured delay by itself);
  // the media packets are padded up to the probe's rate (ProbePaddingFloor), since VBR
  // speech sends less than its budget, and in pauses much less.
  probe_ = Probe{.start = now, .end = now + kProbeDuration, .queue_before_ms = queue_ms, .raw_before_ms = raw_queue_ms,
                 .base_bps = base,
                 .rate_bps = std::min(config_.max_wire_bps, base * kProbeFactor)};
  next_probe_at_ = now + kProbeInterval;
}

MediaSettings BitrateController::ChooseSettings(double budget, const LossProtection& protection, bool data_saving,
                                                int current_frame_ms, int udp_ip) {
  MediaSettings s;
  s.budget_wire_bps = budget;
  if (data_saving) {
    // The fewest, smallest packets: 120 ms at the lowest bitrate, no copies (they would
    // double it), DTX in silence. FEC stays if loss asks for it (inside the same cap).
    // Longer packets are what save: per-packet overhead (seal, header, UDP/IP) is most
    // of the wire at 6 kbit/s, and 80 or 100 ms (96- and 128-byte buckets) still cost
    // 12.4-12.5 kbit/s.
    s.frame_ms = kDataSavingFrameMs;
    s.opus_bitrate_bps = kMinOpusBps;
    s.dtx = true;
    s.protection.fec = protection.fec;
    s.protection.fec_expected_loss_percent = protection.fec_expected_loss_percent;
    s.max_opus_bytes = static_cast<int>(kDataSavingBucket - crypto::kSealOverhead) - PayloadHeaderBytes(0);
    s.expected_wire_bps = (static_cast<double>(kDataSavingBucket) + udp_ip) * 8 * 1000 / kDataSavingFrameMs;
    return s;
  }
  // Protection as the policy asks, but copies give way (fewer, then FEC) when not even
  // the lowest bitrate fits with them.
  std::array<LossProtection, 3> variants{protection, protection, protection};
  if (protection.redundant_distances.size() > 1) variants[1].redundant_distances = {1};
  if (!protection.redundant_distances.empty()) {
    variants[2].redundant_distances.clear();
    variants[2].fec = true;
    variants[2].fec_expected_loss_percent = 20;
  }
  for (const LossProtection& p : variants) {
    const int copies = static_cast<int>(p.redundant_distances.size());
    std::optional<std::pair<int, Fit>> best;
    double best_score = 0;
    std::optional<double> current_score;
    std::optional<Fit> current_fit;
    for (int frame_ms : kFrameLengthsMs) {
      const std::optional<Fit> fit = FitFrame(budget, frame_ms, copies, udp_ip);
      if (!fit) continue;
      const double score = Score(*fit, frame_ms);
      if (frame_ms == current_frame_ms) {
        current_score = score;
        current_fit = fit;
      }
      if (!best || score > best_score) {
        best = {frame_ms, *fit};
        best_score = score;
      }
    }
    if (!best) continue;
    if (current_score && best_score < *current_score + kFrameHysteresis) best = {current_frame_ms, *current_fit};
    s.frame_ms = best->first;
    s.opus_bitrate_bps = best->second.opus_bps;
    s.expected_wire_bps = best->second.wire_bps;
    s.protection = p;
    return s;
  }
  // Not even 6 kbit/s at 60 ms fits: the floor (64-byte packets would not hold it).
  s.frame_ms = kFloorFrameMs;
  s.opus_bitrate_bps = kMinOpusBps;
  s.protection = variants[2];
  s.expected_wire_bps = FloorExpectedWireBps(udp_ip);
  return s;
}

void BitrateController::Choose(TimePoint now) {
  double budget = std::clamp(target_wire_bps_, config_.min_wire_bps, config_.max_wire_bps);
  if (data_saving()) budget = std::min(budget, config_.data_saving_wire_bps);
  // Media gets what our control packets leave of the budget (data saving's cap counts
  // its reports by construction; at the top, media may use all of it, as before).
  double media_budget = budget;
  if (!data_saving() && budget < config_.max_wire_bps) {
    media_budget = std::max(0.0, budget - ControlWireBps(now));
  }
  settings_ = ChooseSettings(media_budget / wire_overshoot_, policy_.current(), data_saving(), settings_.frame_ms,
                             config_.udp_ip_overhead_bytes);
  // Draining a standing queue at the floor (6 kbit/s in 60 ms packets is 16.5 kbit/s on
  // the wire, which with the reports of a call in trouble leaves a 24 kbit/s link
  // ~2 kbit/s to drain with): data saving's 120 ms packets, 10.4 kbit/s while talking,
  // until the queue is gone, then back (DrainRemainingBits).
  if (drain_ && !data_saving() && settings_.opus_bitrate_bps == kMinOpusBps && settings_.frame_ms == kFloorFrameMs) {
    settings_ = ChooseSettings(media_budget, policy_.current(), true, settings_.frame_ms, config_.udp_ip_overhead_bytes);
  }
  settings_.budget_wire_bps = budget;
}

double BitrateController::ControlWireBps(TimePoint now) const {
  return SentWireBpsBetween(now - config_.report_interval, now + microseconds(1)) -
         SentWireBpsBetween(now - config_.report_interval, now + microseconds(1), Packets::kMedia);
}

double BitrateController::FloorWireBps(TimePoint now) const {
  return FloorExpectedWireBps(config_.udp_ip_overhead_bytes) * wire_overshoot_ + ControlWireBps(now);
}

double BitrateController::DrainRemainingBits(TimePoint now) const {
  if (!drain_) return 0;
  // A fluid queue served at the estimated rate, holding what the report showed at its
  // end and fed with everything we sent since.
  return drain_->queue_bits + SentWireBitsBetween(drain_->from, now + microseconds(1)) -
         drain_->rate_bps * ToSeconds(now - drain_->from);
}

void BitrateController::MaybeEndDrain(TimePoint now) {
  if (!drain_ || (DrainRemainingBits(now) > 0 && now < drain_->deadline)) return;
  drain_.reset();
  // The queue is gone: back to just below the bottleneck, where the cut's drain share
  // (below 85 % of it while a queue stood) no longer applies.
  if (congested_at_wire_bps_) target_wire_bps_ = std::max(target_wire_bps_, kDecreaseFactor * *congested_at_wire_bps_);
  Choose(now);
}

void BitrateController::OnControlSent(std::size_t sealed_bytes, TimePoint now) { Record(sealed_bytes, now, false); }

void BitrateController::OnPacketSent(std::size_t sealed_bytes, TimePoint now) {
  if (probe_ && !probe_->ended && !probe_->sent_any) {
    // A probe begins with its first media packet: the time before it owes nothing.
    probe_->sent_any = true;
    probe_->start = now;
    probe_->end = now + kProbeDuration;
  }
  Record(sealed_bytes, now, true);
}

void BitrateController::Record(std::size_t sealed_bytes, TimePoint now, bool media) {
  sent_.push_back({now, sealed_bytes, media});
  const Duration keep = config_.report_interval * 4 + seconds(2);
  while (!sent_.empty() && now - sent_.front().at > keep) sent_.pop_front();
}

double BitrateController::SentSealedBpsBetween(TimePoint from, TimePoint to) const {
  double bytes = 0;
  for (const Sent& s : sent_) {
    if (s.media && s.at >= from && s.at < to) bytes += static_cast<double>(s.sealed_bytes);
  }
  const double span_s = ToSeconds(to - from);
  return span_s > 0 ? bytes * 8 / span_s : 0;
}

double BitrateController::SentPacketsBetween(TimePoint from, TimePoint to) const {
  double packets = 0;
  for (const Sent& s : sent_) {
    if (s.media && s.at >= from && s.at < to) ++packets;
  }
  return packets;
}

double BitrateController::SentWireBitsBetween(TimePoint from, TimePoint to, Packets which) const {
  double bytes = 0;
  for (const Sent& s : sent_) {
    if (which == Packets::kMedia && !s.media) continue;
    if (s.at >= from && s.at < to) bytes += static_cast<double>(s.sealed_bytes + config_.udp_ip_overhead_bytes);
  }
  return bytes * 8;
}

double BitrateController::PredictedProbeQueueMs(TimePoint from, TimePoint to) const {
  if (!probe_) return 0;
  // A fluid drop-tail queue served at the known rate, empty when the probe began, fed
  // with every packet sent since: the mean wait of the packets sent in [from, to), those
  // before the probe counting 0, as the peer's mean over the interval counts them.
  const double rate = probe_->base_bps;
  double queue_bits = 0;
  double wait_sum_s = 0;
  int packets = 0;
  std::optional<TimePoint> last;
  for (const Sent& s : sent_) {
    if (s.at >= to) break;
    if (s.at >= probe_->start) {
      if (last) queue_bits = std::max(0.0, queue_bits - rate * ToSeconds(s.at - *last));
      last = s.at;
      if (s.at >= from && s.media) wait_sum_s += queue_bits / rate;
      queue_bits += static_cast<double>(s.sealed_bytes + config_.udp_ip_overhead_bytes) * 8;
    }
    if (s.at >= from && s.media) ++packets;
  }
  return packets > 0 ? wait_sum_s / packets * 1000 : 0;
}

double BitrateController::SentWireBpsBetween(TimePoint from, TimePoint to, Packets which) const {
  const double span_s = ToSeconds(to - from);
  return span_s > 0 ? SentWireBitsBetween(from, to, which) / span_s : 0;
}

double BitrateController::SentWireBps(TimePoint now) const {
  return SentWireBpsBetween(now - config_.report_interval, now);
}

const MediaSettings& BitrateController::OnReceiverReportLoss(double loss_fraction, TimePoint now) {
  if (peer_sends_quality_) return settings_;
  policy_.OnLossReport(loss_fraction);
  Choose(now);
  return settings_;
}

const MediaSettings& BitrateController::OnTick(TimePoint now) {
  // Only once the peer has shown it sends quality reports (an older peer never does).
  if (!peer_sends_quality_ || !last_feedback_) return settings_;
  // A probe ends on its own, before any report about it can come back: that is what
  // keeps the queue it builds small.
  if (probe_ && !probe_->ended) {
    // Counted from one frame before the start: the first packet of a probe is due anyway.
    const double elapsed_s = ToSeconds(now - probe_->start);
    const double sent_bits = SentWireBitsBetween(probe_->start, now + microseconds(1));
    const double excess_bits = sent_bits - probe_->base_bps * (elapsed_s + settings_.frame_ms / 1000.0);
    if (now >= probe_->end || excess_bits >= probe_->base_bps * kProbeMaxQueueS) EndProbe(now);
  }
  MaybeEndDrain(now);
  if (now - *last_feedback_ < config_.report_interval * kFeedbackTimeoutIntervals) return settings_;
  last_feedback_ = now;
  // Not sending media: nothing to blame.
  if (SentWireBpsBetween(now - config_.report_interval, now, Packets::kMedia) <= 0) return settings_;
  target_wire_bps_ = std::max(config_.min_wire_bps, target_wire_bps_ * kFeedbackTimeoutFactor);
  Choose(now);
  return settings_;
}

const MediaSettings& BitrateController::OnQualityReport(const QualityReport& report, TimePoint now) {
  peer_sends_quality_ = true;
  last_feedback_ = now;
  peer_wants_data_saving_ = report.data_saving;

  // The interval the report describes, on our clock: it left the peer about RTT/2 ago.
  const Duration interval =
      report.interval_ms > 0 ? milliseconds(report.interval_ms) : Duration(config_.report_interval);
  const double interval_s = ToSeconds(interval);
  const Duration one_way = microseconds(static_cast<int64_t>(rtt_ms_.value_or(0) * 500));
  const TimePoint to = now - one_way;
  const TimePoint from = to - interval;
  const double sent_wire = SentWireBpsBetween(from, to, Packets::kMedia);
  const double sent_sealed = SentSealedBpsBetween(from, to);
  // The peer counts sealed media bytes; add UDP/IP in the proportion we sent it.
  const double received_wire =
      sent_sealed > 0 ? report.received_bps * (sent_wire / sent_sealed) : static_cast<double>(report.received_bps);
  // What the path carried of ours: that media, and our control packets in the same
  // proportion (they wait in the same queue). Less one packet: the peer's interval
  // begins and ends between arrivals, so a short one may hold a packet more than the
  // rate delivers in it (at 24 kbit/s, 260 ms holds five or six 156-byte packets: 24 or
  // 28.8 kbit/s), and a ceiling set that much too high builds a queue of its own.
  const double sent_all_wire = SentWireBpsBetween(from, to);
  const double media_packets = SentPacketsBetween(from, to);
  const double packet_bps = media_packets > 0 ? sent_wire / media_packets : 0;  // one packet over the interval
  const double control_carried_wire =
      (sent_all_wire - sent_wire) * (sent_wire > 0 ? std::min(1.0, received_wire / sent_wire) : 1.0);
  const double carried_wire = std::max(0.0, received_wire - packet_bps) + control_carried_wire;

  // A delay that stays high and flat for kFlatSpan while everything we send arrives is
  // no queue we could drain: the path's delay grew (a slower link serializes each packet
  // longer, 50 ms for 156 bytes at 24 kbit/s; a longer route), and the peer's baseline
  // forgets the old delay only after 10 s. Its floor is taken off until the reported
  // delay goes below it.
  const double raw_queue = report.queue_delay_ms;
  recent_queues_.push_back({now, raw_queue, report.loss_before_fraction() <= 0.02, received_wire * interval_s,
                            sent_wire * interval_s});
  while (now - recent_queues_.front().at > kFlatSpan + config_.report_interval) recent_queues_.pop_front();
  queue_offset_ms_ = std::min(queue_offset_ms_, raw_queue);
  if (now - recent_queues_.front().at >= kFlatSpan && !(probe_ && !probe_->ended)) {
    double low = raw_queue, high = raw_queue, received_bits = 0, sent_bits = 0;
    bool no_loss = true;
    for (const QueueSample& q : recent_queues_) {
      low = std::min(low, q.queue_ms);
      high = std::max(high, q.queue_ms);
      no_loss = no_loss && q.no_loss;
      received_bits += q.received_bits;
      sent_bits += q.sent_bits;
    }
    // Everything arrived: no loss, and what arrived over the span is what was sent (one
    // short interval may hold a packet more or less).
    const bool delivered_all = no_loss && received_bits >= 0.9 * sent_bits;
    if (delivered_all && high - low <= kFlatBandMs) queue_offset_ms_ = std::max(queue_offset_ms_, low);
  }
  const double queue = std::max(0.0, raw_queue - queue_offset_ms_);
  // Loss protection sees loss per second or more (250 ms reports would make one lost
  // packet look like 25 %), and only loss without a queue: loss with a queue is our own
  // overflow, which copies would make worse and the rate cut below cures. A clean
  // report counts (calm) once a flat delay is taken off too: a step from 60 ms frames
  // to 20 (protection stepping down) reads as a flat 40 ms at the peer, which held FEC
  // on for good.
  if (raw_queue < kQueueCongestedMs || (queue < kQueueCongestedMs && report.loss_before_fraction() <= 0)) {
    loss_weighted_ += report.loss_before_fraction() * interval_s;
    loss_seconds_ += interval_s;
    if (loss_seconds_ >= 0.99) {
      policy_.OnLossReport(loss_weighted_ / loss_seconds_);
      loss_weighted_ = 0;
      loss_seconds_ = 0;
    }
  }
  // While a queue stands the bottleneck is busy, and what arrives is its rate; over
  // several reports a packet more or less at the edges matters less than in one.
  // One of our packets takes longer at the bottleneck than before it (at 24 kbit/s a
  // 156-byte packet 52 ms): the peer's baseline does not hold that, so a reported queue
  // of 60 ms may be no wait at all. Unless a flat delay was taken off already.
  const double packet_serialization_ms =
      congested_at_wire_bps_ && media_packets > 0
          ? std::max(0.0, packet_bps * interval_s / *congested_at_wire_bps_ * 1000 - queue_offset_ms_)
          : 0;
  const double waiting = std::max(0.0, queue - packet_serialization_ms);
  if (waiting >= kBusyQueueMs) {
    busy_bits_ += (received_wire + control_carried_wire) * interval_s;
    busy_seconds_ += interval_s;
    busy_packet_bits_ = packet_bps * interval_s;
  } else if (queue < kQueueQuietMs) {
    busy_bits_ = busy_seconds_ = 0;
  }
  const double rise = last_queue_delay_ms_ ? queue - *last_queue_delay_ms_ : 0;
  last_queue_delay_ms_ = queue;
  const double loss = report.loss_before_fraction();
  // Sending clearly under a bottleneck we know, a moderate queue that wobbles upward is
  // VBR at the bottleneck's serialization (a 220-byte packet takes 30 ms longer than a
  // 124-byte one at 24 kbit/s), not one we build: no cut for it.
  const bool under_known = congested_at_wire_bps_ && sent_all_wire < kUnderKnown * *congested_at_wire_bps_ &&
                           queue < kUnderKnownQueueMs;
  const bool rising = queue >= kQueueCongestedMs && rise > kQueueRisingMs && !under_known;
  const bool overflowing = queue >= kQueueCongestedMs && loss > 0.02 && received_wire < 0.9 * sent_wire;
  // A decrease shows in the reports one interval and one RTT later: don't cut twice
  // for the same queue.
  const bool settled = !last_decrease_ || now - *last_decrease_ >= interval + one_way * 2;

  // Opus VBR makes some frames larger than the average, and a frame just over a
  // padding bucket costs the next one: learn how far what we send is above what the
  // settings should cost, and spend the budget net of it.
  if (sent_wire > 0 && settings_.expected_wire_bps > 0 && !settings_.dtx) {
    const double ratio = std::clamp(sent_wire / settings_.expected_wire_bps, 0.8, 1.6);
    wire_overshoot_ += (ratio - wire_overshoot_) * std::min(1.0, 0.3 * interval_s);
  }

  // A probe above a known bottleneck: the first report showing a queue rising over what
  // it was before ends it at once; the first report covering all of it says whether
  // the bottleneck is still there (the queue rose) or has lifted (it did not, though
  // we sent above it).
  bool probe_found_it = false;  // the queue in this report is the probe's own
  if (probe_) {
    // What the peer's mean would have risen by, were the bottleneck still there: what
    // tells a lifted bottleneck from one that speech drains fast (quiet speech after the
    // probe leaves a queue that is gone within 100 ms, a few ms in a one-second mean).
    const double predicted = PredictedProbeQueueMs(from, to);
    const double rise_since = queue - probe_->queue_before_ms;
    // The peer's baseline is the lowest delay of its last 10 s: when the time before a
    // bottleneck leaves that window, every delay it reports falls by the bottleneck's
    // serialization (20-30 ms), and a probe's queue hides in the fall.
    if (raw_queue < probe_->raw_before_ms - kFlatBandMs) probe_->baseline_moved = true;
    const bool still_there =
        rise_since >= std::max(kProbeMinRiseMs, std::min(kProbeQueueRiseMs, kProbeEvidenceShare * predicted)) ||
        rising || overflowing;
    if (still_there) {
      EndProbe(now);
      probe_.reset();
      clean_probes_ = 0;
      proven_wire_bps_.reset();
      probe_found_it = true;
    } else if (probe_->ended && to >= probe_->end + kProbeSettle) {
      // The prediction counts what was sent: a probe that sent too little (DTX silence)
      // predicts little and proves nothing.
      const double carried = SentWireBpsBetween(probe_->start, probe_->end);
      if (congested_at_wire_bps_ && predicted >= kProbeMinPredictedMs && carried > probe_->base_bps &&
          !probe_->baseline_moved) {
        // Sent above it without a queue: the path carried what it sent (at most its rate:
        // a short span's buckets may round above it). The next probe, above that, at once;
        // the budget stays below the old ceiling (the first estimate comes from a
        // congested second and is often short of the real rate, so one clean probe may
        // only have found that). Twice in a row, and it has lifted.
        proven_wire_bps_ = std::min(probe_->rate_bps, carried);
        next_probe_at_ = now;
        if (++clean_probes_ >= kProbesToLift || *proven_wire_bps_ >= kBelowBottleneck * config_.max_wire_bps) {
          // Lifted: from what the probe carried, 50 % a second.
          target_wire_bps_ = std::max(target_wire_bps_, *proven_wire_bps_);
          congested_at_wire_bps_.reset();
          proven_wire_bps_.reset();
          clean_probes_ = 0;
          fast_growth_ = true;
        }
      } else {
        // Sent too little to prove anything (DTX silence), or the peer's baseline moved
        // under it: again soon.
        next_probe_at_ = now + seconds(1);
      }
      probe_.reset();
    }
  }

  // A queue a probe built and ended drains by itself (the budget is below the
  // bottleneck): no cut for it, and no new estimate from a second the probe distorted.
  if ((rising || overflowing) && sent_wire > 0 && !probe_found_it) {
    fast_growth_ = false;
    clean_probes_ = 0;
    proven_wire_bps_.reset();
    if (settled) {
      // A bottleneck delivers less than it is sent; a delay step (a longer route) looks
      // like a rising queue too but delivers everything: cut, but remember no ceiling,
      // nor lower one we know (a quarter second of a draining queue delivers what VBR
      // speech happened to send, well under what the link carries, and probes above a
      // ceiling that low would find the bottleneck "lifted" while still under it).
      if (received_wire < kBottleneckEvidence * sent_wire) congested_at_wire_bps_ = carried_wire;
      busy_from_cut_ = true;
      // Below what arrived, and by enough to drain what the queue holds within about
      // kDrainTime (a 200 ms queue at 85 % drains in over a second, and its tail is the
      // longest wait of the call).
      const double drain = 1 - std::min(kMaxDrainShare, queue / 1000 / ToSeconds(kDrainTime));
      // Never below what the floor sends (60 ms at 6 kbit/s and our reports): a budget
      // under it sends no less, and only delays the climb back (a delay wobbling with
      // packet sizes at the floor reads as a rising queue now and then, and cut the
      // budget to the 12 kbit/s minimum). Less than the floor is the drain's (below).
      target_wire_bps_ =
          std::min(target_wire_bps_, std::max(std::min(kDecreaseFactor, drain) * carried_wire, FloorWireBps(now)));
      last_decrease_ = now;
      next_probe_at_ = now + kProbeInterval;
    }
  } else if (queue < kQueueQuietMs && !(probe_ && !probe_->ended)) {
    double next = target_wire_bps_ * std::pow(fast_growth_ ? kFastIncreaseFactor : kIncreaseFactor, interval_s);
    if (congested_at_wire_bps_) {
      // Up to just below the known bottleneck, and no further but for probes.
      next = std::max(target_wire_bps_, std::min(next, kBelowBottleneck * *congested_at_wire_bps_));
    }
    // Growth must be backed by use: with DTX silence we learn nothing about the path.
    // Probes that found a bottleneck lifted back the fast climb back to where it was
    // (speech sends too little to back it: VBR pauses, buckets).
    if (sent_wire > 0 && !fast_growth_) next = std::min(next, std::max(target_wire_bps_, kMaxOverSent * sent_all_wire));
    target_wire_bps_ = next;
    if (target_wire_bps_ >= config_.max_wire_bps) fast_growth_ = false;
  }
  // The ceiling a cut set from one short report (a packet more or less in 260 ms is
  // 5 kbit/s either way) is replaced by what the busy link delivered over the whole span
  // the queue then stood, up or down (never a probe's span).
  if (busy_from_cut_ && congested_at_wire_bps_ && busy_seconds_ >= ToSeconds(kBusySpanForEstimate) &&
      !probe_found_it) {
    const double delivered = (busy_bits_ - busy_packet_bits_) / busy_seconds_;
    congested_at_wire_bps_ = delivered;
    // Measured, and the queue still stands: drain it (below the floor if need be) from
    // what it held at the end of this report's interval.
    if (!drain_ && waiting >= kBusyQueueMs) {
      drain_ = Drain{.from = to, .deadline = now + kMaxDrain, .queue_bits = waiting / 1000 * *congested_at_wire_bps_,
                     .rate_bps = *congested_at_wire_bps_};
    }
  }
  if (queue < kQueueQuietMs) busy_from_cut_ = false;
  MaybeEndDrain(now);
  if (!rising && !overflowing && queue < kQueueQuietMs) MaybeStartProbe(queue, raw_queue, now);
  target_wire_bps_ = std::clamp(target_wire_bps_, config_.min_wire_bps, config_.max_wire_bps);
  Choose(now);
  return settings_;
}

}  // namespace parley::call
