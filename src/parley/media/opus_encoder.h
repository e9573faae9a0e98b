// The send side's Opus encoder (libopus 1.3): 48 kHz mono speech, one frame in, one
// Opus packet out, with bitrate, frame size, FEC, DTX, complexity and a packet size cap
// settable live.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "parley/base/result.h"
#include "parley/media/audio_format.h"
#include "parley/media/media_packet.h"

namespace parley::media {

inline constexpr int kMinBitrateBps = 6000;   // bits per second; requests below are raised
inline constexpr int kMaxBitrateBps = 64000;  // bits per second; requests above are lowered

struct OpusEncoderConfig {
  // 10, 20, 40, 60, or 80, 100, 120 (libopus codes these as one packet of 2-6 frames
  // of 20/40/60 ms: fewer packets, so less overhead per second, for data saving).
  int frame_ms = 20;
  int bitrate_bps = 24000;    // > 0; clamped to [kMinBitrateBps, kMaxBitrateBps]
  // In-band FEC (Opus LBRR): packet N also carries a coarse copy of frame N-1. It exists
  // only in SILK and hybrid modes and needs about 20 kbit/s or more. With `fec` on,
  // libopus is told at least 6 % loss so that it narrows the audio bandwidth until the
  // LBRR fits (at <= 5 % libopus 1.3 would rather drop FEC, e.g. at 24 kbit/s), and
  // with 40/60 ms frames the bandwidth is capped at wideband (SILK-only), the one mode
  // whose FEC covers the whole of a long frame rather than its last 20 ms.
  bool fec = false;
  int expected_loss_percent = 0;  // 0..100; also tunes how much Opus spends on FEC
  // Discontinuous transmission: in silence most frames become "nothing to send".
  bool dtx = false;
  int complexity = 9;  // 0 (cheapest) .. 10 (best)
  // The largest Opus packet to produce, bytes (0: no cap beyond libopus' own). VBR
  // frames above the average would otherwise spill into the next padding bucket;
  // libopus codes a frame that would not fit at a lower rate instead.
  int max_packet_bytes = 0;

  bool operator==(const OpusEncoderConfig&) const = default;
};

// One encoder per outgoing stream. Not thread-safe: call it from one context (the
// sender's encode strand; never the audio callback, since Encode allocates).
class OpusEncoder {
 public:
  // Fails with a readable error on a bad config or if libopus refuses it.
  static Result<std::unique_ptr<OpusEncoder>> Create(const OpusEncoderConfig& config,
                                                     uint32_t first_timestamp = 0);
  ~OpusEncoder();
  OpusEncoder(const OpusEncoder&) = delete;
  OpusEncoder& operator=(const OpusEncoder&) = delete;

  // Encodes exactly one frame (`FrameSamples()` samples at 48 kHz; anything else is a
  // programming error and aborts). The result carries the frame's first-sample
  // timestamp and its Opus packet; with DTX on, a frame Opus marks as DTX comes back
  // with an EMPTY payload, meaning "nothing to send". Timestamps advance by the frame
  // length on every call, sent or not.
  Result<EncodedFrame> Encode(std::span<const Sample> pcm);

  // Settings take effect from the next Encode.
  Status SetFrameMs(int frame_ms);           // 10, 20, 40, 60, 80, 100 or 120
  Status SetMaxPacketBytes(int bytes);       // 0 (no cap) or at least 3
  int SetBitrate(int bitrate_bps);           // clamps; returns the bitrate now in use
  Status SetFec(bool on, int expected_loss_percent);
  void SetDtx(bool on);
  Status SetComplexity(int complexity);      // 0..10

  // The current settings (bitrate after clamping, loss percent as requested).
  const OpusEncoderConfig& config() const { return config_; }
  int FrameSamples() const { return config_.frame_ms * kSamplesPerMs; }
  uint32_t next_timestamp() const { return next_timestamp_; }
  // Opus' algorithmic delay in samples at 48 kHz (312 for VOIP at 48 kHz): a decoded
  // signal lags its input by this much.
  int LookaheadSamples() const;

 private:
  struct State;  // owns libopus' encoder; opaque so <opus.h> stays out of this header
  struct StateDeleter {
    void operator()(State* state) const;
  };

  OpusEncoder(std::unique_ptr<State, StateDeleter> state, uint32_t first_timestamp);
  Status Apply(const OpusEncoderConfig& config);

  std::unique_ptr<State, StateDeleter> state_;
  OpusEncoderConfig config_;
  uint32_t next_timestamp_;
};

}  // namespace parley::media
