// JitterBuffer: ties storage, delay policy, decisions, time stretching, concealment and
// merge together; the only place that calls the decoder.
#include "parley/media/jitter_buffer.h"

#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "parley/base/check.h"
#include "parley/media/decision_logic.h"
#include "parley/media/delay_manager.h"
#include "parley/media/gap_planner.h"
#include "parley/media/media_packetizer.h"
#include "parley/media/merge.h"
#include "parley/media/packet_buffer.h"
#include "parley/media/sync_buffer.h"
#include "parley/media/time_stretch.h"
#include "parley/media/unwrapper.h"

namespace parley::media {
namespace {

// After this much waiting concealment the path may have changed: the next packets reset
// the delay reference, and stale frames beyond the target are dropped (resynchronise).
constexpr int kLongGapSamples = 100 * kSamplesPerMs;
// A lost stretch longer than this is skipped rather than concealed.
constexpr int kMaxLossConcealSamples = 200 * kSamplesPerMs;
// This many primaries in a row far behind the playout point mean the sender restarted
// its timestamps: start over on the new stream.
constexpr int kStalePrimariesForRestart = 3;
constexpr int kConcealUnitSamples = 120;  // 2.5 ms, the finest unit Opus conceals in

int ClampToInt(int64_t v) {
  return static_cast<int>(std::clamp<int64_t>(v, 0, std::numeric_limits<int>::max() / 4));
}

}  // namespace

class JitterBuffer::Impl {
 public:
  Impl(AudioDecoder& decoder, JitterBufferConfig config)
      : decoder_(decoder),
        config_(config),
        packets_(std::max(config.max_delay_ms, 2 * kMaxFrameMs) * kSamplesPerMs),
        delay_(DelayManagerConfig{.quantile = config.arrival_quantile,
                                  .forget_factor = config.histogram_forget_factor,
                                  .min_delay_ms = config.min_delay_ms,
                                  .max_delay_ms = config.max_delay_ms}),
        scratch_(kMaxFrameSamples),
        crossfade_(Merge::kCrossfadeSamples) {}

  void Insert(const MediaPacket& packet, TimePoint arrival);
  void Pull(std::span<Sample, kBlockSamples> out);
  std::optional<uint32_t> LastPlayoutTimestamp() const { return last_playout_timestamp_; }
  JitterBufferStats stats() const;

 private:
  enum class Frame { kPrimary, kRedundant };

  // The delay policy's target, plus room for recovery data to arrive: a lost frame's FEC
  // comes one packet after it, a copy d packets after it. Without that room the buffer
  // would conceal first and play the recovery late, as a glitch and a delay step.
  // One playout block more covers the phase between arrivals and pulls.
  int TargetSamples() const {
    const int horizon = ProtectionHorizonFrames();
    const int room = horizon == 0 ? 0 : horizon * last_frame_samples_ + kBlockSamples;
    return std::min(delay_.TargetDelayMs() * kSamplesPerMs + room, config_.max_delay_ms * kSamplesPerMs);
  }
  int ProtectionHorizonFrames() const;
  void NoteProtection(int distance, TimePoint arrival);
  int BufferedSamples() const { return sync_.future_samples() + packets_.num_samples(); }

  // Stores one frame; returns its length, or 0 if it was not usable for the delay estimate.
  int InsertFrame(const EncodedFrame& frame, int64_t timestamp, int64_t sequence, Frame kind);
  void Restart();

  void Start();
  void DecodeStep();
  void MissingStep();
  bool PlayFrame(const StoredFrame& frame, bool merge);
  void PlayFec(const StoredFrame& next, int fec_samples);
  bool Stretch(bool accelerate);
  void AppendConcealment(int samples);
  void ContinueConcealment();  // into crossfade_, for a merge
  void AdvanceTo(int64_t timestamp);
  bool TrimStale();

  AudioDecoder& decoder_;
  JitterBufferConfig config_;
  PacketBuffer packets_;
  DelayManager delay_;
  DecisionLogic decision_;
  TimeStretch stretch_;
  SyncBuffer sync_;
  SequenceUnwrapper sequence_unwrapper_;
  TimestampUnwrapper timestamp_unwrapper_;

