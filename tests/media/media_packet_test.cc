// The media payload wire format (docs/protocol.md "Media payload"): a known-answer
// vector, round trips, and a table of every way a payload is rejected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "parley/base/random.h"
#include "parley/media/media_packet.h"

namespace parley::media {
namespace {

using Bytes = std::vector<uint8_t>;
using ::testing::HasSubstr;

// Builds payloads field by field, so each test case reads like the spec.
class Builder {
 public:
  Builder& Header(uint16_t sequence, uint32_t timestamp, uint8_t count) {
    bytes_.push_back(static_cast<uint8_t>(sequence >> 8));
    bytes_.push_back(static_cast<uint8_t>(sequence));
    for (int shift = 24; shift >= 0; shift -= 8) bytes_.push_back(static_cast<uint8_t>(timestamp >> shift));
    bytes_.push_back(count);
    return *this;
  }
  Builder& Varint(uint64_t value) {
    do {
      uint8_t b = value & 0x7f;
      value >>= 7;
      if (value != 0) b |= 0x80;
      bytes_.push_back(b);
    } while (value != 0);
    return *this;
  }
  Builder& Raw(Bytes raw) {
    bytes_.insert(bytes_.end(), raw.begin(), raw.end());
    return *this;
  }
  Builder& Fill(size_t n, uint8_t value = 0xAB) {
    bytes_.insert(bytes_.end(), n, value);
    return *this;
  }
  Bytes Build() const { return bytes_; }

