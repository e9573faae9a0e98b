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

std::vector<uint8_t> SerializeMediaPacket(const MediaPacket& packet);
Result<MediaPacket> ParseMediaPacket(std::span<const uint8_t> bytes);

}  // namespace parley::media
