// Control messages: the probe and probe reply layouts byte for byte, round trips, and
// the one-sentence errors of the strict parsers.
#include "parley/call/control_message.h"

#include <gtest/gtest.h>

namespace parley::call {
namespace {

TEST(ControlMessageTest, ProbeLayoutAndRoundTrip) {
  const ProbeMessage probe{3, 0x01020304, 0xA0B0C0D0};
  const std::vector<uint8_t> bytes = SerializeProbe(probe);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0x02, 3, 1, 2, 3, 4, 0xA0, 0xB0, 0xC0, 0xD0}));
  auto parsed = ParseProbe(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, probe);
}

TEST(ControlMessageTest, ProbeReplyLayoutAndRoundTrip) {
  const ProbeReply reply{1, 7, 1000, 2};
  const std::vector<uint8_t> bytes = SerializeProbeReply(reply);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0x03, 1, 0, 0, 0, 7, 0, 0, 3, 0xE8, 0, 0, 0, 2}));
  auto parsed = ParseProbeReply(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, reply);
}

TEST(ControlMessageTest, ParsersSayWhatIsWrong) {
  EXPECT_EQ(ParseProbe({}).error().message, "control message is empty");
  const std::vector<uint8_t> reply = SerializeProbeReply({});
  EXPECT_EQ(ParseProbe(reply).error().message, "control message type 3 is unknown");
  EXPECT_EQ(ParseProbeReply(SerializeProbe({})).error().message, "control message type 2 is unknown");
  std::vector<uint8_t> long_probe = SerializeProbe({});
  long_probe.push_back(0);
  EXPECT_EQ(ParseProbe(long_probe).error().message, "probe is 11 bytes, expected 10");
  EXPECT_EQ(ParseProbeReply(std::vector<uint8_t>(reply.begin(), reply.end() - 1)).error().message,
            "probe reply is 13 bytes, expected 14");
  EXPECT_FALSE(ParseReceiverReport(SerializeProbe({})).ok());
}

}  // namespace
}  // namespace parley::call
