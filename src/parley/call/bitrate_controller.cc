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
constexpr double kIncreaseFactor = 1.20;   // per second, away from a known bottleneck
constexpr double kNearBottleneckStepBps = 3000;  // per second, near it
constexpr double kNearBottleneckBand = 0.15;
constexpr double kMaxOverSent = 1.5;       // never budget more than this times what we sent
constexpr int kMinOpusBps = 6000;
constexpr int kMaxOpusBps = 64000;
constexpr double kVbrMargin = 0.8;         // leave room for VBR frames above the average
constexpr double kFramePreferencePerMs = 0.05;  // E-model points per ms of frame: latency
constexpr double kFrameHysteresis = 1.0;   // E-model points a new frame length must win by
constexpr int kFeedbackTimeoutIntervals = 4;
constexpr double kFeedbackTimeoutFactor = 0.7;
constexpr std::array<int, 3> kFrameLengthsMs = {20, 40, 60};
// Data saving: 120 ms packets, all in this padding bucket (6 kbit/s x 120 ms is ~90
// bytes of Opus on average; the cap holds VBR's peaks in it too).
constexpr int kDataSavingFrameMs = 120;
constexpr std::size_t kDataSavingBucket = 128;

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
  Choose();
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
  s.frame_ms = 60;
  s.opus_bitrate_bps = kMinOpusBps;
  s.protection = variants[2];
  s.expected_wire_bps = (96.0 + udp_ip) * 8 * 1000 / 60;
  return s;
}

void BitrateController::Choose() {
  double budget = std::clamp(target_wire_bps_, config_.min_wire_bps, config_.max_wire_bps);
  if (data_saving()) budget = std::min(budget, config_.data_saving_wire_bps);
  settings_ = ChooseSettings(budget / wire_overshoot_, policy_.current(), data_saving(), settings_.frame_ms,
                             config_.udp_ip_overhead_bytes);
  settings_.budget_wire_bps = budget;
}

void BitrateController::OnPacketSent(std::size_t sealed_bytes, TimePoint now) {
  sent_.push_back({now, sealed_bytes});
  const Duration keep = config_.report_interval * 4 + seconds(2);
  while (!sent_.empty() && now - sent_.front().at > keep) sent_.pop_front();
}

double BitrateController::SentSealedBpsBetween(TimePoint from, TimePoint to) const {
  double bytes = 0;
  for (const Sent& s : sent_) {
    if (s.at >= from && s.at < to) bytes += static_cast<double>(s.sealed_bytes);
  }
  const double span_s = ToSeconds(to - from);
  return span_s > 0 ? bytes * 8 / span_s : 0;
}

double BitrateController::SentWireBpsBetween(TimePoint from, TimePoint to) const {
  double bytes = 0;
  for (const Sent& s : sent_) {
    if (s.at >= from && s.at < to) bytes += static_cast<double>(s.sealed_bytes + config_.udp_ip_overhead_bytes);
  }
  const double span_s = ToSeconds(to - from);
  return span_s > 0 ? bytes * 8 / span_s : 0;
}

double BitrateController::SentWireBps(TimePoint now) const {
  return SentWireBpsBetween(now - config_.report_interval, now);
}

const MediaSettings& BitrateController::OnReceiverReportLoss(double loss_fraction, TimePoint) {
  if (peer_sends_quality_) return settings_;
  policy_.OnLossReport(loss_fraction);
  Choose();
  return settings_;
}

const MediaSettings& BitrateController::OnTick(TimePoint now) {
  // Only once the peer has shown it sends quality reports (an older peer never does).
  if (!peer_sends_quality_ || !last_feedback_) return settings_;
  if (now - *last_feedback_ < config_.report_interval * kFeedbackTimeoutIntervals) return settings_;
  last_feedback_ = now;
  if (SentWireBps(now) <= 0) return settings_;  // not sending: nothing to blame
  target_wire_bps_ = std::max(config_.min_wire_bps, target_wire_bps_ * kFeedbackTimeoutFactor);
  Choose();
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
  const double sent_wire = SentWireBpsBetween(from, to);
  const double sent_sealed = SentSealedBpsBetween(from, to);
  // The peer counts sealed bytes; add UDP/IP in the proportion we sent it.
  const double received_wire =
      sent_sealed > 0 ? report.received_bps * (sent_wire / sent_sealed) : static_cast<double>(report.received_bps);

  // Loss protection sees loss per second or more (250 ms reports would make one lost
  // packet look like 25 %), and only loss without a queue: loss with a queue is our own
  // overflow, which copies would make worse and the rate cut below cures.
  if (report.queue_delay_ms < kQueueCongestedMs) {
    loss_weighted_ += report.loss_before_fraction() * interval_s;
    loss_seconds_ += interval_s;
    if (loss_seconds_ >= 0.99) {
      policy_.OnLossReport(loss_weighted_ / loss_seconds_);
      loss_weighted_ = 0;
      loss_seconds_ = 0;
    }
  }

  const double queue = report.queue_delay_ms;
  const double rise = last_queue_delay_ms_ ? queue - *last_queue_delay_ms_ : 0;
  last_queue_delay_ms_ = queue;
  const double loss = report.loss_before_fraction();
  const bool rising = queue >= kQueueCongestedMs && rise > kQueueRisingMs;
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

  if ((rising || overflowing) && sent_wire > 0) {
    if (settled) {
      congested_at_wire_bps_ = received_wire;
      target_wire_bps_ = std::min(target_wire_bps_, kDecreaseFactor * received_wire);
      last_decrease_ = now;
    }
  } else if (queue < kQueueQuietMs) {
    double next = target_wire_bps_ * std::pow(kIncreaseFactor, interval_s);
    if (congested_at_wire_bps_) {
      const double known = *congested_at_wire_bps_;
      if (target_wire_bps_ > known * (1 + kNearBottleneckBand)) {
        congested_at_wire_bps_.reset();  // passed it without a queue: it has lifted
      } else if (target_wire_bps_ > known * (1 - kNearBottleneckBand)) {
        next = target_wire_bps_ + kNearBottleneckStepBps * interval_s;
      }
    }
    // Growth must be backed by use: with DTX silence we learn nothing about the path.
    if (sent_wire > 0) next = std::min(next, std::max(target_wire_bps_, kMaxOverSent * sent_wire));
    target_wire_bps_ = next;
  }
  target_wire_bps_ = std::clamp(target_wire_bps_, config_.min_wire_bps, config_.max_wire_bps);
  Choose();
  return settings_;
}

}  // namespace parley::call
