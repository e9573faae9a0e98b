// Replay window: new, duplicate and too-old counters, and reordering inside it.
#include "parley/crypto/replay_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace parley::crypto {
namespace {

using Verdict = ReplayWindow::Verdict;

TEST(ReplayWindowTest, FirstCounterIsNewWhateverItIs) {
  ReplayWindow w;
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.Check(0), Verdict::kNew);
  EXPECT_EQ(w.Check(~uint64_t{0}), Verdict::kNew);
  w.Commit(0);
  EXPECT_EQ(w.Check(0), Verdict::kDuplicate);
  EXPECT_EQ(w.Check(1), Verdict::kNew);
}

TEST(ReplayWindowTest, CheckDoesNotChangeState) {
  ReplayWindow w;
  w.Commit(5000);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(w.Check(100000), Verdict::kNew);
  EXPECT_EQ(w.highest(), 5000u);
  EXPECT_EQ(w.Check(5000 - 1023), Verdict::kNew);  // still in the window
}

TEST(ReplayWindowTest, EdgesOfTheWindow) {
  ReplayWindow w;
  w.Commit(10000);
  EXPECT_EQ(w.Check(10000 - (ReplayWindow::kSize - 1)), Verdict::kNew);
  EXPECT_EQ(w.Check(10000 - ReplayWindow::kSize), Verdict::kTooOld);
  w.Commit(10000 - (ReplayWindow::kSize - 1));
  EXPECT_EQ(w.Check(10000 - (ReplayWindow::kSize - 1)), Verdict::kDuplicate);
}

TEST(ReplayWindowTest, ShuffledWithinTheWindowEachAcceptedOnce) {
  // Counters in blocks of 512 arrive shuffled; all inside a 1024 window.
  std::mt19937_64 rng(7);
  ReplayWindow w;
  for (uint64_t base = 0; base < 20000; base += 512) {
    std::vector<uint64_t> block(512);
    std::iota(block.begin(), block.end(), base);
    std::shuffle(block.begin(), block.end(), rng);
    for (uint64_t c : block) {
      ASSERT_EQ(w.Check(c), Verdict::kNew) << c;
      w.Commit(c);
    }
    for (uint64_t c : block) ASSERT_NE(w.Check(c), Verdict::kNew) << c;
  }
}

TEST(ReplayWindowTest, BigJumpsForgetEverythingOlder) {
  ReplayWindow w;
  for (uint64_t c = 0; c < 100; ++c) w.Commit(c);
  w.Commit(1'000'000);
  for (uint64_t c = 0; c < 100; ++c) EXPECT_EQ(w.Check(c), Verdict::kTooOld);
  // Counters just below the jump were never seen: new.
  EXPECT_EQ(w.Check(1'000'000 - 1), Verdict::kNew);
  EXPECT_EQ(w.Check(1'000'000 - 1023), Verdict::kNew);
  w.Commit(~uint64_t{0});
  EXPECT_EQ(w.Check(~uint64_t{0}), Verdict::kDuplicate);
  EXPECT_EQ(w.Check(~uint64_t{0} - 1), Verdict::kNew);
}

// Reference model: a set of every counter seen, compared on random traffic.
TEST(ReplayWindowTest, MatchesAReferenceModel) {
  std::mt19937_64 rng(11);
  ReplayWindow w;
  std::vector<bool> seen(40000);
  uint64_t highest = 0;
  bool any = false;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t c = any ? std::min<uint64_t>(39999, highest + 20 - rng() % 1500) : rng() % 100;
    Verdict expected = Verdict::kNew;
    if (any && c <= highest) {
      if (highest - c >= ReplayWindow::kSize) expected = Verdict::kTooOld;
      else if (seen[c]) expected = Verdict::kDuplicate;
    }
    ASSERT_EQ(w.Check(c), expected) << "step " << i << " counter " << c;
    if (expected == Verdict::kNew && rng() % 4 != 0) {  // some packets fail authentication
      w.Commit(c);
      seen[c] = true;
      if (!any || c > highest) highest = c;
      any = true;
    }
  }
}

}  // namespace
}  // namespace parley::crypto
