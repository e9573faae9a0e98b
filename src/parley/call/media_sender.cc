// Encoder and packetizer wired together under one protection setting.
#include "parley/call/media_sender.h"

namespace parley::call {

Result<std::unique_ptr<MediaSender>> MediaSender::Create(const media::OpusEncoderConfig& config,
                                                         uint32_t first_timestamp,
                                                         uint16_t first_sequence) {
  auto encoder = media::OpusEncoder::Create(config, first_timestamp);
  if (!encoder) return encoder.error();
  return std::unique_ptr<MediaSender>(new MediaSender(std::move(*encoder), first_sequence));
}

MediaSender::MediaSender(std::unique_ptr<media::OpusEncoder> encoder, uint16_t first_sequence)
    : encoder_(std::move(encoder)), packetizer_(first_sequence) {}

Result<std::optional<std::vector<uint8_t>>> MediaSender::OnCapturedFrame(
    std::span<const media::Sample> frame) {
  auto encoded = encoder_->Encode(frame);
  if (!encoded) return encoded.error();
  std::optional<media::MediaPacket> packet = packetizer_.Packetize(std::move(*encoded));
  if (!packet) return std::optional<std::vector<uint8_t>>{};
  return std::optional<std::vector<uint8_t>>{media::SerializeMediaPacket(*packet)};
}

Status MediaSender::SetProtection(const LossProtection& protection) {
  if (Status fec = encoder_->SetFec(protection.fec, protection.fec_expected_loss_percent); !fec) {
    return fec;
  }
  packetizer_.SetRedundantDistances(protection.redundant_distances);
  return Ok{};
}

}  // namespace parley::call
