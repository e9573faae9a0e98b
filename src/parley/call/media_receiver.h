// The receive half of a call's media: media payloads in as they arrive, 10 ms blocks of
// loudspeaker audio out (parser, jitter buffer, decoder), and the loss figures the
// receiver reports back. Runs in one context (the receive/playout strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "parley/base/time.h"
#include "parley/call/receive_statistics.h"
#include "parley/media/jitter_buffer.h"
#include "parley/media/opus_decoder.h"

namespace parley::call {

class MediaReceiver {
 public:
  static Result<std::unique_ptr<MediaReceiver>> Create(media::JitterBufferConfig config = {});

  // A media payload that arrived at `arrival` (already authenticated and opened) in a
  // packet of `wire_bytes` (for the received bitrate; 0 if unknown). A payload that
  // does not parse is counted and dropped.
  void OnPayload(std::span<const uint8_t> payload, TimePoint arrival, std::size_t wire_bytes = 0);
  void Pull(TimePoint now, std::span<media::Sample, media::kBlockSamples> out) {
    jitter_buffer_.Pull(now, out);
  }
  LossReport TakeLossReport() { return receive_statistics_.TakeInterval(); }

  std::optional<uint32_t> LastPlayoutTimestamp() const { return jitter_buffer_.LastPlayoutTimestamp(); }
  media::JitterBufferStats jitter_buffer_stats() const { return jitter_buffer_.stats(); }
  uint64_t malformed_payloads() const { return malformed_payloads_; }

 private:
  MediaReceiver(std::unique_ptr<media::OpusDecoder> decoder, media::JitterBufferConfig config);

  std::unique_ptr<media::OpusDecoder> decoder_;  // outlives jitter_buffer_, which uses it
  media::JitterBuffer jitter_buffer_;
  ReceiveStatistics receive_statistics_;
  uint64_t malformed_payloads_ = 0;
};

}  // namespace parley::call
