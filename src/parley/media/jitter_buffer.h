// The receive side's adaptive jitter buffer: packets in at network time, 10 ms of
// audio out at playout time. Logic without I/O (DESIGN.md principle 1): the caller
// passes the time, the decoder is injected. Structure after WebRTC NetEq: storage
// (PacketBuffer), delay policy (DelayManager), decisions (DecisionLogic) and signal
// operations (TimeStretch, concealment and merge) are separate classes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "parley/base/time.h"
#include "parley/media/audio_decoder.h"
#include "parley/media/audio_format.h"
#include "parley/media/media_packet.h"

namespace parley::media {

struct JitterBufferConfig {
  // Fraction of packets that should arrive in time to be played; the target delay is
  // this quantile of the measured arrival-delay distribution.
  double arrival_quantile = 0.98;
  int min_delay_ms = 0;     // floor on the target (0: as low as the network allows)
  int max_delay_ms = 1000;  // ceiling on the target and on what is kept buffered
  // Weight the arrival-delay histogram keeps per packet: memory ~1/(1-f) packets (about
  // 1.2 s at 20 ms frames), so the target follows jitter up and back down within seconds.
  double histogram_forget_factor = 0.983;
};

struct JitterBufferStats {
  double current_delay_ms = 0;  // audio buffered now (packets + decoded, not yet played)
  double target_delay_ms = 0;

  uint64_t packets_received = 0;
  uint64_t duplicate_frames = 0;  // a primary copy of a frame already held or already played
                                  // from its primary, dropped (network duplication; unused
                                  // redundant copies are counted in redundant_copies_unused)
  uint64_t late_frames = 0;       // a primary that arrived after its playout time: late loss

  uint64_t frames_decoded = 0;            // played from their own primary copy
  uint64_t frames_from_redundancy = 0;    // played from a copy in a later packet
  uint64_t frames_from_fec = 0;           // recovered from Opus in-band FEC
  uint64_t frames_concealed = 0;          // frames played as PLC because nothing came in time
  uint64_t concealed_ms = 0;              // all audio produced by PLC, including DTX gaps

  uint64_t accelerate_count = 0;  // time-compressions that shrank the delay
  uint64_t expand_count = 0;      // time-stretches (preemptive expand) that grew it
  uint64_t merge_count = 0;       // concealment-to-speech transitions smoothed

  // Added by the jitter buffer's implementation.
  double decision_level_ms = 0;  // the smoothed level the decisions compare with the target
  double max_delay_ms = 0;       // largest current_delay_ms seen at a Pull
  uint64_t dtx_ms = 0;           // comfort noise played in DTX pauses (part of concealed_ms)
  // Concealment played while waiting for a frame that then arrived and was played (it
  // came later than the buffer could cover; the delay grew by this much). Part of
  // concealed_ms. Gaps still open or later found lost are in neither this nor dtx_ms.
  uint64_t underrun_ms = 0;
  uint64_t accelerated_ms = 0;   // audio removed by accelerate
  uint64_t expanded_ms = 0;      // audio added by preemptive expand
  uint64_t resyncs = 0;          // playout jumped to newer audio (outage, overflow, restart)
  uint64_t frames_discarded = 0; // received frames dropped unplayed by a resync or overflow
  uint64_t malformed_frames = 0; // frames the decoder could not size or decode
  uint64_t redundant_copies_unused = 0;  // redundant copies of frames held or already past
};

class JitterBuffer {
 public:
  // `decoder` must outlive the buffer. Runs in one context (the receive/playout strand).
  explicit JitterBuffer(AudioDecoder& decoder, JitterBufferConfig config = {});
  ~JitterBuffer();
  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  // A packet arrived at `arrival`. Its primary and redundant frames are stored; copies
  // of frames already held or played are counted and dropped.
  void Insert(const MediaPacket& packet, TimePoint arrival);

  // The next 10 ms of playout, written to `out`. Called once per 10 ms by the playout
  // clock; before the first packet, and when nothing can be decoded, it writes silence
  // or concealment.
  void Pull(TimePoint now, std::span<Sample, kBlockSamples> out);

  // The sender's timestamp of the first sample Pull last produced, when that sample
  // came from a received frame (not concealment or silence). Used to measure delay.
  std::optional<uint32_t> LastPlayoutTimestamp() const;

  JitterBufferStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::media