 private:
  Bytes bytes_;
};

Builder Payload(uint8_t count) { return std::move(Builder().Header(0x1234, 100000, count)); }

TEST(MediaPacketTest, KnownAnswer) {
  MediaPacket packet;
  packet.sequence = 0xBEEF;
  packet.primary = {.timestamp = 0x01020304, .payload = {0xAA, 0xBB}};
  packet.redundant = {{.timestamp = 0x01020304 - 1920, .payload = {0x11}},
                      {.timestamp = 0x01020304 - 960, .payload = {0x22, 0x33}}};
  const Bytes expected = {
      0xBE, 0xEF,              // sequence
      0x01, 0x02, 0x03, 0x04,  // primary timestamp
      0x02,                    // two redundant frames
      0x80, 0x0F, 0x01, 0x11,  // offset 1920, length 1, frame
      0xC0, 0x07, 0x02, 0x22, 0x33,  // offset 960, length 2, frame
      0xAA, 0xBB,              // primary
  };
  EXPECT_EQ(SerializeMediaPacket(packet), expected);
  auto parsed = ParseMediaPacket(expected);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, packet);
}

TEST(MediaPacketTest, RoundTripsAcrossWrapsAndLimits) {
  std::vector<MediaPacket> packets;
  packets.push_back({.sequence = 0, .primary = {.timestamp = 0, .payload = {1}}, .redundant = {}});
  packets.push_back({.sequence = 0xFFFF,
                     .primary = {.timestamp = 100, .payload = Bytes(1275, 7)},
                     .redundant = {{.timestamp = 0xFFFFFF00u, .payload = Bytes(300, 9)}}});
  packets.push_back({.sequence = 7,
                     .primary = {.timestamp = 50000, .payload = {3, 4}},
                     .redundant = {{.timestamp = 50000 - kMaxRedundantOffsetSamples, .payload = {5}},
                                   {.timestamp = 49999, .payload = {6}}}});
  for (const MediaPacket& packet : packets) {
    const Bytes bytes = SerializeMediaPacket(packet);
    auto parsed = ParseMediaPacket(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, packet);
    EXPECT_EQ(SerializeMediaPacket(*parsed), bytes);
  }
}

TEST(MediaPacketTest, OverheadIsSmall) {
  MediaPacket packet{.sequence = 1, .primary = {.timestamp = 960, .payload = Bytes(60)}, .redundant = {}};
  EXPECT_EQ(SerializeMediaPacket(packet).size(), 67u);
  packet.redundant.push_back({.timestamp = 0, .payload = Bytes(60)});
  EXPECT_EQ(SerializeMediaPacket(packet).size(), 67u + 3 + 60);
}

struct ParseCase {
  std::string name;
  Bytes bytes;
  std::string error;  // empty: must parse
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class ParseTableTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseTableTest, ParsesOrNamesTheProblem) {
  const ParseCase& c = GetParam();
  auto parsed = ParseMediaPacket(c.bytes);
  if (c.error.empty()) {
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(SerializeMediaPacket(*parsed), c.bytes);  // canonical
  } else {
    ASSERT_FALSE(parsed.ok());
    EXPECT_THAT(parsed.error().message, HasSubstr("media payload: "));
    EXPECT_THAT(parsed.error().message, HasSubstr(c.error));
  }
}

// One redundant frame whose length field is `length`, followed by `after` bytes in all.
ParseCase LengthCase(const std::string& name, uint64_t length, size_t after, std::string error) {
  return {name, Payload(1).Varint(960).Varint(length).Fill(after).Build(), std::move(error)};
}

std::vector<ParseCase> ParseCases() {
  std::vector<ParseCase> cases = {
      {"Empty", {}, "0 bytes is shorter than the 7-byte header"},
      {"SixBytes", Bytes(6), "6 bytes is shorter than the 7-byte header"},
      {"HeaderOnly", Payload(0).Build(), "the primary frame is empty"},
      {"OneBytePrimary", Payload(0).Fill(1).Build(), ""},
      {"CountThree", Payload(3).Fill(20).Build(), "3 redundant frames exceeds the maximum of 2"},
      {"CountMax", Payload(255).Fill(20).Build(), "255 redundant frames exceeds the maximum of 2"},
      // The timestamp offset varint.
      {"OffsetMissing", Payload(1).Build(), "redundant frame 1 timestamp offset runs past the end"},
      {"OffsetTruncated", Payload(1).Raw({0x80}).Build(),
       "redundant frame 1 timestamp offset runs past the end"},
      {"OffsetZero", Payload(1).Varint(0).Varint(1).Fill(2).Build(),
       "redundant frame 1 timestamp offset is 0"},
      {"OffsetOne", Payload(1).Varint(1).Varint(1).Fill(2).Build(), ""},
      {"OffsetAtLimit", Payload(1).Varint(48000).Varint(1).Fill(2).Build(), ""},
      {"OffsetOverLimit", Payload(1).Varint(48001).Varint(1).Fill(2).Build(),
       "redundant frame 1 timestamp offset 48001 exceeds the maximum of 48000 samples"},
      {"OffsetMaxOfType", Payload(1).Varint(UINT32_MAX).Varint(1).Fill(2).Build(),
       "redundant frame 1 timestamp offset 4294967295 exceeds the maximum of 48000"},
      {"OffsetOver32Bits", Payload(1).Raw({0xFF, 0xFF, 0xFF, 0xFF, 0x1F}).Varint(1).Fill(2).Build(),
       "redundant frame 1 timestamp offset exceeds 32 bits"},
      {"OffsetSixBytes", Payload(1).Raw({0x81, 0x80, 0x80, 0x80, 0x80, 0x00}).Fill(4).Build(),
       "redundant frame 1 timestamp offset is longer than 5 bytes"},
      {"OffsetNotMinimal", Payload(1).Raw({0xC0, 0x87, 0x00}).Varint(1).Fill(2).Build(),
       "redundant frame 1 timestamp offset is not minimally encoded"},
      {"OffsetZeroNotMinimal", Payload(1).Raw({0x80, 0x00}).Varint(1).Fill(2).Build(),
       "redundant frame 1 timestamp offset is not minimally encoded"},
      // Order of copies: oldest first, strictly.
      {"SecondOffsetEqual", Payload(2).Varint(960).Varint(1).Fill(1).Varint(960).Varint(1).Fill(2).Build(),
       "redundant frame 2 timestamp offset 960 is not below frame 1's 960"},
      {"SecondOffsetLarger", Payload(2).Varint(960).Varint(1).Fill(1).Varint(1920).Varint(1).Fill(2).Build(),
       "redundant frame 2 timestamp offset 1920 is not below frame 1's 960"},
      {"TwoInOrder", Payload(2).Varint(1920).Varint(1).Fill(1).Varint(960).Varint(1).Fill(2).Build(), ""},
      {"SecondOffsetZero", Payload(2).Varint(960).Varint(1).Fill(1).Varint(0).Varint(1).Fill(2).Build(),
       "redundant frame 2 timestamp offset is 0"},
      // The length varint: 0, 1, remaining - 1, remaining, remaining + 1, maximum.
      LengthCase("LengthZero", 0, 10, "redundant frame 1 is empty (length 0)"),
      LengthCase("LengthOne", 1, 10, ""),
      LengthCase("LengthRemainingMinusOne", 9, 10, ""),
      LengthCase("LengthRemaining", 10, 10, "the primary frame is empty"),
      LengthCase("LengthRemainingPlusOne", 11, 10,
                 "redundant frame 1 length 11 exceeds the 10 bytes left"),
      LengthCase("LengthMaxOfType", UINT32_MAX, 10,
                 "redundant frame 1 length 4294967295 exceeds the 10 bytes left"),
      LengthCase("LengthOver32Bits", uint64_t{1} << 32, 10, "redundant frame 1 length exceeds 32 bits"),
      {"LengthMissing", Payload(1).Varint(960).Build(), "redundant frame 1 length runs past the end"},
      {"LengthNotMinimal", Payload(1).Varint(960).Raw({0x81, 0x00}).Fill(3).Build(),
       "redundant frame 1 length is not minimally encoded"},
      {"SecondLengthTooLong",
       Payload(2).Varint(1920).Varint(4).Fill(4).Varint(960).Varint(300).Fill(12).Build(),
       "redundant frame 2 length 300 exceeds the 12 bytes left"},
      {"SecondLengthRemaining",
       Payload(2).Varint(1920).Varint(4).Fill(4).Varint(960).Varint(12).Fill(12).Build(),
       "the primary frame is empty"},
      {"SecondFrameMissing", Payload(2).Varint(1920).Varint(4).Fill(4).Build(),
       "redundant frame 2 timestamp offset runs past the end"},
  };
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, ParseTableTest, ::testing::ValuesIn(ParseCases()),
                         [](const auto& info) { return info.param.name; });

// Random bytes: whatever parses re-serializes to the same bytes.
TEST(MediaPacketTest, RandomBytesParseCanonicallyOrFail) {
  Random random(3);
  int parsed_count = 0;
  for (int i = 0; i < 50000; ++i) {
    Bytes bytes(static_cast<size_t>(random.Between(0, 24)));
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(random.Next());
    if (bytes.size() > 6) bytes[6] = static_cast<uint8_t>(random.Between(0, 3));  // often valid counts
    auto parsed = ParseMediaPacket(bytes);
    if (!parsed.ok()) continue;
    ++parsed_count;
    EXPECT_EQ(SerializeMediaPacket(*parsed), bytes);
  }
  EXPECT_GT(parsed_count, 1000);
}

TEST(MediaPacketDeathTest, SerializingAnInvalidPacketIsAProgrammingError) {
  MediaPacket empty_primary;
  EXPECT_DEATH((void)SerializeMediaPacket(empty_primary), "primary");
  MediaPacket newer_copy{.sequence = 1, .primary = {.timestamp = 960, .payload = {1}}, .redundant = {}};
  newer_copy.redundant.push_back({.timestamp = 960, .payload = {2}});
  EXPECT_DEATH((void)SerializeMediaPacket(newer_copy), "older");
  MediaPacket wrong_order{.sequence = 1, .primary = {.timestamp = 2880, .payload = {1}}, .redundant = {}};
  wrong_order.redundant = {{.timestamp = 1920, .payload = {2}}, {.timestamp = 960, .payload = {3}}};
  EXPECT_DEATH((void)SerializeMediaPacket(wrong_order), "oldest first");
}

}  // namespace
}  // namespace parley::media
