// A bounded queue of media frames that drops the oldest when full: real-time audio
// wants the newest packets, never seconds of backlog (both ends of the TLS path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace parley::net {

// Invariant: size() <= max_frames and bytes() <= max_bytes after every call.
// Not thread-safe: its owner guards it (a strand or a mutex).
class TlsFrameQueue {
 public:
  TlsFrameQueue(std::size_t max_frames, std::size_t max_bytes);

  // Appends a frame, first dropping the oldest frames until it fits. A frame larger
  // than max_bytes on its own is dropped instead (counted) and false returned.
  bool Push(std::vector<uint8_t> frame);
  std::optional<std::vector<uint8_t>> Pop();
  // The oldest frame; the queue must not be empty.
  const std::vector<uint8_t>& front() const { return frames_.front(); }
  void Clear();

  bool empty() const { return frames_.empty(); }
  std::size_t size() const { return frames_.size(); }
  std::size_t bytes() const { return bytes_; }
  // Frames dropped (oldest pushed out, or too large) since construction.
  uint64_t dropped() const { return dropped_; }

 private:
  const std::size_t max_frames_;
  const std::size_t max_bytes_;
  std::deque<std::vector<uint8_t>> frames_;
  std::size_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace parley::net
