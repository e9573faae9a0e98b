// PacketBuffer: frame storage keyed by unwrapped timestamp, with late/duplicate handling.
#include "parley/media/packet_buffer.h"

#include <utility>

#include "parley/base/check.h"

namespace parley::media {
namespace {
// Enough to recognise copies that trail the playout point by up to ~1.3 s of 10 ms frames.
constexpr size_t kPlayedHistory = 128;
}  // namespace

PacketBuffer::PacketBuffer(int max_samples) : max_samples_(max_samples) {
  PARLEY_CHECK(max_samples > 0);
}

InsertResult PacketBuffer::Insert(StoredFrame frame) {
  PARLEY_CHECK(frame.frame_samples > 0);
  InsertResult result;
  if (auto played = played_.find(frame.timestamp); played != played_.end()) {
    if (!frame.primary) {
      result.outcome = InsertOutcome::kRedundantUnneeded;
    } else {
      result.outcome = played->second ? InsertOutcome::kDuplicatePrimary : InsertOutcome::kLate;
    }
    return result;
  }
  if (playout_timestamp_ && frame.timestamp < *playout_timestamp_) {
    result.outcome = frame.primary ? InsertOutcome::kLate : InsertOutcome::kRedundantUnneeded;
    return result;
  }
  if (auto held = frames_.find(frame.timestamp); held != frames_.end()) {
    if (!frame.primary) {
      result.outcome = InsertOutcome::kRedundantUnneeded;
      return result;
    }
    if (held->second.primary) {
      result.outcome = InsertOutcome::kDuplicatePrimary;
      return result;
    }
    // The primary copy is authoritative (its sequence number is real, not inferred).
    Erase(held);
    result.outcome = InsertOutcome::kReplacedRedundant;
  }
  const int64_t timestamp = frame.timestamp;
  num_samples_ += frame.frame_samples;
  frames_.emplace(timestamp, std::move(frame));
  while (num_samples_ > max_samples_ && frames_.size() > 1) {
    // Oldest first: if the new frame is itself the oldest it goes, and the buffer is unchanged.
    const bool dropping_new = frames_.begin()->first == timestamp;
    Erase(frames_.begin());
    ++result.frames_dropped_for_space;
    if (dropping_new) break;
  }
  return result;
}

int PacketBuffer::SetPlayoutTimestamp(int64_t timestamp) {
  PARLEY_CHECK(!playout_timestamp_ || timestamp >= *playout_timestamp_);
  playout_timestamp_ = timestamp;
  int discarded = 0;
  while (!frames_.empty() && frames_.begin()->first < timestamp) {
    Erase(frames_.begin());
    ++discarded;
  }
  return discarded;
}

void PacketBuffer::MarkPlayed(int64_t timestamp, bool from_primary) {
  played_[timestamp] = from_primary;
  while (played_.size() > kPlayedHistory) played_.erase(played_.begin());
}

const StoredFrame* PacketBuffer::Find(int64_t timestamp) const {
  auto it = frames_.find(timestamp);
  return it == frames_.end() ? nullptr : &it->second;
}

const StoredFrame* PacketBuffer::FirstAtOrAfter(int64_t timestamp) const {
  auto it = frames_.lower_bound(timestamp);
  return it == frames_.end() ? nullptr : &it->second;
}

const StoredFrame* PacketBuffer::Oldest() const {
  return frames_.empty() ? nullptr : &frames_.begin()->second;
}

StoredFrame PacketBuffer::Take(int64_t timestamp) {
  auto it = frames_.find(timestamp);
  PARLEY_CHECK(it != frames_.end());
  StoredFrame frame = std::move(it->second);
  num_samples_ -= frame.frame_samples;
  frames_.erase(it);
  return frame;
}

void PacketBuffer::DropOldest() {
  if (!frames_.empty()) Erase(frames_.begin());
}

void PacketBuffer::Clear() {
  frames_.clear();
  played_.clear();
  num_samples_ = 0;
  playout_timestamp_.reset();
}

void PacketBuffer::Erase(std::map<int64_t, StoredFrame>::iterator it) {
  num_samples_ -= it->second.frame_samples;
  frames_.erase(it);
}

}  // namespace parley::media
