// The send side's packetizer: each encoded frame becomes one MediaPacket with the next
// sequence number and, for loss protection, copies of frames sent just before it.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "parley/media/audio_format.h"
#include "parley/media/media_packet.h"

namespace parley::media {

// Copies reach at most this many sent frames back (distance 1 = the previous one).
inline constexpr int kMaxRedundantDistance = 3;
// A copy rides along only while it is at most this much older than the primary
// (in 48 kHz samples: 200 ms). So no copy crosses a DTX pause longer than about
// 200 ms minus the frames between: after such a pause the old audio's playout time
// has passed at the receiver, which has concealed or played comfort noise over it.
inline constexpr uint32_t kMaxRedundantAgeSamples = 200 * kSamplesPerMs;

// Logic without I/O. Not thread-safe: one per outgoing stream, in the sender's encode
// context (it allocates, so never in the audio callback).
class MediaPacketizer {
 public:
  explicit MediaPacketizer(uint16_t first_sequence = 0);

  // One encoded frame, in capture order. An empty payload means DTX left the frame
  // unsent: nothing is returned and nothing changes (the encoder's timestamps still
  // advance, so the next frame's timestamp shows the gap). Otherwise returns the
  // packet to send: sequence +1 per packet (wrapping at 2^16), the frame as primary,
  // and copies of earlier sent frames at the configured distances, oldest first,
  // within kMaxRedundantAgeSamples. The packet is valid for SerializeMediaPacket.
  std::optional<MediaPacket> Packetize(EncodedFrame frame);

  // Copies of the previous `count` sent frames (0, 1 or 2): distances {1..count}.
  void SetRedundancy(int count);
  // Copies at these distances back in sent frames, e.g. {2} or {1, 2}: at most
  // kMaxRedundantFrames distinct values in 1..kMaxRedundantDistance, any order.
  // Anything else is a programming error and aborts. Takes effect from the next packet.
  void SetRedundantDistances(std::span<const int> distances);

  // Distances in use, largest (oldest) first.
  const std::vector<int>& redundant_distances() const { return distances_; }
  uint16_t next_sequence() const { return next_sequence_; }

 private:
  uint16_t next_sequence_;
  std::vector<int> distances_;      // descending
  std::deque<EncodedFrame> sent_;   // the last kMaxRedundantDistance frames sent, newest last
};

}  // namespace parley::media
