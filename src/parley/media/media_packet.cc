// The media payload's wire form, as docs/protocol.md "Media payload" specifies it.
#include "parley/media/media_packet.h"

#include <cstdint>
#include <string>

namespace parley::media {
namespace {

constexpr size_t kHeaderBytes = 2 + 4 + 1;  // sequence, primary timestamp, redundant count
constexpr int kMaxVarintBytes = 5;           // a 32-bit value in 7-bit groups

void PutVarint(std::vector<uint8_t>& out, uint32_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

// Reads the payload front to back; every failure names the field it was reading.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t left() const { return bytes_.size() - pos_; }

  uint32_t Big(int n) {  // caller has checked left() >= n
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | bytes_[pos_++];
    return v;
  }

  // Unsigned LEB128, canonical (minimal) and within 32 bits, or an error naming `field`.
  Result<uint32_t> Varint(const std::string& field) {
    uint64_t value = 0;
    for (int i = 0; i < kMaxVarintBytes; ++i) {
      if (left() == 0) {
        return Error{"media payload: " + field + " runs past the end of the payload"};
      }
      const uint8_t b = bytes_[pos_++];
      value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        if (value > UINT32_MAX) {
          return Error{"media payload: " + field + " exceeds 32 bits"};
        }
        if (b == 0 && i > 0) {
          return Error{"media payload: " + field + " is not minimally encoded"};
        }
        return static_cast<uint32_t>(value);
      }
    }
    return Error{"media payload: " + field + " is longer than 5 bytes"};
  }

  std::vector<uint8_t> Take(size_t n) {  // caller has checked left() >= n
    std::vector<uint8_t> out(bytes_.begin() + static_cast<ptrdiff_t>(pos_),
                             bytes_.begin() + static_cast<ptrdiff_t>(pos_ + n));
    pos_ += n;
    return out;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<uint8_t> SerializeMediaPacket(const MediaPacket& packet) {
  PARLEY_CHECK_MSG(!packet.primary.payload.empty(), "media packet without a primary frame");
  PARLEY_CHECK_MSG(packet.redundant.size() <= static_cast<size_t>(kMaxRedundantFrames), "too many redundant frames");
  std::vector<uint8_t> out;
  size_t size = kHeaderBytes + packet.primary.payload.size();
  for (const EncodedFrame& r : packet.redundant) size += 2 * kMaxVarintBytes + r.payload.size();
  out.reserve(size);
  out.push_back(static_cast<uint8_t>(packet.sequence >> 8));
  out.push_back(static_cast<uint8_t>(packet.sequence));
  const uint32_t ts = packet.primary.timestamp;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(ts >> shift));
  out.push_back(static_cast<uint8_t>(packet.redundant.size()));
  uint32_t previous_offset = UINT32_MAX;
  for (const EncodedFrame& r : packet.redundant) {
    const uint32_t offset = ts - r.timestamp;  // modulo 2^32: timestamps wrap
    PARLEY_CHECK_MSG(offset > 0 && offset <= kMaxRedundantOffsetSamples && offset < previous_offset,
                     "redundant frames must be strictly older than the primary, oldest first");
    PARLEY_CHECK_MSG(!r.payload.empty(), "empty redundant frame");
    previous_offset = offset;
    PutVarint(out, offset);
    PutVarint(out, static_cast<uint32_t>(r.payload.size()));
    out.insert(out.end(), r.payload.begin(), r.payload.end());
  }
  out.insert(out.end(), packet.primary.payload.begin(), packet.primary.payload.end());
  return out;
}

Result<MediaPacket> ParseMediaPacket(std::span<const uint8_t> bytes) {
  Reader in(bytes);
  if (in.left() < kHeaderBytes) {
    return Error{"media payload: " + std::to_string(bytes.size()) +
                 " bytes is shorter than the 7-byte header"};
  }
  MediaPacket packet;
  packet.sequence = static_cast<uint16_t>(in.Big(2));
  packet.primary.timestamp = in.Big(4);
  const uint32_t count = in.Big(1);
  if (count > static_cast<uint32_t>(kMaxRedundantFrames)) {
    return Error{"media payload: " + std::to_string(count) +
                 " redundant frames exceeds the maximum of " + std::to_string(kMaxRedundantFrames)};
  }
  uint32_t previous_offset = 0;
  for (uint32_t i = 1; i <= count; ++i) {
    const std::string name = "redundant frame " + std::to_string(i);
    Result<uint32_t> offset = in.Varint(name + " timestamp offset");
    if (!offset) return offset.error();
    if (*offset == 0) {
      return Error{"media payload: " + name +
                   " timestamp offset is 0; a copy must be older than the primary"};
    }
    if (*offset > kMaxRedundantOffsetSamples) {
      return Error{"media payload: " + name + " timestamp offset " + std::to_string(*offset) +
                   " exceeds the maximum of " + std::to_string(kMaxRedundantOffsetSamples) +
                   " samples"};
    }
    if (i > 1 && *offset >= previous_offset) {
      return Error{"media payload: " + name + " timestamp offset " + std::to_string(*offset) +
                   " is not below frame " + std::to_string(i - 1) + "'s " +
                   std::to_string(previous_offset) + " (copies go oldest first)"};
    }
    previous_offset = *offset;
    Result<uint32_t> length = in.Varint(name + " length");
    if (!length) return length.error();
    if (*length == 0) return Error{"media payload: " + name + " is empty (length 0)"};
    if (*length > in.left()) {
      return Error{"media payload: " + name + " length " + std::to_string(*length) +
                   " exceeds the " + std::to_string(in.left()) + " bytes left"};
    }
    EncodedFrame frame;
    frame.timestamp = packet.primary.timestamp - *offset;
    frame.payload = in.Take(*length);
    packet.redundant.push_back(std::move(frame));
  }
  if (in.left() == 0) return Error{"media payload: the primary frame is empty"};
  packet.primary.payload = in.Take(in.left());
  return packet;
}

}  // namespace parley::media
