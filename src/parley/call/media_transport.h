// Where a call's sealed packets go and come from (the relay today; P2P and TLS paths
// later), as the call media engine sees it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/time.h"

namespace parley::call {

// Sealed packets only: every byte handed to Send is a sealed packet (docs/protocol.md,
// "Sealed packet") and so is everything Receive returns, unverified. Context: the
// call's media thread only (CallMediaRunner), or a test's single thread.
class MediaTransport {
 public:
  virtual ~MediaTransport() = default;
  // Queues or sends one sealed packet; never blocks. Loss is the transport's business.
  virtual void Send(std::span<const uint8_t> sealed, TimePoint now) = 0;
  // The next packet that has arrived, or nothing; never blocks.
  virtual std::optional<std::vector<uint8_t>> Receive() = 0;
};

}  // namespace parley::call
