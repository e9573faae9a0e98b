// Sliding-window replay protection for packet counters, in two phases: Check before
// decryption, Commit only after the packet authenticated (pion's replaydetector does
// the same; RFC 4303 §3.4.3 describes the window). docs/protocol.md, "Replay".
#pragma once

#include <array>
#include <cstdint>

namespace parley::crypto {

// Accepts each counter at most once. A counter above every one seen is new; one at
// most kSize - 1 below the highest is accepted if not seen yet (reordering); anything
// older is refused. Check never changes state, so a forged packet cannot move the
// window. Plain value; not thread-safe.
class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 1024;  // packets: 20 s of 20 ms audio

  enum class Verdict { kNew, kDuplicate, kTooOld };

  Verdict Check(uint64_t counter) const;
  // Precondition: Check(counter) == kNew, and the packet authenticated.
  void Commit(uint64_t counter);

  bool empty() const { return !any_; }
  uint64_t highest() const { return highest_; }

 private:
  // RFC 6479 ("IPsec Anti-Replay Algorithm without Bit Shifting"): a ring of 64-bit
  // blocks indexed by counter / 64; one spare block so the window always spans kSize
  // counters, and advancing clears blocks instead of shifting the whole bitmap.
  static constexpr uint64_t kBlockBits = 64;
  static constexpr uint64_t kBlocks = kSize / kBlockBits + 1;

  bool any_ = false;
  uint64_t highest_ = 0;
  std::array<uint64_t, kBlocks> bits_{};
};

}  // namespace parley::crypto
