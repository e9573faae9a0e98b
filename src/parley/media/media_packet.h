// The media payload that one call packet carries before it is sealed: the newest
// encoded frame and, under loss, copies of the one or two frames before it.
// The wire form is specified in docs/protocol.md ("Media payload").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"

namespace parley::media {

// Copies of older frames ride along so a lost packet is recovered at full quality
// from a later one (libtgvoip does the same under heavy loss).
inline constexpr int kMaxRedundantFrames = 2;
// A redundant copy is at most this far (in 48 kHz samples, 1 s) behind the primary:
// older audio is past any playout deadline (the jitter buffer keeps at most 1 s).
inline constexpr uint32_t kMaxRedundantOffsetSamples = 48000;

struct EncodedFrame {
  uint32_t timestamp = 0;  // first sample, in 48 kHz samples; wraps
  std::vector<uint8_t> payload;  // one Opus packet

  bool operator==(const EncodedFrame&) const = default;
};

struct MediaPacket {
  uint16_t sequence = 0;  // +1 per packet sent; wraps
  EncodedFrame primary;
  std::vector<EncodedFrame> redundant;  // older first; at most kMaxRedundantFrames

  bool operator==(const MediaPacket&) const = default;
};

// `packet` must be valid as ParseMediaPacket defines it (non-empty frames, at most
// kMaxRedundantFrames copies, each strictly older than the next and than the primary,
// by at most kMaxRedundantOffsetSamples); a violation is a programming error and aborts.
// Parsing then serializing gives back the same bytes (the encoding is canonical).
// Both are pure and may be called from any context.
std::vector<uint8_t> SerializeMediaPacket(const MediaPacket& packet);
Result<MediaPacket> ParseMediaPacket(std::span<const uint8_t> bytes);

}  // namespace parley::media
