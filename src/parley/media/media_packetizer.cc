// The send side's packetizer: sequence numbers and redundant copies of sent frames.
#include "parley/media/media_packetizer.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "parley/base/check.h"

namespace parley::media {

MediaPacketizer::MediaPacketizer(uint16_t first_sequence) : next_sequence_(first_sequence) {}

std::optional<MediaPacket> MediaPacketizer::Packetize(EncodedFrame frame) {
  if (frame.payload.empty()) return std::nullopt;  // DTX: nothing to send
  MediaPacket packet;
  packet.sequence = next_sequence_++;
  uint32_t newest_age = UINT32_MAX;  // copies must get strictly newer, oldest first
  for (int distance : distances_) {
    if (static_cast<size_t>(distance) > sent_.size()) continue;
    const EncodedFrame& old = sent_[sent_.size() - static_cast<size_t>(distance)];
    const uint32_t age = frame.timestamp - old.timestamp;  // modulo 2^32
    if (age == 0 || age > kMaxRedundantAgeSamples || age >= newest_age) continue;
    newest_age = age;
    packet.redundant.push_back(old);
  }
  sent_.push_back(frame);
  if (sent_.size() > static_cast<size_t>(kMaxRedundantDistance)) sent_.pop_front();
  packet.primary = std::move(frame);
  return packet;
}

void MediaPacketizer::SetRedundancy(int count) {
  PARLEY_CHECK_MSG(count >= 0 && count <= kMaxRedundantFrames, "redundancy is 0, 1 or 2");
  std::vector<int> distances;
  for (int d = 1; d <= count; ++d) distances.push_back(d);
  SetRedundantDistances(distances);
}

void MediaPacketizer::SetRedundantDistances(std::span<const int> distances) {
  std::vector<int> sorted(distances.begin(), distances.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  PARLEY_CHECK_MSG(sorted.size() <= static_cast<size_t>(kMaxRedundantFrames),
                   "at most kMaxRedundantFrames redundant distances");
  PARLEY_CHECK_MSG(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
                   "redundant distances must be distinct");
  for (int d : sorted) {
    PARLEY_CHECK_MSG(d >= 1 && d <= kMaxRedundantDistance,
                     "a redundant distance is 1..kMaxRedundantDistance");
  }
  distances_ = std::move(sorted);
}

}  // namespace parley::media