  bool started_ = false;
  int64_t next_timestamp_ = 0;  // unwrapped: everything before it has been consumed
  std::optional<int64_t> previous_sequence_;
  int last_frame_samples_ = 20 * kSamplesPerMs;
  Operation last_op_ = Operation::kNormal;
  // Concealment played while stalled at next_timestamp_ (the open gap), and what it is.
  int64_t gap_waited_samples_ = 0;
  bool gap_is_dtx_ = false;
  bool gap_reference_reset_ = false;
  bool trim_pending_ = false;
  bool overflow_pending_ = false;
  int stale_primaries_ = 0;
  std::optional<uint32_t> last_playout_timestamp_;
  // When a packet last carried recovery for the frame `index` packets before it (index 1:
  // FEC or a copy of the previous frame), and the newest arrival, for the horizon above.
  std::array<std::optional<TimePoint>, kMaxRedundantDistance + 1> protection_seen_;
  TimePoint newest_arrival_{};

  JitterBufferStats stats_;
  uint64_t concealed_samples_ = 0, dtx_samples_ = 0, underrun_samples_ = 0;
  uint64_t accelerated_samples_ = 0, expanded_samples_ = 0;

  std::vector<Sample> scratch_;
  std::vector<Sample> crossfade_;
  std::vector<Sample> stretched_;
  std::vector<int64_t> stretched_timestamps_;
};

// ---- Insert ----

void JitterBuffer::Impl::Insert(const MediaPacket& packet, TimePoint arrival) {
  ++stats_.packets_received;
  const int64_t sequence = sequence_unwrapper_.Unwrap(packet.sequence);
  const int64_t timestamp = timestamp_unwrapper_.Unwrap(packet.primary.timestamp);

  if (started_ && gap_waited_samples_ >= kLongGapSamples && !gap_reference_reset_) {
    // First packet after an outage: the path may have changed (a delay step), so the
    // fastest packet before the outage is no reference for the ones after it.
    delay_.ResetReference();
    gap_reference_reset_ = true;
  }

  const int primary_samples = InsertFrame(packet.primary, timestamp, sequence, Frame::kPrimary);
  if (primary_samples > 0) delay_.Update(timestamp, primary_samples, arrival);
  newest_arrival_ = std::max(newest_arrival_, arrival);
  if (primary_samples > 0 && decoder_.HasFec(packet.primary.payload)) NoteProtection(1, arrival);

  // Redundant copies are frames of packets sent shortly before this one, oldest first, at
  // distinct distances of 1..kMaxRedundantDistance packets. The wire doesn't say which
  // distance; it is inferred from the timestamp difference in frames (exact while frames
  // are contiguous), bounded by what the copy's position allows. It only matters for
  // telling a DTX pause from a loss right after a frame played from a copy.
  const size_t copies = std::min<size_t>(packet.redundant.size(), kMaxRedundantFrames);
  for (size_t i = 0; i < copies; ++i) {
    const EncodedFrame& copy = packet.redundant[i];
    // Peek: an older copy must not move the unwrapping reference.
    const int64_t copy_timestamp = timestamp_unwrapper_.Peek(copy.timestamp);
    const int copy_samples = std::max(decoder_.FrameSamples(copy.payload), kConcealUnitSamples);
    const auto min_distance = static_cast<int64_t>(copies - i);
    const int64_t distance = std::clamp<int64_t>((timestamp - copy_timestamp + copy_samples / 2) / copy_samples,
                                                 min_distance, std::max<int64_t>(min_distance, kMaxRedundantDistance));
    InsertFrame(copy, copy_timestamp, sequence - distance, Frame::kRedundant);
    NoteProtection(static_cast<int>(distance), arrival);
  }
}

void JitterBuffer::Impl::NoteProtection(int distance, TimePoint arrival) {
  const auto index = static_cast<size_t>(std::clamp(distance, 1, kMaxRedundantDistance));
  if (!protection_seen_[index] || *protection_seen_[index] < arrival) protection_seen_[index] = arrival;
}

int JitterBuffer::Impl::ProtectionHorizonFrames() const {
  // Protection the sender stopped sending stops costing delay after this long.
  constexpr Duration kProtectionMemory = seconds(2);
  for (int distance = kMaxRedundantDistance; distance >= 1; --distance) {
    const auto& seen = protection_seen_[static_cast<size_t>(distance)];
    if (seen && newest_arrival_ - *seen <= kProtectionMemory) return distance;
  }
  return 0;
}

int JitterBuffer::Impl::InsertFrame(const EncodedFrame& frame, int64_t timestamp, int64_t sequence,
                                    Frame kind) {
  // Opus packets are 2.5 to 120 ms (multiples of 2.5 ms); anything else is not ours.
  const int samples = decoder_.FrameSamples(frame.payload);
  if (samples <= 0 || samples > kMaxFrameSamples || samples % kConcealUnitSamples != 0) {
    ++stats_.malformed_frames;
    return 0;
  }
  const bool primary = kind == Frame::kPrimary;
  const InsertResult result = packets_.Insert(
      StoredFrame{.timestamp = timestamp, .frame_samples = samples, .sequence = sequence,
                  .primary = primary, .payload = frame.payload});
  if (result.frames_dropped_for_space > 0) {
    stats_.frames_discarded += static_cast<uint64_t>(result.frames_dropped_for_space);
    overflow_pending_ = started_;
  }
  switch (result.outcome) {
    case InsertOutcome::kStored:
    case InsertOutcome::kReplacedRedundant:
      if (primary) stale_primaries_ = 0;
      return samples;
    case InsertOutcome::kDuplicatePrimary:
      ++stats_.duplicate_frames;
      return 0;
    case InsertOutcome::kRedundantUnneeded:
      ++stats_.redundant_copies_unused;
      return 0;
    case InsertOutcome::kLate:
      ++stats_.late_frames;
      if (timestamp + samples < next_timestamp_ - config_.max_delay_ms * kSamplesPerMs) {
        if (++stale_primaries_ >= kStalePrimariesForRestart) {
          Restart();
          InsertFrame(frame, timestamp, sequence, kind);
        }
        return 0;  // a timing from another epoch says nothing about this stream's jitter
      }
      return samples;  // late packets are exactly what the delay estimate must see
  }
  return 0;
}

void JitterBuffer::Impl::Restart() {
  // The sender's timeline jumped back (a restarted stream): play what is decoded, then
  // start over on the new frames as on a fresh call.
  packets_.Clear();
  decision_.Reset();
  delay_.ResetReference();
  started_ = false;
  previous_sequence_.reset();
  gap_waited_samples_ = 0;
  gap_is_dtx_ = false;
  gap_reference_reset_ = false;
  trim_pending_ = overflow_pending_ = false;
  stale_primaries_ = 0;
  ++stats_.resyncs;
}

// ---- Pull ----

void JitterBuffer::Impl::Pull(std::span<Sample, kBlockSamples> out) {
  int steps = 0;
  while (sync_.future_samples() < kBlockSamples) {
    // Each step appends audio or consumes a held frame, so this is bounded; the check
    // turns a logic error into a clear abort instead of a hang.
    PARLEY_CHECK_MSG(++steps <= 256, "jitter buffer: no progress in Pull");
    if (!started_) {
      if (!packets_.empty() && packets_.num_samples() >= TargetSamples()) {
        Start();
        continue;
      }
      // Before the first frame (or a restart) is due: silence, not concealment.
      static constexpr Sample kSilence[kBlockSamples] = {};
      sync_.Append(std::span<const Sample>(kSilence, static_cast<size_t>(kBlockSamples - sync_.future_samples())),
                   SyncBuffer::kNoTimestamp);
      break;
    }
    if (overflow_pending_) {
      overflow_pending_ = false;
      const StoredFrame* oldest = packets_.Oldest();
      if (oldest && oldest->timestamp > next_timestamp_) {
        // Overflow dropped the frames due next: jump to what is held, without concealing.
        ++stats_.resyncs;
        AdvanceTo(oldest->timestamp);
        last_op_ = Operation::kExpand;  // a discontinuity: cross-fade into it
        continue;
      }
    }
    if (packets_.Find(next_timestamp_)) {
      DecodeStep();
    } else {
      MissingStep();
    }
  }
  const int64_t first = sync_.Pull(out);
  last_playout_timestamp_ = first == SyncBuffer::kNoTimestamp
                                ? std::nullopt
                                : std::optional<uint32_t>(static_cast<uint32_t>(first));
  stats_.max_delay_ms = std::max(stats_.max_delay_ms, static_cast<double>(BufferedSamples()) / kSamplesPerMs);
}

void JitterBuffer::Impl::Start() {
  started_ = true;
  next_timestamp_ = packets_.Oldest()->timestamp;
  packets_.SetPlayoutTimestamp(next_timestamp_);
  decision_.Reset();
  last_op_ = Operation::kNormal;
  gap_waited_samples_ = 0;
}

void JitterBuffer::Impl::DecodeStep() {
  if ((trim_pending_ || gap_waited_samples_ >= kLongGapSamples) && TrimStale()) return;
  trim_pending_ = false;

  const Operation op = decision_.Decide({.target_samples = TargetSamples(),
                                         .buffered_samples = BufferedSamples(),
                                         .next_frame_available = true,
                                         .previous = last_op_});
  const StoredFrame frame = packets_.Take(next_timestamp_);
  if (!PlayFrame(frame, op == Operation::kMerge)) return;
  last_op_ = op;
  if (op == Operation::kAccelerate) {
    // Time stretching needs 30 ms of decoded audio: decode what follows if it is here.
    while (sync_.future_samples() < TimeStretch::kMinInputSamples && packets_.Find(next_timestamp_)) {
      if (!PlayFrame(packets_.Take(next_timestamp_), false)) return;
    }
    Stretch(true);
  } else if (op == Operation::kPreemptiveExpand) {
    Stretch(false);
  }
}

bool JitterBuffer::Impl::PlayFrame(const StoredFrame& frame, bool merge) {
  PARLEY_CHECK(frame.timestamp == next_timestamp_);
  if (merge) ContinueConcealment();
  const int decoded = decoder_.Decode(frame.payload, scratch_);
  if (gap_waited_samples_ > 0) underrun_samples_ += static_cast<uint64_t>(gap_waited_samples_);
  previous_sequence_ = frame.sequence;
  last_frame_samples_ = frame.frame_samples;
  if (decoded <= 0) {
    // Sized but undecodable: conceal its length, so the timeline stays consistent.
    ++stats_.malformed_frames;
    ++stats_.frames_concealed;
    AppendConcealment(frame.frame_samples);
    AdvanceTo(frame.end_timestamp());
    last_op_ = Operation::kExpand;
    return false;
  }
  const auto samples = std::span<Sample>(scratch_).first(static_cast<size_t>(std::min(decoded, kMaxFrameSamples)));
  if (merge) {
    Merge::Apply(crossfade_, samples);
    ++stats_.merge_count;
  }
  sync_.Append(samples, frame.timestamp);
  ++(frame.primary ? stats_.frames_decoded : stats_.frames_from_redundancy);
  packets_.MarkPlayed(frame.timestamp, frame.primary);
  AdvanceTo(frame.end_timestamp());
  return true;
}

void JitterBuffer::Impl::MissingStep() {
  const StoredFrame* next = packets_.FirstAtOrAfter(next_timestamp_);
  if (!next) {
    // Nothing held: the frame may be only a few ms late. Conceal 10 ms and stay at this
    // timestamp, so if it comes it is played (merged) rather than lost; the delay grows
    // by what was concealed and the decisions shrink it again later.
    AppendConcealment(kBlockSamples);
    gap_waited_samples_ += kBlockSamples;
    if (gap_is_dtx_) dtx_samples_ += kBlockSamples;
    last_op_ = Operation::kExpand;
    return;
  }

  const int max_pause_samples = config_.max_delay_ms * kSamplesPerMs;
  const GapPlan plan = PlanGap({.gap_samples = ClampToInt(next->timestamp - next_timestamp_),
                                .waited_samples = ClampToInt(gap_waited_samples_),
                                .previous_sequence = previous_sequence_,
                                .next_sequence = next->sequence,
                                .next_frame_samples = next->frame_samples,
                                .next_has_fec = decoder_.HasFec(next->payload),
                                .last_frame_samples = last_frame_samples_,
                                .buffered_samples = BufferedSamples(),
                                .target_samples = TargetSamples(),
                                .max_conceal_samples = kMaxLossConcealSamples});
  const int64_t next_timestamp = next->timestamp;

  if (plan.dtx) {
    if (!gap_is_dtx_) {
      gap_is_dtx_ = true;
      dtx_samples_ += static_cast<uint64_t>(gap_waited_samples_);  // waited in a pause, not a loss
    }
    const bool pause_too_long = next_timestamp - next_timestamp_ - gap_waited_samples_ > max_pause_samples;
    if (plan.comfort_noise_samples > 0 && !pause_too_long) {
      const int samples = std::clamp(plan.comfort_noise_samples / kConcealUnitSamples * kConcealUnitSamples,
                                     kConcealUnitSamples, kBlockSamples);
      AppendConcealment(samples);
      gap_waited_samples_ += samples;
      dtx_samples_ += static_cast<uint64_t>(samples);
      last_op_ = Operation::kComfortNoise;
      return;
    }
    if (pause_too_long) ++stats_.resyncs;
    gap_waited_samples_ = 0;  // a pause is not an underrun
    decision_.Reset();        // the level before the pause says nothing about the talk spurt
    AdvanceTo(next_timestamp);
    return;
  }

  const bool long_gap = gap_waited_samples_ >= kLongGapSamples;
  const int recovered = plan.fec_samples > 0 ? 1 : 0;
  stats_.frames_concealed += static_cast<uint64_t>(std::max(0, plan.lost_frames - recovered));
  if (plan.plc_samples > 0) {
    AppendConcealment(plan.plc_samples);
    last_op_ = Operation::kExpand;
  }
  if (plan.skip) ++stats_.resyncs;
  if (plan.fec_samples > 0) PlayFec(*next, plan.fec_samples);
  gap_waited_samples_ = 0;  // the wait was part of the loss, not an underrun
  AdvanceTo(next_timestamp);
  trim_pending_ = long_gap;
}

void JitterBuffer::Impl::PlayFec(const StoredFrame& next, int fec_samples) {
  const bool merge = last_op_ == Operation::kExpand || last_op_ == Operation::kComfortNoise;
  if (merge) ContinueConcealment();
  const int decoded = decoder_.DecodeFec(next.payload, fec_samples, std::span<Sample>(scratch_));
  const int64_t lost_timestamp = next.timestamp - fec_samples;
  if (decoded <= 0) {
    ++stats_.frames_concealed;
    AppendConcealment(fec_samples);
    last_op_ = Operation::kExpand;
    return;
  }
  const auto samples = std::span<Sample>(scratch_).first(static_cast<size_t>(std::min(decoded, kMaxFrameSamples)));
  if (merge) {
    Merge::Apply(crossfade_, samples);
    ++stats_.merge_count;
  }
  sync_.Append(samples, lost_timestamp);
  ++stats_.frames_from_fec;
  packets_.MarkPlayed(lost_timestamp, false);
  last_op_ = Operation::kNormal;
}

bool JitterBuffer::Impl::Stretch(bool accelerate) {
  const StretchResult result =
      accelerate ? stretch_.Accelerate(sync_.samples(), sync_.future_start(), stretched_)
                 : stretch_.PreemptiveExpand(sync_.samples(), sync_.future_start(), stretched_);
  if (result.samples_changed == 0) return false;
  TimeStretch::ApplyToTrack(result, accelerate, sync_.timestamps(), sync_.future_start(), stretched_timestamps_);
  sync_.ReplaceFuture(stretched_, stretched_timestamps_);
  decision_.OnStretched(accelerate ? -result.samples_changed : result.samples_changed);
  if (accelerate) {
    ++stats_.accelerate_count;
    accelerated_samples_ += static_cast<uint64_t>(result.samples_changed);
  } else {
    ++stats_.expand_count;
    expanded_samples_ += static_cast<uint64_t>(result.samples_changed);
  }
  return true;
}

void JitterBuffer::Impl::AppendConcealment(int samples) {
  while (samples > 0) {
    const int chunk = std::min(samples, kMaxFrameSamples);
    const auto out = std::span<Sample>(scratch_).first(static_cast<size_t>(chunk));
    const int written = std::clamp(decoder_.Conceal(chunk, out), 0, chunk);
    // A decoder that writes less leaves silence, never a shorter timeline.
    std::fill(out.begin() + written, out.end(), Sample{0});
    sync_.Append(out, SyncBuffer::kNoTimestamp);
    concealed_samples_ += static_cast<uint64_t>(chunk);
    samples -= chunk;
  }
}

void JitterBuffer::Impl::ContinueConcealment() {
  const int written = std::clamp(decoder_.Conceal(Merge::kCrossfadeSamples, crossfade_), 0,
                                 Merge::kCrossfadeSamples);
  std::fill(crossfade_.begin() + written, crossfade_.end(), Sample{0});
}

void JitterBuffer::Impl::AdvanceTo(int64_t timestamp) {
  next_timestamp_ = timestamp;
  stats_.frames_discarded += static_cast<uint64_t>(packets_.SetPlayoutTimestamp(timestamp));
  gap_waited_samples_ = 0;
  gap_is_dtx_ = false;
  gap_reference_reset_ = false;
}

bool JitterBuffer::Impl::TrimStale() {
  // After a long outage the held frames may be a backlog that arrived in a burst; playing
  // all of it would keep the whole outage as extra delay. Keep only the newest target's
  // worth and jump to it.
  trim_pending_ = false;
  const int target = TargetSamples();
  int dropped = 0;
  while (packets_.num_frames() > 1 && packets_.num_samples() - packets_.Oldest()->frame_samples >= target) {
    previous_sequence_ = packets_.Oldest()->sequence;
    packets_.DropOldest();
    ++dropped;
  }
  if (dropped == 0) return false;
  stats_.frames_discarded += static_cast<uint64_t>(dropped);
  ++stats_.resyncs;
  AdvanceTo(packets_.Oldest()->timestamp);
  last_op_ = Operation::kExpand;  // cross-fade into the newer audio
  decision_.Reset();
  return true;
}

JitterBufferStats JitterBuffer::Impl::stats() const {
  JitterBufferStats s = stats_;
  s.current_delay_ms = static_cast<double>(BufferedSamples()) / kSamplesPerMs;
  s.target_delay_ms = static_cast<double>(TargetSamples()) / kSamplesPerMs;
  s.decision_level_ms = decision_.filtered_level_samples().value_or(0) / kSamplesPerMs;
  s.concealed_ms = concealed_samples_ / kSamplesPerMs;
  s.dtx_ms = dtx_samples_ / kSamplesPerMs;
  s.underrun_ms = underrun_samples_ / kSamplesPerMs;
  s.accelerated_ms = accelerated_samples_ / kSamplesPerMs;
  s.expanded_ms = expanded_samples_ / kSamplesPerMs;
  return s;
}

// ---- Facade ----

JitterBuffer::JitterBuffer(AudioDecoder& decoder, JitterBufferConfig config)
    : impl_(std::make_unique<Impl>(decoder, config)) {}
JitterBuffer::~JitterBuffer() = default;

void JitterBuffer::Insert(const MediaPacket& packet, TimePoint arrival) { impl_->Insert(packet, arrival); }

void JitterBuffer::Pull(TimePoint /*now*/, std::span<Sample, kBlockSamples> out) {
  // Playout time is implied by the calls themselves (one per 10 ms); arrival times carry
  // the network's timing. `now` is kept in the interface for adapters and future use.
  impl_->Pull(out);
}

std::optional<uint32_t> JitterBuffer::LastPlayoutTimestamp() const { return impl_->LastPlayoutTimestamp(); }

JitterBufferStats JitterBuffer::stats() const { return impl_->stats(); }

}  // namespace parley::media
