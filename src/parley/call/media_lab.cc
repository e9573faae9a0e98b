// The lab's simulation loop: a 10 ms tick drives capture, the two simulated links,
// receiver reports and playout, in that order, all in simulated time.
#include "parley/call/media_lab.h"

#include <algorithm>
#include <cmath>

#include "parley/call/media_receiver.h"
#include "parley/call/media_sender.h"
#include "parley/net/netsim_link.h"
#include "parley/net/netsim_spec.h"

namespace parley::call {
namespace {

using media::kBlockSamples;
using media::kSamplesPerMs;

// Start near the wrap of both counters so every lab run crosses it.
constexpr uint32_t kFirstTimestamp = 0xFFFFFFFFu - 3 * media::kSampleRateHz;
constexpr uint16_t kFirstSequence = 65400;
constexpr Duration kTick = milliseconds(media::kBlockMs);
constexpr Duration kTraceEvery = milliseconds(100);

// The lab's receiver report: just the loss figures (the call's real reports travel
// in the encrypted control channel).
std::vector<uint8_t> EncodeLossReport(const LossReport& report) {
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 4; ++i) {
    bytes[i] = static_cast<uint8_t>(report.expected >> (24 - 8 * i));
    bytes[4 + i] = static_cast<uint8_t>(report.received >> (24 - 8 * i));
  }
  return bytes;
}

LossReport DecodeLossReport(std::span<const uint8_t> bytes) {
  LossReport report;
  for (int i = 0; i < 4; ++i) {
    report.expected = report.expected << 8 | bytes[i];
    report.received = report.received << 8 | bytes[4 + i];
  }
  return report;
}

LossProtection FixedProtection(ProtectionMode mode) {
  LossProtection protection;
  if (mode == ProtectionMode::kFec) {
    protection.fec = true;
    protection.fec_expected_loss_percent = 10;
  }
  if (mode == ProtectionMode::kRedundancy) protection.redundant_distances = {1, 2};
  return protection;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(index), values.end());
  return values[index];
}

// First time after `change` from which the delay stays within tolerance of the target
// for half a second: the buffer has settled on the new network.
std::optional<double> SettleTimeMs(const std::vector<DelayTrace>& trace, double change_s) {
  constexpr double kHoldS = 0.5;
  std::optional<double> since;
  for (const DelayTrace& point : trace) {
    if (point.time_s < change_s) continue;
    const double tolerance_ms = std::max(10.0, 0.15 * point.target_delay_ms);
    if (std::abs(point.current_delay_ms - point.target_delay_ms) <= tolerance_ms) {
      if (!since) since = point.time_s;
      if (point.time_s - *since >= kHoldS) return (*since - change_s) * 1000.0;
    } else {
      since.reset();
    }
  }
  return std::nullopt;
}

}  // namespace

