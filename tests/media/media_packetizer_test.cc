// MediaPacketizer: sequence numbers, DTX, redundant copies and changing them mid-stream.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "parley/media/media_packetizer.h"

namespace parley::media {
namespace {

constexpr uint32_t k20Ms = 960;

// A frame whose payload names it: {index, index + 1}.
EncodedFrame Frame(uint32_t timestamp, uint8_t index) {
  return {.timestamp = timestamp, .payload = {index, static_cast<uint8_t>(index + 1)}};
}
EncodedFrame Dtx(uint32_t timestamp) { return {.timestamp = timestamp, .payload = {}}; }

// The indices of a packet's redundant copies, oldest first.
std::vector<int> CopyIndices(const MediaPacket& packet) {
  std::vector<int> out;
  for (const EncodedFrame& f : packet.redundant) out.push_back(f.payload[0]);
  return out;
}

TEST(MediaPacketizerTest, SequenceStartsWhereToldAndWraps) {
  MediaPacketizer packetizer(65534);
  std::vector<uint16_t> sequences;
  for (uint8_t i = 0; i < 4; ++i) {
    auto packet = packetizer.Packetize(Frame(i * k20Ms, i));
    ASSERT_TRUE(packet);
    sequences.push_back(packet->sequence);
  }
  EXPECT_EQ(sequences, (std::vector<uint16_t>{65534, 65535, 0, 1}));
  EXPECT_EQ(packetizer.next_sequence(), 2);
}

TEST(MediaPacketizerTest, WithoutRedundancyEachPacketIsItsFrame) {
  MediaPacketizer packetizer;
  const EncodedFrame frame = Frame(12345, 7);
  auto packet = packetizer.Packetize(frame);
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->primary, frame);
  EXPECT_TRUE(packet->redundant.empty());
}

TEST(MediaPacketizerTest, DtxSendsNothingAndTakesNoSequenceNumber) {
  MediaPacketizer packetizer(10);
  packetizer.SetRedundancy(1);
  ASSERT_TRUE(packetizer.Packetize(Frame(0, 0)));
  EXPECT_FALSE(packetizer.Packetize(Dtx(k20Ms)));
  EXPECT_EQ(packetizer.next_sequence(), 11);
  auto packet = packetizer.Packetize(Frame(2 * k20Ms, 2));
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->sequence, 11);
  // A 20 ms DTX gap is short: the copy is of the frame sent before it.
  EXPECT_EQ(CopyIndices(*packet), std::vector<int>{0});
  EXPECT_EQ(packet->redundant[0].timestamp, 0u);
}

TEST(MediaPacketizerTest, RedundancyCopiesThePreviousSentFramesOldestFirst) {
  MediaPacketizer packetizer;
  packetizer.SetRedundancy(2);
  std::vector<std::vector<int>> copies;
  for (uint8_t i = 0; i < 5; ++i) {
    auto packet = packetizer.Packetize(Frame(i * k20Ms, i));
    ASSERT_TRUE(packet);
    copies.push_back(CopyIndices(*packet));
    for (const EncodedFrame& copy : packet->redundant) {
      EXPECT_EQ(copy, Frame(copy.payload[0] * k20Ms, copy.payload[0]));  // full, exact copy
    }
    // Every packet is valid on the wire and survives it.
    auto parsed = ParseMediaPacket(SerializeMediaPacket(*packet));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, *packet);
  }
  const std::vector<std::vector<int>> expected = {{}, {0}, {0, 1}, {1, 2}, {2, 3}};
  EXPECT_EQ(copies, expected);
}

TEST(MediaPacketizerTest, DistancesAsTheCallsProtectionPolicyGivesThem) {
  MediaPacketizer packetizer;
  const std::vector<int> two_back = {2};
  packetizer.SetRedundantDistances(two_back);
  std::vector<std::vector<int>> copies;
  for (uint8_t i = 0; i < 4; ++i) copies.push_back(CopyIndices(*packetizer.Packetize(Frame(i * k20Ms, i))));
  EXPECT_EQ(copies, (std::vector<std::vector<int>>{{}, {}, {0}, {1}}));

  const std::vector<int> unordered = {1, 3};
  packetizer.SetRedundantDistances(unordered);
  EXPECT_EQ(packetizer.redundant_distances(), (std::vector<int>{3, 1}));
  EXPECT_EQ(CopyIndices(*packetizer.Packetize(Frame(4 * k20Ms, 4))), (std::vector<int>{1, 3}));
}

