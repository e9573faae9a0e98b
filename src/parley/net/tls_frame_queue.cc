// Drop-oldest frame queue for the TLS media path.
#include "parley/net/tls_frame_queue.h"

#include "parley/base/check.h"

namespace parley::net {

TlsFrameQueue::TlsFrameQueue(std::size_t max_frames, std::size_t max_bytes)
    : max_frames_(max_frames), max_bytes_(max_bytes) {
  PARLEY_CHECK(max_frames > 0 && max_bytes > 0);
}

bool TlsFrameQueue::Push(std::vector<uint8_t> frame) {
  if (frame.size() > max_bytes_) {
    ++dropped_;
    return false;
  }
  while (!frames_.empty() && (frames_.size() >= max_frames_ || bytes_ + frame.size() > max_bytes_)) {
    bytes_ -= frames_.front().size();
    frames_.pop_front();
    ++dropped_;
  }
  bytes_ += frame.size();
  frames_.push_back(std::move(frame));
  return true;
}

std::optional<std::vector<uint8_t>> TlsFrameQueue::Pop() {
  if (frames_.empty()) return std::nullopt;
  std::vector<uint8_t> frame = std::move(frames_.front());
  frames_.pop_front();
  bytes_ -= frame.size();
  return frame;
}

void TlsFrameQueue::Clear() {
  frames_.clear();
  bytes_ = 0;
}

}  // namespace parley::net
