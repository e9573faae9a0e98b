// Replay window as a ring of bit blocks (RFC 6479 §2).
#include "parley/crypto/replay_window.h"

#include "parley/base/check.h"

namespace parley::crypto {

ReplayWindow::Verdict ReplayWindow::Check(uint64_t counter) const {
  if (!any_ || counter > highest_) return Verdict::kNew;
  if (highest_ - counter >= kSize) return Verdict::kTooOld;
  const uint64_t block = (counter / kBlockBits) % kBlocks;
  const uint64_t bit = uint64_t{1} << (counter % kBlockBits);
  return (bits_[block] & bit) ? Verdict::kDuplicate : Verdict::kNew;
}

void ReplayWindow::Commit(uint64_t counter) {
  PARLEY_CHECK_MSG(Check(counter) == Verdict::kNew, "commit only a counter that Check accepted");
  if (!any_ || counter > highest_) {
    // Clear the blocks the window slides over (at most all of them).
    const uint64_t new_block = counter / kBlockBits;
    if (!any_ || new_block - highest_ / kBlockBits >= kBlocks) {
      bits_.fill(0);
    } else {
      for (uint64_t b = highest_ / kBlockBits + 1; b <= new_block; ++b) bits_[b % kBlocks] = 0;
    }
    highest_ = counter;
    any_ = true;
  }
  bits_[(counter / kBlockBits) % kBlocks] |= uint64_t{1} << (counter % kBlockBits);
}

}  // namespace parley::crypto
