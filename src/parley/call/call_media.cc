// A connected call's media: frame assembly, sealing, the two streams' openers, the
// once-a-second receiver report with its round-trip echo, and path probes.
#include "parley/call/call_media.h"

#include <algorithm>

namespace parley::call {

Result<std::unique_ptr<CallMedia>> CallMedia::Create(crypto::CallKeys keys, const CallMediaConfig& config,
                                                     MediaTransport& transport, TimePoint now) {
  if (config.encoder.frame_ms % media::kBlockMs != 0) {
    return Error{"the Opus frame length must be a multiple of 10 ms"};
  }
  auto sender = MediaSender::Create(config.encoder, config.first_timestamp, config.first_sequence);
  if (!sender) return sender.error();
  auto receiver = MediaReceiver::Create(config.jitter_buffer);
  if (!receiver) return receiver.error();
  return std::unique_ptr<CallMedia>(
      new CallMedia(keys, config, transport, now, std::move(*sender), std::move(*receiver)));
}

CallMedia::CallMedia(crypto::CallKeys& keys, const CallMediaConfig& config, MediaTransport& transport,
                     TimePoint now, std::unique_ptr<MediaSender> sender, std::unique_ptr<MediaReceiver> receiver)
    : config_(config),
      transport_(&transport),
      start_(now),
      fingerprint_(keys.fingerprint),
      media_sealer_(keys.media.send, now),
      media_opener_(keys.media.receive),
      control_sealer_(keys.control.send, now),
      control_opener_(keys.control.receive),
      sender_(std::move(sender)),
      receiver_(std::move(receiver)),
      frame_(static_cast<std::size_t>(sender_->frame_samples())),
      next_report_(now + config.report_interval),
      next_paths_report_(now) {}

uint32_t CallMedia::ClockMs(TimePoint now) const {
  // Offset by one so that a report sent at the very start is not mistaken for "none".
  return static_cast<uint32_t>(std::chrono::duration_cast<milliseconds>(now - start_).count() + 1);
}

Status CallMedia::OnCapturedBlock(std::span<const media::Sample, media::kBlockSamples> block, TimePoint now) {
  std::copy(block.begin(), block.end(), frame_.begin() + static_cast<std::ptrdiff_t>(frame_fill_));
  frame_fill_ += block.size();
  if (frame_fill_ < frame_.size()) return Ok{};
  frame_fill_ = 0;
  auto payload = sender_->OnCapturedFrame(frame_);
  if (!payload) return payload.error();
  ++stats_.frames_encoded;
  if (!*payload) return Ok{};  // DTX: nothing to send
  auto sealed = media_sealer_.Seal(**payload, now);
  if (!sealed) return sealed.error();
  payload_bytes_in_interval_ += (*payload)->size();
  ++stats_.media_packets_sent;
  transport_->Send(*sealed, now);
  return Ok{};
}

void CallMedia::OnPacket(std::span<const uint8_t> sealed, TimePoint now, PathId path) {
  // Nothing on the wire says which stream a packet belongs to (DESIGN principle 3), so
  // try media first (50 per second) and then control (1 per second). A packet that
  // does not authenticate changes neither opener.
  if (auto media = media_opener_.Open(sealed)) {
    ++stats_.media_packets_received;
    transport_->OnAuthenticated(path, now);
    receiver_->OnPayload(*media, now);
    return;
  }
  if (auto control = control_opener_.Open(sealed)) {
    ++stats_.control_packets_received;
    transport_->OnAuthenticated(path, now);
    OnControl(*control, path, now);
    return;
  }
  ++stats_.packets_refused;
}

void CallMedia::OnControl(std::span<const uint8_t> content, PathId path, TimePoint now) {
  // Unknown types and malformed messages are ignored: a newer peer's message type, or
  // garbage from a hostile peer.
  if (content.empty()) return;
  switch (content[0]) {
    case kReceiverReportType:
      if (auto report = ParseReceiverReport(content)) OnReceiverReport(*report, now);
      return;
    case kProbeType:
      if (auto probe = ParseProbe(content)) {
        // Answered at once, on the path it came on: that is the path it measures.
        const ProbeReply reply{probe->path, probe->sequence, probe->sent_ms, 0};
        if (SendControl(SerializeProbeReply(reply), path, now)) ++stats_.probe_replies_sent;
      }
      return;
    case kProbeReplyType:
      if (auto reply = ParseProbeReply(content); reply && reply->path == path) {
        transport_->OnProbeReply(path, reply->sequence, reply->echo_ms, reply->reply_delay_ms, now);
      }
      return;
    default: return;
  }
}

Status CallMedia::SendControl(std::span<const uint8_t> content, std::optional<PathId> path, TimePoint now) {
  auto sealed = control_sealer_.Seal(content, now);
  if (!sealed) return sealed.error();
  ++stats_.control_packets_sent;
  if (path) {
    transport_->SendOnPath(*path, *sealed, now);
  } else {
    transport_->Send(*sealed, now);
  }
  return Ok{};
}

void CallMedia::OnReceiverReport(const ReceiverReport& report, TimePoint now) {
  peer_sent_ms_ = report.sent_ms;
  peer_report_arrival_ = now;
  const LossReport loss{report.expected, report.received};
  stats_.send_loss_fraction = std::clamp(loss.loss_fraction(), 0.0, 1.0);
  if (loss.expected > 0) transport_->OnSendLossReport(stats_.send_loss_fraction, now);
  if (report.echo_ms != 0) {
    const uint32_t rtt = ClockMs(now) - report.echo_ms - report.echo_delay_ms;  // wraps
    if (rtt < 60'000) stats_.rtt_ms = rtt;  // else: a bogus echo; keep the last value
  }
  const LossProtection& protection = policy_.OnLossReport(stats_.send_loss_fraction);
  if (sender_->SetProtection(protection)) {
    stats_.fec = protection.fec;
    stats_.redundant_copies = static_cast<int>(protection.redundant_distances.size());
  }
}

void CallMedia::Pull(TimePoint now, std::span<media::Sample, media::kBlockSamples> out) {
  receiver_->Pull(now, out);
}

Status CallMedia::OnTick(TimePoint now) {
  transport_->Tick(now);
  for (const ProbeRequest& due : transport_->TakeDueProbes(now)) {
    const ProbeMessage probe{due.path, due.sequence, due.sent_ms};
    if (Status s = SendControl(SerializeProbe(probe), due.path, now); !s) return s;
    ++stats_.probes_sent;
  }
  if (now >= next_paths_report_) {
    next_paths_report_ = now + milliseconds(250);
    stats_.paths = transport_->paths_report();
  }
  const media::JitterBufferStats jb = receiver_->jitter_buffer_stats();
  stats_.jitter_buffer_delay_ms = jb.current_delay_ms;
  stats_.frames_concealed = jb.frames_concealed;
  if (now < next_report_) return Ok{};
  const double interval_s = ToSeconds(config_.report_interval + (now - next_report_));
  next_report_ = now + config_.report_interval;

  const LossReport loss = receiver_->TakeLossReport();
  stats_.receive_loss_fraction = std::clamp(loss.loss_fraction(), 0.0, 1.0);
  stats_.send_bitrate_kbps = static_cast<double>(payload_bytes_in_interval_) * 8.0 / interval_s / 1000.0;
  payload_bytes_in_interval_ = 0;

  ReceiverReport report;
  report.expected = loss.expected;
  report.received = loss.received;
  report.sent_ms = ClockMs(now);
  if (peer_sent_ms_) {
    report.echo_ms = *peer_sent_ms_;
    report.echo_delay_ms =
        static_cast<uint32_t>(std::chrono::duration_cast<milliseconds>(now - peer_report_arrival_).count());
  }
  return SendControl(SerializeReceiverReport(report), std::nullopt, now);
}

}  // namespace parley::call
