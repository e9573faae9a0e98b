// The send half of a call's media: microphone frames in, media payloads out (encoder
// and packetizer), with the loss protection and bitrate the call controller sets.
// Runs in the sender's encode context, never the audio callback (it allocates).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/call/loss_protection_policy.h"
#include "parley/media/media_packetizer.h"
#include "parley/media/opus_encoder.h"

namespace parley::call {

class MediaSender {
 public:
  static Result<std::unique_ptr<MediaSender>> Create(const media::OpusEncoderConfig& config,
                                                     uint32_t first_timestamp, uint16_t first_sequence);

  // One frame of microphone audio (frame_samples() long). Returns the serialized media
  // payload to seal and send, or nothing when DTX leaves the frame unsent.
  Result<std::optional<std::vector<uint8_t>>> OnCapturedFrame(std::span<const media::Sample> frame);

  Status SetProtection(const LossProtection& protection);
  int SetBitrate(int bitrate_bps) { return encoder_->SetBitrate(bitrate_bps); }
  // From the next frame on; the caller hands frames of the new frame_samples().
  Status SetFrameMs(int frame_ms) { return encoder_->SetFrameMs(frame_ms); }
  void SetDtx(bool on) { encoder_->SetDtx(on); }
  // Bytes of one Opus packet at most (0: no cap); from the next frame on.
  Status SetMaxPacketBytes(int bytes) { return encoder_->SetMaxPacketBytes(bytes); }
  int frame_samples() const { return encoder_->FrameSamples(); }
  const media::OpusEncoder& encoder() const { return *encoder_; }

 private:
  MediaSender(std::unique_ptr<media::OpusEncoder> encoder, uint16_t first_sequence);

  std::unique_ptr<media::OpusEncoder> encoder_;
  media::MediaPacketizer packetizer_;
};

}  // namespace parley::call
