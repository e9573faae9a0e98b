// A connected call's media, as logic without I/O: 10 ms microphone blocks in -> Opus
// -> sealed media packets out; sealed packets in -> jitter buffer -> 10 ms playout
// blocks; receiver and quality reports once a second over the sealed control stream,
// steering the sender's bitrate controller (bitrate, frame length, loss protection,
// data saving); an E-model quality estimate; path probes and their replies for the transport's path
// manager; statistics for the status line.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/call/bitrate_controller.h"
#include "parley/call/control_message.h"
#include "parley/call/loss_protection_policy.h"
#include "parley/call/media_receiver.h"
#include "parley/call/media_sender.h"
#include "parley/call/media_transport.h"
#include "parley/crypto/call_keys.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"

namespace parley::call {

struct CallMediaConfig {
  // frame_ms must be a multiple of 10. With adapt_bitrate on, the controller's first
  // choice replaces bitrate_bps and frame_ms (and dtx in data-saving mode).
  media::OpusEncoderConfig encoder;
  // On: the bitrate controller sets Opus bitrate, frame length and loss protection
  // from the peer's quality reports. Off: only loss protection follows the reports.
  bool adapt_bitrate = true;
  BitrateControllerConfig bitrate;  // bitrate.data_saving: the user's --data-saving
  media::JitterBufferConfig jitter_buffer;
  Duration report_interval = seconds(1);
  uint32_t first_timestamp = 0;  // random per call in production (wrap is tested)
  uint16_t first_sequence = 0;
};

// Figures for the status line and --stats; rates are over the last report interval.
struct CallMediaStats {
  uint64_t frames_encoded = 0;     // microphone frames given to Opus
  uint64_t media_packets_sent = 0;
  uint64_t media_packets_received = 0;  // authenticated
  uint64_t control_packets_sent = 0;
  uint64_t control_packets_received = 0;
  uint64_t packets_refused = 0;         // did not open under either stream's key (copies
                                        // that came on a second path included)
  std::optional<double> rtt_ms;         // from the newest report echoing ours
  double receive_loss_fraction = 0;     // of the media we receive, last interval
  double send_loss_fraction = 0;        // of the media we send, as the peer last reported
  double jitter_buffer_delay_ms = 0;
  double send_bitrate_kbps = 0;         // media payload before sealing, last interval
  // Adaptation (bitrate controller) and quality.
  double send_wire_kbps = 0;            // sealed packets + UDP/IP, last interval
  double target_wire_kbps = 0;          // the controller's budget
  int opus_bitrate_bps = 0;             // what the encoder is set to now
  int frame_ms = 0;
  bool data_saving = false;             // ours or asked for by the peer
  double peer_queue_delay_ms = 0;       // of what we send, as the peer last reported
  double send_loss_after_recovery = 0;  // as the peer last reported
  double receive_loss_after_recovery = 0;  // frames we concealed, last interval
  double receive_jitter_ms = 0;         // RFC 3550 interarrival jitter of what we receive
  // ITU-T G.107 E-model of what we hear, per report interval: mouth-to-ear delay (frame
  // + RTT/2 + the jitter buffer's wait + lookahead), loss after recovery, the far end's
  // Opus bitrate. Unset before the first interval with audio; while none of the peer's
  // media or reports arrives for 2.5 s (an outage, not a pause: reports still come in a
  // pause) it is that of losing it all.
  std::optional<double> mos;
  std::optional<double> r_factor;
  uint64_t frames_concealed = 0;
  bool fec = false;                      // current loss protection
  int redundant_copies = 0;
  uint64_t probes_sent = 0;
  uint64_t probe_replies_sent = 0;
  // The peer sent bye (it hung up): the owner ends the call, whatever signaling says.
  bool peer_said_bye = false;
  PathsReport paths;  // refreshed every 250 ms; empty for a one-path transport
};

// Can only be made from the keys of a completed key agreement (crypto::CallKeys come
// from KeyAgreement::TakeKeys after accept and reveal): this is what makes "no media
// before accept" structural. The keys are copied into the sealers/openers and wiped
// with them when this object dies. Single-threaded: the call's media thread.
// `transport` must outlive this object. `now` never goes backwards.
class CallMedia {
 public:
  static Result<std::unique_ptr<CallMedia>> Create(crypto::CallKeys keys, const CallMediaConfig& config,
                                                   MediaTransport& transport, TimePoint now);

