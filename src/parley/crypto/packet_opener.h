// Opens incoming sealed packets of one call direction: unmasks the counter, refuses
// replays before decrypting, authenticates, and only then moves the replay window and
// the key ratchet. docs/protocol.md, "Sealed packet", "Replay", "Ratchet".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/crypto/call_keys.h"
#include "parley/crypto/key_ratchet.h"
#include "parley/crypto/replay_window.h"

namespace parley::crypto {

// Invariants: a packet that does not authenticate changes nothing; each counter is
// accepted at most once; keys of an epoch are erased as soon as no counter of that
// epoch can still be inside the replay window; everything is wiped on destruction.
// One opener per stream and direction; not thread-safe.
class PacketOpener {
 public:
  // How many epochs a packet may be ahead of the newest authenticated one. Senders
  // move one epoch at a time, so more means >= 2^20 lost packets; the bound caps the
  // key derivations a forged packet can cost.
  static constexpr uint64_t kMaxEpochSkip = 3;

  explicit PacketOpener(const DirectionKeys& keys, RatchetSchedule schedule = {});

  struct Opened {
    std::size_t size = 0;  // content bytes written to the front of `out`
    uint64_t counter = 0;  // the packet's counter (for statistics and tests)
  };

  // `out` must hold packet.size() - 24 bytes. On error `out` may hold garbage, never
  // plaintext of an unauthenticated packet (libsodium writes nothing then).
  Result<Opened> OpenInto(std::span<const uint8_t> packet, std::span<uint8_t> out);
  Result<std::vector<uint8_t>> Open(std::span<const uint8_t> packet);

  uint64_t epoch() const { return current_.epoch(); }
  bool holds_previous_epoch() const { return previous_.has_value(); }
  const ReplayWindow& replay_window() const { return window_; }

 private:
  Secret<32> header_key_;
  RatchetSchedule schedule_;
  KeyRatchet current_;
  std::optional<KeyRatchet> previous_;  // epoch current_ - 1, while it may still be needed
  ReplayWindow window_;
};

}  // namespace parley::crypto