TEST(MediaPacketizerTest, ChangingRedundancyMidStreamTakesEffectAtTheNextPacket) {
  MediaPacketizer packetizer;
  std::vector<std::vector<int>> copies;
  uint8_t i = 0;
  auto send = [&] { copies.push_back(CopyIndices(*packetizer.Packetize(Frame(i * k20Ms, i)))); ++i; };
  send();                         // 0: none
  send();                         // 1: none
  packetizer.SetRedundancy(2);    // history was kept while redundancy was off
  send();                         // 2: copies of 0 and 1
  packetizer.SetRedundancy(1);
  send();                         // 3: copy of 2
  packetizer.SetRedundancy(0);
  send();                         // 4: none
  packetizer.SetRedundancy(2);
  send();                         // 5: copies of 3 and 4
  const std::vector<std::vector<int>> expected = {{}, {}, {0, 1}, {2}, {}, {3, 4}};
  EXPECT_EQ(copies, expected);
}

TEST(MediaPacketizerTest, NoCopyAcrossALongDtxPause) {
  MediaPacketizer packetizer;
  packetizer.SetRedundancy(2);
  ASSERT_TRUE(packetizer.Packetize(Frame(0, 0)));
  ASSERT_TRUE(packetizer.Packetize(Frame(k20Ms, 1)));
  // Frame 1 ends at 40 ms; the next sent frame starts 200 ms after frame 1 started:
  // frame 1 is exactly at the age limit, frame 0 beyond it.
  auto at_limit = packetizer.Packetize(Frame(k20Ms + kMaxRedundantAgeSamples, 2));
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(CopyIndices(*at_limit), std::vector<int>{1});
  // A 400 ms DTX pause (as Opus DTX sends): nothing older rides along.
  auto after_pause = packetizer.Packetize(Frame(k20Ms + kMaxRedundantAgeSamples + 400 * 48, 3));
  ASSERT_TRUE(after_pause);
  EXPECT_TRUE(after_pause->redundant.empty());
}

TEST(MediaPacketizerTest, CopiesAcrossTimestampWrap) {
  MediaPacketizer packetizer;
  packetizer.SetRedundancy(2);
  const uint32_t start = UINT32_MAX - k20Ms + 1;  // the second frame starts at 0
  ASSERT_TRUE(packetizer.Packetize(Frame(start, 0)));
  ASSERT_TRUE(packetizer.Packetize(Frame(start + k20Ms, 1)));
  auto packet = packetizer.Packetize(Frame(start + 2 * k20Ms, 2));
  ASSERT_TRUE(packet);
  EXPECT_EQ(CopyIndices(*packet), (std::vector<int>{0, 1}));
  auto parsed = ParseMediaPacket(SerializeMediaPacket(*packet));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, *packet);
}

TEST(MediaPacketizerTest, TimestampsThatDoNotMoveForwardGetNoCopies) {
  MediaPacketizer packetizer;
  packetizer.SetRedundancy(2);
  ASSERT_TRUE(packetizer.Packetize(Frame(5 * k20Ms, 0)));
  // An encoder restarted with an older timestamp: its old frames are not "older".
  auto packet = packetizer.Packetize(Frame(k20Ms, 1));
  ASSERT_TRUE(packet);
  EXPECT_TRUE(packet->redundant.empty());
  EXPECT_TRUE(ParseMediaPacket(SerializeMediaPacket(*packet)).ok());
}

TEST(MediaPacketizerDeathTest, InvalidDistancesAreProgrammingErrors) {
  MediaPacketizer packetizer;
  EXPECT_DEATH(packetizer.SetRedundancy(3), "0, 1 or 2");
  const std::vector<int> zero = {0};
  EXPECT_DEATH(packetizer.SetRedundantDistances(zero), "1..kMaxRedundantDistance");
  const std::vector<int> too_far = {kMaxRedundantDistance + 1};
  EXPECT_DEATH(packetizer.SetRedundantDistances(too_far), "1..kMaxRedundantDistance");
  const std::vector<int> twice = {1, 1};
  EXPECT_DEATH(packetizer.SetRedundantDistances(twice), "distinct");
  const std::vector<int> three = {1, 2, 3};
  EXPECT_DEATH(packetizer.SetRedundantDistances(three), "at most");
}

}  // namespace
}  // namespace parley::media
