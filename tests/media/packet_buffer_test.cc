// PacketBuffer: ordering, primary-over-redundant, duplicates, late frames, the size bound.
#include "parley/media/packet_buffer.h"

#include <gtest/gtest.h>

namespace parley::media {
namespace {

StoredFrame Frame(int64_t ts, int samples = 960, bool primary = true, int64_t seq = 0) {
  return StoredFrame{.timestamp = ts, .frame_samples = samples, .sequence = seq, .primary = primary,
                     .payload = {static_cast<uint8_t>(primary ? 1 : 2)}};
}

TEST(PacketBufferTest, KeepsFramesInTimestampOrder) {
  PacketBuffer b(48000);
  EXPECT_EQ(b.Insert(Frame(1920)).outcome, InsertOutcome::kStored);
  EXPECT_EQ(b.Insert(Frame(0)).outcome, InsertOutcome::kStored);
  EXPECT_EQ(b.Insert(Frame(960)).outcome, InsertOutcome::kStored);
  EXPECT_EQ(b.num_samples(), 2880);
  EXPECT_EQ(b.Oldest()->timestamp, 0);
  EXPECT_EQ(b.FirstAtOrAfter(1)->timestamp, 960);
  EXPECT_EQ(b.Find(961), nullptr);
  EXPECT_EQ(b.Take(0).timestamp, 0);
  EXPECT_EQ(b.num_samples(), 1920);
}

TEST(PacketBufferTest, PrimaryReplacesRedundantAndNotTheOtherWay) {
  PacketBuffer b(48000);
  EXPECT_EQ(b.Insert(Frame(0, 960, false, 4)).outcome, InsertOutcome::kStored);
  EXPECT_EQ(b.Insert(Frame(0, 960, true, 5)).outcome, InsertOutcome::kReplacedRedundant);
  EXPECT_TRUE(b.Find(0)->primary);
  EXPECT_EQ(b.Find(0)->sequence, 5);
  EXPECT_EQ(b.Insert(Frame(0, 960, false)).outcome, InsertOutcome::kRedundantUnneeded);
  EXPECT_EQ(b.Insert(Frame(0, 960, true)).outcome, InsertOutcome::kDuplicatePrimary);
  EXPECT_EQ(b.num_frames(), 1);
  EXPECT_EQ(b.num_samples(), 960);
}

TEST(PacketBufferTest, CopiesOfPlayedFramesAreDuplicatesOrLate) {
  PacketBuffer b(48000);
  ASSERT_EQ(b.Insert(Frame(0)).outcome, InsertOutcome::kStored);
  b.SetPlayoutTimestamp(0);
  b.Take(0);
  b.MarkPlayed(0, /*from_primary=*/true);
  b.SetPlayoutTimestamp(960);
  EXPECT_EQ(b.Insert(Frame(0)).outcome, InsertOutcome::kDuplicatePrimary);
  EXPECT_EQ(b.Insert(Frame(0, 960, false)).outcome, InsertOutcome::kRedundantUnneeded);

  // Frame 960 was recovered from a redundant copy; its primary arriving afterwards is late.
  b.MarkPlayed(960, /*from_primary=*/false);
  b.SetPlayoutTimestamp(1920);
  EXPECT_EQ(b.Insert(Frame(960)).outcome, InsertOutcome::kLate);
  // Frame 1920 was concealed (never played): past the playout point, so late.
  b.SetPlayoutTimestamp(2880);
  EXPECT_EQ(b.Insert(Frame(1920)).outcome, InsertOutcome::kLate);
  // Straddling the playout point is late too: its start has passed.
  EXPECT_EQ(b.Insert(Frame(2880 - 480, 960)).outcome, InsertOutcome::kLate);
  EXPECT_EQ(b.Insert(Frame(2880)).outcome, InsertOutcome::kStored);
  EXPECT_TRUE(b.Find(2880));
}

TEST(PacketBufferTest, MovingThePlayoutPointDiscardsOlderFrames) {
  PacketBuffer b(48000);
  for (int64_t ts : {0, 960, 1920}) ASSERT_EQ(b.Insert(Frame(ts)).outcome, InsertOutcome::kStored);
  EXPECT_EQ(b.SetPlayoutTimestamp(1000), 2);
  EXPECT_EQ(b.num_frames(), 1);
  EXPECT_EQ(b.num_samples(), 960);
}

TEST(PacketBufferTest, WhenFullTheOldestGoes) {
  PacketBuffer b(3 * 960);
  for (int64_t ts : {0, 960, 1920}) ASSERT_EQ(b.Insert(Frame(ts)).frames_dropped_for_space, 0);
  InsertResult r = b.Insert(Frame(2880));
  EXPECT_EQ(r.frames_dropped_for_space, 1);
  EXPECT_EQ(b.Oldest()->timestamp, 960);
  EXPECT_EQ(b.num_samples(), 3 * 960);
  // A frame older than everything held is the one that goes.
  r = b.Insert(Frame(-960));
  EXPECT_EQ(r.frames_dropped_for_space, 1);
  EXPECT_EQ(b.Oldest()->timestamp, 960);
  EXPECT_EQ(b.num_samples(), 3 * 960);
}

}  // namespace
}  // namespace parley::media
