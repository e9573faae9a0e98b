// What the jitter buffer needs from a decoder: decode, recover from FEC, conceal.
// OpusDecoder implements it; tests use fakes that produce recognisable samples.
#pragma once

#include <cstdint>
#include <span>

#include "parley/media/audio_format.h"

namespace parley::media {

class AudioDecoder {
 public:
  virtual ~AudioDecoder() = default;

  // Number of samples (at 48 kHz) the encoded frame decodes to, or -1 if it is malformed.
  virtual int FrameSamples(std::span<const uint8_t> frame) const = 0;

  // True if `frame` carries in-band FEC for the frame that precedes it.
  virtual bool HasFec(std::span<const uint8_t> frame) const = 0;

  // Decodes `frame` into `out` (at least FrameSamples(frame) long). Returns the number
  // of samples written, or -1 if the frame is malformed (the caller then conceals).
  virtual int Decode(std::span<const uint8_t> frame, std::span<Sample> out) = 0;

  // Recovers `samples` samples of the lost frame that precedes `next_frame`, from the
  // FEC that `next_frame` carries. Returns samples written, or -1.
  virtual int DecodeFec(std::span<const uint8_t> next_frame, int samples, std::span<Sample> out) = 0;

  // Conceals `samples` samples of lost audio (packet loss concealment). Returns samples
  // written. Consecutive calls continue the concealment and fade it out.
  virtual int Conceal(int samples, std::span<Sample> out) = 0;
};

}  // namespace parley::media
