// A connected call's media: frame assembly, sealing, the two streams' openers, the
// once-a-second receiver and quality reports with the round-trip echo, the bitrate
// controller's choices applied to the sender, and path probes.
#include "parley/call/call_media.h"

#include <algorithm>

#include "parley/call/quality_estimate.h"

namespace parley::call {

Result<std::unique_ptr<CallMedia>> CallMedia::Create(crypto::CallKeys keys, const CallMediaConfig& config,
                                                     MediaTransport& transport, TimePoint now) {
  if (config.encoder.frame_ms % media::kBlockMs != 0) {
    return Error{"the Opus frame length must be a multiple of 10 ms"};
  }
  media::OpusEncoderConfig encoder = config.encoder;
  if (config.adapt_bitrate) {
    // Start as the controller would, so the first frames already fit its budget.
    const MediaSettings first = BitrateController(config.bitrate).settings();
    encoder.bitrate_bps = first.opus_bitrate_bps;
    encoder.frame_ms = first.frame_ms;
    encoder.dtx = encoder.dtx || first.dtx;
    encoder.max_packet_bytes = first.max_opus_bytes;
  }
  auto sender = MediaSender::Create(encoder, config.first_timestamp, config.first_sequence);
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
      controller_(config.bitrate),
      frame_(static_cast<std::size_t>(sender_->frame_samples())),
      next_report_(now + config.report_interval),
      last_report_(now),
      next_paths_report_(now) {
  applied_.opus_bitrate_bps = sender_->encoder().config().bitrate_bps;
  applied_.frame_ms = sender_->encoder().config().frame_ms;
  applied_.dtx = sender_->encoder().config().dtx;
  applied_.max_opus_bytes = sender_->encoder().config().max_packet_bytes;
  stats_.opus_bitrate_bps = applied_.opus_bitrate_bps;
  stats_.frame_ms = applied_.frame_ms;
  stats_.data_saving = controller_.data_saving();
  stats_.target_wire_kbps = controller_.target_wire_bps() / 1000;
}

uint32_t CallMedia::ClockMs(TimePoint now) const {
  // Offset by one so that a report sent at the very start is not mistaken for "none".
  return static_cast<uint32_t>(std::chrono::duration_cast<milliseconds>(now - start_).count() + 1);
}

Status CallMedia::OnCapturedBlock(std::span<const media::Sample, media::kBlockSamples> block, TimePoint now) {
  if (pending_frame_ms_ && frame_fill_ == 0) {
    // Frame length changes only between frames.
    if (Status s = sender_->SetFrameMs(*pending_frame_ms_); !s) return s;
    frame_.assign(static_cast<std::size_t>(sender_->frame_samples()), 0);
    applied_.frame_ms = *pending_frame_ms_;
    stats_.frame_ms = applied_.frame_ms;
    pending_frame_ms_.reset();
  }
  std::copy(block.begin(), block.end(), frame_.begin() + static_cast<std::ptrdiff_t>(frame_fill_));
  frame_fill_ += block.size();
  if (frame_fill_ < frame_.size()) return Ok{};
  frame_fill_ = 0;
  // Reports due go out right before a media packet: on a full drop-tail queue the first
  // packet after a departure gets in, so a report sent right after a media packet, or
  // alone between two (media keeps the queue at its brim), is nearly always the one
  // dropped, and congestion would hide its own signal; before one, it gets the media
  // packet's chance.
  if (Status s = SendReportsIfDue(now); !s) return s;
  auto payload = sender_->OnCapturedFrame(frame_);
  if (!payload) return payload.error();
  ++stats_.frames_encoded;
  if (!*payload) return Ok{};  // DTX: nothing to send
  // Padded while the bitrate controller probes, so the probe sends the rate it tests.
  auto sealed = media_sealer_.Seal(**payload, now, controller_.ProbePaddingFloor(now));
  if (!sealed) return sealed.error();
  payload_bytes_in_interval_ += (*payload)->size();
  controller_.OnPacketSent(sealed->size(), now);
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
    last_heard_from_peer_ = now;
    transport_->OnAuthenticated(path, now);
    receiver_->OnPayload(*media, now, sealed.size());
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
      if (auto report = ParseReceiverReport(content)) {
        last_heard_from_peer_ = now;
        OnReceiverReport(*report, now);
      }
      return;
    case kQualityReportType:
      if (auto report = ParseQualityReport(content)) {
        last_heard_from_peer_ = now;
        OnQualityReport(*report, now);
      }
      return;
    case kProbeType:
      if (auto probe = ParseProbe(content)) {
        // Answered at once, on the path it came on: that is the path it measures.
        const ProbeReply reply{probe->path, probe->sequence, probe->sent_ms, 0};
        if (SendControl(SerializeProbeReply(reply), path, now)) ++stats_.probe_replies_sent;
      }
      return;
    case kByeType:
      if (ParseBye(content)) stats_.peer_said_bye = true;
      return;
    case kProbeReplyType:
      if (auto reply = ParseProbeReply(content); reply && reply->path == path) {
        transport_->OnProbeReply(path, reply->sequence, reply->echo_ms, reply->reply_delay_ms, now);
      }
      return;
    default: return;
  }
}

Status CallMedia::SendBye(TimePoint now) {
  const std::vector<uint8_t> bye = SerializeBye({});
  for (int i = 0; i < kByeCopies; ++i) {
    if (Status s = SendControl(bye, std::nullopt, now); !s) return s;
  }
  return Ok{};
}

Status CallMedia::SendControl(std::span<const uint8_t> content, std::optional<PathId> path, TimePoint now) {
  auto sealed = control_sealer_.Seal(content, now);
  if (!sealed) return sealed.error();
  ++stats_.control_packets_sent;
  if (path) {
    transport_->SendOnPath(*path, *sealed, now);
  } else {
    // Reports share the bottleneck with media (four a second in trouble, ~6 kbit/s on
    // the wire): the budget pays for them.
    controller_.OnControlSent(sealed->size(), now);
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
    if (rtt < 60'000) {
      stats_.rtt_ms = rtt;
      controller_.OnRtt(rtt);
    }  // else: a bogus echo; keep the last value
  }
  // Protection from this report only while the peer sends no quality reports.
  ApplySettings(controller_.OnReceiverReportLoss(stats_.send_loss_fraction, now));
}

void CallMedia::OnQualityReport(const QualityReport& report, TimePoint now) {
  stats_.peer_queue_delay_ms = report.queue_delay_ms;
  stats_.send_loss_after_recovery = report.loss_after_fraction();
  ApplySettings(controller_.OnQualityReport(report, now));
}

void CallMedia::ApplySettings(const MediaSettings& settings) {
  stats_.data_saving = controller_.data_saving();
  stats_.target_wire_kbps = controller_.target_wire_bps() / 1000;
  if (settings.protection != applied_.protection && sender_->SetProtection(settings.protection)) {
    applied_.protection = settings.protection;
    stats_.fec = settings.protection.fec;
    stats_.redundant_copies = static_cast<int>(settings.protection.redundant_distances.size());
  }
  if (!config_.adapt_bitrate) return;
  if (settings.opus_bitrate_bps != applied_.opus_bitrate_bps) {
    applied_.opus_bitrate_bps = sender_->SetBitrate(settings.opus_bitrate_bps);
    stats_.opus_bitrate_bps = applied_.opus_bitrate_bps;
  }
  if (settings.dtx != applied_.dtx) {
    sender_->SetDtx(settings.dtx || config_.encoder.dtx);
    applied_.dtx = settings.dtx;
  }
  if (settings.max_opus_bytes != applied_.max_opus_bytes && sender_->SetMaxPacketBytes(settings.max_opus_bytes)) {
    applied_.max_opus_bytes = settings.max_opus_bytes;
  }
  if (settings.frame_ms != applied_.frame_ms) {
    pending_frame_ms_ = settings.frame_ms;
  } else {
    pending_frame_ms_.reset();
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
  jb_delay_sum_ms_ += jb.current_delay_ms;
  ++jb_delay_ticks_;
  ApplySettings(controller_.OnTick(now));
  // Alone only when no media packet took it within a frame (DTX, nothing captured).
  const Duration frame = milliseconds(applied_.frame_ms);
  if (pending_receiver_report_ ? now < receiver_report_pending_since_ + frame : now < next_report_ + frame) {
    return Ok{};
  }
  return SendReportsIfDue(now);
}

Status CallMedia::SendPendingReceiverReport(TimePoint now) {
  ReceiverReport report = *pending_receiver_report_;
  pending_receiver_report_.reset();
  report.sent_ms = ClockMs(now);
  if (peer_sent_ms_) {
    report.echo_ms = *peer_sent_ms_;
    report.echo_delay_ms =
        static_cast<uint32_t>(std::chrono::duration_cast<milliseconds>(now - peer_report_arrival_).count());
  }
  return SendControl(SerializeReceiverReport(report), std::nullopt, now);
}

Status CallMedia::SendReportsIfDue(TimePoint now) {
  if (pending_receiver_report_) return SendPendingReceiverReport(now);
  if (now < next_report_) return Ok{};
  const media::JitterBufferStats jb = receiver_->jitter_buffer_stats();
  const double interval_s = ToSeconds(now - last_report_);
  last_report_ = now;

  const LossReport loss = receiver_->TakeLossReport();
  // The status line's loss covers about a second even when reports come faster.
  loss_expected_ += loss.expected;
  loss_received_ += loss.received;
  loss_span_s_ += interval_s;
  if (loss_span_s_ >= 0.99) {
    stats_.receive_loss_fraction = std::clamp(LossReport{loss_expected_, loss_received_}.loss_fraction(), 0.0, 1.0);
    loss_expected_ = loss_received_ = 0;
    loss_span_s_ = 0;
  }
  stats_.send_bitrate_kbps = static_cast<double>(payload_bytes_in_interval_) * 8.0 / interval_s / 1000.0;
  stats_.send_wire_kbps = controller_.SentWireBps(now) / 1000;
  payload_bytes_in_interval_ = 0;

  // Loss after recovery: frames played as concealment among the frames due.
  const uint64_t concealed = jb.frames_concealed - last_report_jb_.frames_concealed;
  const uint64_t due = concealed + (jb.frames_decoded - last_report_jb_.frames_decoded) +
                       (jb.frames_from_redundancy - last_report_jb_.frames_from_redundancy) +
                       (jb.frames_from_fec - last_report_jb_.frames_from_fec);
  last_report_jb_ = jb;
  stats_.receive_loss_after_recovery = due == 0 ? 0 : static_cast<double>(concealed) / static_cast<double>(due);
  stats_.receive_jitter_ms = loss.jitter_ms;
  // In an outage nothing arrives, so no frame is counted due or concealed until the
  // next packet; the listener hears nothing meanwhile, which the estimate must say
  // (the status line would otherwise show the last good second under "reconnecting").
  // Media or the peer's reports, not probes (a backup path answers those while the
  // active one is dead). 2.5 s: in a DTX pause a browser peer sends nothing but its
  // reports, a second apart, and one of them may be lost.
  constexpr Duration kNothingHeardAfter = milliseconds(2500);
  const bool peer_silent = loss.opus_bitrate_bps == 0 && last_heard_opus_bitrate_bps_ > 0 && last_heard_from_peer_ &&
                           now - *last_heard_from_peer_ >= kNothingHeardAfter;
  if (loss.opus_bitrate_bps > 0) last_heard_opus_bitrate_bps_ = static_cast<int>(loss.opus_bitrate_bps);
  if (loss.opus_bitrate_bps > 0 || peer_silent) {
    QualityInputs inputs;
    // Mouth to ear: a sample waits for the rest of its frame, crosses the network and
    // waits in the buffer behind the earlier samples; summed, that is the frame, the
    // one-way delay and the buffer's wait for a packet's first sample, which is the
    // buffer's mean level less half a frame (it holds a packet's frame more right after
    // it arrives). The mean over the interval, since with 120 ms packets what it holds at
    // one instant is anywhere between 20 and 105 ms.
    const double jb_mean_ms = jb_delay_ticks_ == 0 ? jb.current_delay_ms : jb_delay_sum_ms_ / jb_delay_ticks_;
    inputs.one_way_delay_ms = stats_.rtt_ms.value_or(0) / 2 + jb_mean_ms + loss.frame_ms / 2.0 + kOpusLookaheadMs;
    inputs.loss_after_recovery = peer_silent ? 1.0 : stats_.receive_loss_after_recovery;
    inputs.opus_bitrate_bps = last_heard_opus_bitrate_bps_;
    const QualityEstimate estimate = EstimateQuality(inputs);
    stats_.mos = estimate.mos;
    stats_.r_factor = estimate.r_factor;
  }
  jb_delay_sum_ms_ = 0;
  jb_delay_ticks_ = 0;

  ReceiverReport report;
  // Counted since the last receiver report (in trouble or data saving it skips intervals).
  receiver_report_expected_ += loss.expected;
  receiver_report_received_ += loss.received;
  report.expected = receiver_report_expected_;
  report.received = receiver_report_received_;

  QualityReport quality;
  quality.data_saving = config_.bitrate.data_saving;
  quality.loss_before_recovery = LossUnits(loss.loss_fraction());
  quality.loss_after_recovery = LossUnits(stats_.receive_loss_after_recovery);
  quality.jitter_ms = SaturatedMs(loss.jitter_ms);
  quality.jitter_buffer_ms = SaturatedMs(jb.current_delay_ms);
  quality.queue_delay_ms = SaturatedMs(loss.queue_delay_ms);
  quality.received_bps = static_cast<uint32_t>(std::min(4e9, static_cast<double>(loss.bytes) * 8 / interval_s));
  quality.interval_ms = SaturatedMs(interval_s * 1000);
  if (controller_.data_saving()) {
    // Data saving's 12 kbit/s counts control packets too: 9 media packets of 156 bytes
    // with UDP/IP can fall in one second, which leaves room for one 92-byte control
    // packet, not two. So the reports take turns, one a second, and no faster in trouble
    // (the sender is at its floor already).
    next_report_ = now + config_.report_interval;
    quality_report_next_ = !quality_report_next_;
    if (quality_report_next_) return SendControl(SerializeQualityReport(quality), std::nullopt, now);
    receiver_report_expected_ = receiver_report_received_ = 0;
    pending_receiver_report_ = report;
    return SendPendingReceiverReport(now);
  }
  // While a queue builds or packets go missing, report four times as often: the sender
  // learns sooner, and a report has more chances through a full queue. Only the quality
  // report: both four times a second would cost ~6 kbit/s on the wire, a quarter of a
  // 24 kbit/s bottleneck shared by both directions' trouble.
  const bool queue_trouble = loss.queue_delay_ms >= 40;
  const bool trouble = queue_trouble || loss.loss_fraction() > 0.02;
  next_report_ = now + (trouble ? config_.report_interval / 4 : config_.report_interval);
  // The quality report first: on a full drop-tail queue only the first of two packets
  // sent back to back tends to get in, and the quality report is what ends the queue.
  if (Status s = SendControl(SerializeQualityReport(quality), std::nullopt, now); !s) return s;
  if (queue_trouble && now < next_receiver_report_) return Ok{};
  receiver_report_expected_ = receiver_report_received_ = 0;
  next_receiver_report_ = now + config_.report_interval - milliseconds(50);
  pending_receiver_report_ = report;
  receiver_report_pending_since_ = now;
  return Ok{};
}

}  // namespace parley::call