Result<LabReport> RunMediaLab(const LabConfig& config, std::span<const media::Sample> input) {
  auto spec = net::ParseNetsimSpecOrPreset(config.network);
  if (!spec) return spec.error();
  if (input.empty()) return Error{"lab input is empty: give it some speech"};

  media::OpusEncoderConfig encoder_config;
  encoder_config.frame_ms = config.frame_ms;
  encoder_config.bitrate_bps = config.bitrate_bps;
  encoder_config.complexity = config.complexity;
  encoder_config.dtx = config.dtx;
  auto sender = MediaSender::Create(encoder_config, kFirstTimestamp, kFirstSequence);
  if (!sender) return sender.error();
  auto receiver = MediaReceiver::Create(config.jitter_buffer);
  if (!receiver) return receiver.error();

  LossProtectionPolicy policy;
  if (config.protection != ProtectionMode::kAuto) {
    if (Status s = (*sender)->SetProtection(FixedProtection(config.protection)); !s) return s.error();
  }

  const TimePoint start{};
  net::NetsimLink forward(*spec, config.seed, start);
  net::NetsimLink reverse(*spec, config.seed * 0x9E3779B97F4A7C15ull + 1, start);

  const size_t frame_samples = static_cast<size_t>((*sender)->frame_samples());
  const size_t total_frames = (input.size() + frame_samples - 1) / frame_samples;
  const Duration frame_duration = milliseconds(config.frame_ms);
  const TimePoint last_send = start + frame_duration * static_cast<int64_t>(total_frames);
  const TimePoint end = last_send + milliseconds(config.drain_ms);
  const Duration report_interval = milliseconds(config.report_interval_ms);

  LabReport report;
  report.network = net::DescribeNetsimSpec(*spec);
  report.received.reserve(static_cast<size_t>((end - start) / kTick + 1) * kBlockSamples);
  std::vector<double> added_delays_ms;
  media::Samples frame(frame_samples);
  std::array<media::Sample, kBlockSamples> block{};
  uint64_t payload_bytes = 0;
  size_t next_frame = 0;
  TimePoint next_report = start + report_interval;
  TimePoint next_trace = start;

  for (TimePoint now = start; now <= end; now += kTick) {
    // Capture: a frame leaves once its last sample has been recorded.
    while (next_frame < total_frames &&
           start + frame_duration * static_cast<int64_t>(next_frame + 1) <= now) {
      const size_t first = next_frame * frame_samples;
      const size_t count = std::min(frame_samples, input.size() - first);
      std::copy_n(input.begin() + static_cast<ptrdiff_t>(first), count, frame.begin());
      std::fill(frame.begin() + static_cast<ptrdiff_t>(count), frame.end(), 0);
      auto payload = (*sender)->OnCapturedFrame(frame);
      if (!payload) return payload.error();
      ++report.frames_sent;
      if (*payload) {
        payload_bytes += (*payload)->size();
        ++report.packets_sent;
        forward.Send(std::move(**payload), now);
      }
      ++next_frame;
    }

    for (const net::NetsimPacket& packet : reverse.Receive(now)) {
      if (config.protection != ProtectionMode::kAuto || packet.bytes.size() != 8) continue;
      const LossReport loss = DecodeLossReport(packet.bytes);
      if (Status s = (*sender)->SetProtection(policy.OnLossReport(loss.loss_fraction())); !s) {
        return s.error();
      }
    }
    for (const net::NetsimPacket& packet : forward.Receive(now)) {
      (*receiver)->OnPayload(packet.bytes, packet.delivered);
    }

    (*receiver)->Pull(now, block);
    const std::optional<uint32_t> played = (*receiver)->LastPlayoutTimestamp();
    if (!played && config.protection == ProtectionMode::kSilence) block.fill(0);
    report.received.insert(report.received.end(), block.begin(), block.end());
    if (played) {
      const uint32_t samples_since_start = *played - kFirstTimestamp;  // wraps correctly
      const TimePoint captured = start + microseconds(samples_since_start * 1000ull / kSamplesPerMs);
      const Duration network = forward.PropagationDelay(captured + frame_duration);
      added_delays_ms.push_back(ToMillis(now - captured - network));
    }

    if (now >= next_report) {
      reverse.Send(EncodeLossReport((*receiver)->TakeLossReport()), now);
      next_report += report_interval;
    }
    if (now >= next_trace) {
      const media::JitterBufferStats stats = (*receiver)->jitter_buffer_stats();
      report.trace.push_back({ToSeconds(now - start), stats.current_delay_ms, stats.target_delay_ms});
      next_trace += kTraceEvery;
    }
  }

  double sum = 0;
  for (double d : added_delays_ms) sum += d;
  report.added_delay_mean_ms = added_delays_ms.empty() ? 0 : sum / static_cast<double>(added_delays_ms.size());
  report.added_delay_p95_ms = Percentile(added_delays_ms, 0.95);

  report.jitter_buffer = (*receiver)->jitter_buffer_stats();
  const auto frames = static_cast<double>(std::max<uint64_t>(report.frames_sent, 1));
  const net::NetsimStats link = forward.stats();
  report.network_loss_fraction =
      link.sent == 0 ? 0 : static_cast<double>(link.lost()) / static_cast<double>(link.sent);
  report.late_loss_fraction = static_cast<double>(report.jitter_buffer.late_frames) / frames;
  report.recovered_redundancy_fraction = static_cast<double>(report.jitter_buffer.frames_from_redundancy) / frames;
  report.recovered_fec_fraction = static_cast<double>(report.jitter_buffer.frames_from_fec) / frames;
  report.concealed_fraction = static_cast<double>(report.jitter_buffer.frames_concealed) / frames;
  report.payload_bitrate_kbps = static_cast<double>(payload_bytes) * 8.0 / ToSeconds(last_send - start) / 1000.0;
  if (std::optional<Duration> change = spec->LastChange()) {
    report.settle_after_change_ms = SettleTimeMs(report.trace, ToSeconds(*change));
  }
  return report;
}

}  // namespace parley::call