  // One captured 10 ms block; every frame_ms of them make a frame to encode and send.
  Status OnCapturedBlock(std::span<const media::Sample, media::kBlockSamples> block, TimePoint now);
  // A sealed packet from the transport, which came on `path`; what does not open is
  // counted and dropped, what does tells the transport the path is alive. A probe is
  // answered at once on the path it came on.
  void OnPacket(std::span<const uint8_t> sealed, TimePoint now, PathId path = 0);
  // The next 10 ms to play.
  void Pull(TimePoint now, std::span<media::Sample, media::kBlockSamples> out);
  // Timers: ticks the transport, sends the probes it asks for and the receiver report
  // when due. Call at least every 10 ms.
  Status OnTick(TimePoint now);
  // Hang-up on the media path: kByeCopies sealed bye messages on the active path, so
  // the peer ends even if no server relays the signaling hangup.
  Status SendBye(TimePoint now);

  const CallMediaStats& stats() const { return stats_; }
  const crypto::Fingerprint& fingerprint() const { return fingerprint_; }

 private:
  CallMedia(crypto::CallKeys& keys, const CallMediaConfig& config, MediaTransport& transport, TimePoint now,
            std::unique_ptr<MediaSender> sender, std::unique_ptr<MediaReceiver> receiver);
  uint32_t ClockMs(TimePoint now) const;
  void OnControl(std::span<const uint8_t> content, PathId path, TimePoint now);
  void OnReceiverReport(const ReceiverReport& report, TimePoint now);
  void OnQualityReport(const QualityReport& report, TimePoint now);
  void ApplySettings(const MediaSettings& settings);
  Status SendReportsIfDue(TimePoint now);
  Status SendPendingReceiverReport(TimePoint now);
  Status SendControl(std::span<const uint8_t> content, std::optional<PathId> path, TimePoint now);

  CallMediaConfig config_;
  MediaTransport* transport_;  // not owned
  TimePoint start_;
  crypto::Fingerprint fingerprint_;
  crypto::PacketSealer media_sealer_;
  crypto::PacketOpener media_opener_;
  crypto::PacketSealer control_sealer_;
  crypto::PacketOpener control_opener_;
  std::unique_ptr<MediaSender> sender_;
  std::unique_ptr<MediaReceiver> receiver_;
  BitrateController controller_;
  MediaSettings applied_;                // what the sender was last set to
  std::optional<int> pending_frame_ms_;  // applied at the next frame boundary
  media::JitterBufferStats last_report_jb_;  // at the previous report, for interval deltas
  // For the quality estimate through an outage: when the peer's media or reports last
  // arrived, and the Opus bitrate last heard.
  std::optional<TimePoint> last_heard_from_peer_;
  int last_heard_opus_bitrate_bps_ = 0;
  // The jitter buffer's delay summed over this report interval's ticks, for its mean.
  double jb_delay_sum_ms_ = 0;
  int jb_delay_ticks_ = 0;

  media::Samples frame_;          // the frame being captured
  std::size_t frame_fill_ = 0;    // samples of frame_ filled
  TimePoint next_report_;
  TimePoint last_report_;
  bool quality_report_next_ = false;  // data saving: which report goes this time
  // The receiver report goes before the media packet after the quality report's, so that
  // no media packet waits behind both; in trouble once a second (the quality reports,
  // four a second, are what the peer's controller needs), counting since the last one.
  std::optional<ReceiverReport> pending_receiver_report_;
  TimePoint receiver_report_pending_since_;
  TimePoint next_receiver_report_;
  uint32_t receiver_report_expected_ = 0;
  uint32_t receiver_report_received_ = 0;
  uint32_t loss_expected_ = 0;  // since the status line's loss was last updated
  uint32_t loss_received_ = 0;
  double loss_span_s_ = 0;
  TimePoint next_paths_report_;
  uint64_t payload_bytes_in_interval_ = 0;
  std::optional<uint32_t> peer_sent_ms_;  // newest report's sent_ms, for our echo
  TimePoint peer_report_arrival_;
  CallMediaStats stats_;
};

}  // namespace parley::call
