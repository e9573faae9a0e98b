// Control messages: the probe, probe reply, quality report and bye layouts byte for byte,
// round trips, and the one-sentence errors of the strict parsers.
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

TEST(ControlMessageTest, QualityReportLayoutAndRoundTrip) {
  QualityReport report;
  report.data_saving = true;
  report.loss_before_recovery = 1500;  // 15 %
  report.loss_after_recovery = 30;
  report.jitter_ms = 0x0102;
  report.jitter_buffer_ms = 80;
  report.queue_delay_ms = 65535;
  report.received_bps = 0x00012345;
  report.interval_ms = 250;
  const std::vector<uint8_t> bytes = SerializeQualityReport(report);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0x04, 0x01, 0x05, 0xDC, 0x00, 0x1E, 0x01, 0x02, 0x00, 0x50, 0xFF, 0xFF,
                                         0x00, 0x01, 0x23, 0x45, 0x00, 0xFA}));
  auto parsed = ParseQualityReport(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, report);
  EXPECT_DOUBLE_EQ(parsed->loss_before_fraction(), 0.15);
}

TEST(ControlMessageTest, QualityReportIgnoresUnknownFlagsAndClampsLoss) {
  std::vector<uint8_t> bytes = SerializeQualityReport({});
  bytes[1] = 0xFE;  // every bit but data saving: reserved
  bytes[2] = 0xFF;  // loss_before 65280/10000: more than all
  auto parsed = ParseQualityReport(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->data_saving);
  EXPECT_EQ(parsed->loss_before_fraction(), 1.0);
}

TEST(ControlMessageTest, QualityReportErrors) {
  EXPECT_EQ(ParseQualityReport({}).error().message, "control message is empty");
  EXPECT_EQ(ParseQualityReport(SerializeProbe({})).error().message, "control message type 2 is unknown");
  std::vector<uint8_t> bytes = SerializeQualityReport({});
  bytes.pop_back();
  EXPECT_EQ(ParseQualityReport(bytes).error().message, "quality report is 17 bytes, expected 18");
  EXPECT_FALSE(ParseReceiverReport(SerializeQualityReport({})).ok());
}

TEST(ControlMessageTest, SaturatingConversions) {
  EXPECT_EQ(LossUnits(-0.5), 0);
  EXPECT_EQ(LossUnits(0.1234), 1234);
  EXPECT_EQ(LossUnits(2), 10000);
  EXPECT_EQ(SaturatedMs(-3), 0);
  EXPECT_EQ(SaturatedMs(12.6), 13);
  EXPECT_EQ(SaturatedMs(1e9), 65535);
}

TEST(ControlMessageTest, ByeLayoutRoundTripAndErrors) {
  const std::vector<uint8_t> bytes = SerializeBye({});
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0x05, 0x01}));
  auto parsed = ParseBye(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->reason, ByeReason::kHangup);
  // A reason this version does not know still ends the call as a hangup.
  const std::vector<uint8_t> later_reason{0x05, 0x7f};
  ASSERT_TRUE(ParseBye(later_reason).ok());
  EXPECT_EQ(ParseBye(later_reason)->reason, ByeReason::kHangup);
  EXPECT_EQ(ParseBye({}).error().message, "control message is empty");
  const std::vector<uint8_t> longer{0x05, 0x01, 0x00};
  EXPECT_EQ(ParseBye(longer).error().message, "bye is 3 bytes, expected 2");
  const std::vector<uint8_t> shorter{0x05};
  EXPECT_EQ(ParseBye(shorter).error().message, "bye is 1 bytes, expected 2");
  EXPECT_EQ(ParseBye(SerializeProbe({})).error().message, "control message type 2 is unknown");
  // No other parser takes a bye.
  EXPECT_FALSE(ParseProbe(bytes).ok());
  EXPECT_FALSE(ParseReceiverReport(bytes).ok());
  EXPECT_FALSE(ParseQualityReport(bytes).ok());
}

}  // namespace
}  // namespace parley::call
