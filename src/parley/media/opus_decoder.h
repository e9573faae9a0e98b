// The receive side's Opus decoder (libopus 1.3), 48 kHz mono: the AudioDecoder the
// jitter buffer drives for decoding, FEC recovery and loss concealment.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "parley/base/result.h"
#include "parley/media/audio_decoder.h"

namespace parley::media {

// True if `packet` carries in-band FEC (LBRR) data for the frame before it. libopus 1.3
// has no opus_packet_has_lbrr, so this reads the SILK header bits itself; false for
// CELT-only and malformed packets. Pure: any context may call it.
bool OpusPacketHasLbrr(std::span<const uint8_t> packet);

// One decoder per incoming stream; it keeps state between frames (prediction, PLC).
// Not thread-safe: call it from one context (the receive/playout strand). Sample
// counts are at 48 kHz. Malformed input returns -1, never crashes.
class OpusDecoder final : public AudioDecoder {
 public:
  static Result<std::unique_ptr<OpusDecoder>> Create();
  ~OpusDecoder() override;
  OpusDecoder(const OpusDecoder&) = delete;
  OpusDecoder& operator=(const OpusDecoder&) = delete;

  int FrameSamples(std::span<const uint8_t> frame) const override;
  bool HasFec(std::span<const uint8_t> frame) const override;
  int Decode(std::span<const uint8_t> frame, std::span<Sample> out) override;
  // `samples` must be the lost frame's length (a multiple of 2.5 ms, at most out.size()).
  // If `next_frame` carries no FEC, libopus conceals instead (as Conceal would).
  int DecodeFec(std::span<const uint8_t> next_frame, int samples, std::span<Sample> out) override;
  // `samples` must be a multiple of 2.5 ms (120 samples) and at most out.size();
  // otherwise returns -1. On an internal libopus error writes silence.
  int Conceal(int samples, std::span<Sample> out) override;

 private:
  struct State;  // owns libopus' decoder; opaque so <opus.h> stays out of this header
  struct StateDeleter {
    void operator()(State* state) const;
  };

  explicit OpusDecoder(std::unique_ptr<State, StateDeleter> state);

  std::unique_ptr<State, StateDeleter> state_;
};

}  // namespace parley::media
