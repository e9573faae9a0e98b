// Parser, loss statistics and jitter buffer wired together.
#include "parley/call/media_receiver.h"

namespace parley::call {

Result<std::unique_ptr<MediaReceiver>> MediaReceiver::Create(media::JitterBufferConfig config) {
  auto decoder = media::OpusDecoder::Create();
  if (!decoder) return decoder.error();
  return std::unique_ptr<MediaReceiver>(new MediaReceiver(std::move(*decoder), config));
}

MediaReceiver::MediaReceiver(std::unique_ptr<media::OpusDecoder> decoder,
                             media::JitterBufferConfig config)
    : decoder_(std::move(decoder)), jitter_buffer_(*decoder_, config) {}

void MediaReceiver::OnPayload(std::span<const uint8_t> payload, TimePoint arrival, std::size_t wire_bytes) {
  auto packet = media::ParseMediaPacket(payload);
  if (!packet) {
    ++malformed_payloads_;
    return;
  }
  receive_statistics_.OnPacket(packet->sequence, arrival);
  receive_statistics_.OnArrival(packet->primary.timestamp, decoder_->FrameSamples(packet->primary.payload), wire_bytes,
                                packet->primary.payload.size(), arrival);
  jitter_buffer_.Insert(*packet, arrival);
}

}  // namespace parley::call
