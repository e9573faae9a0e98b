// Length edge cases (issue #7) for the in-call control messages: each has one exact
// size, which is its only length. The table sets the size to 0, 1, size - 1, size,
// size + 1 and the largest UDP payload and expects the exact error sentence (or success).
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "parley/call/control_message.h"

namespace parley::call {
namespace {

struct ControlMessage {
  std::string name;  // as the error names it
  uint8_t type;
  std::size_t size;
  std::function<std::string(std::span<const uint8_t>)> parse;  // "" = accepted, else the error
};

template <typename T>
std::string Outcome(const Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

TEST(CallLengthFieldsTest, EveryControlMessageSize) {
  const std::vector<ControlMessage> messages = {
      {"receiver report", kReceiverReportType, kReceiverReportSize,
       [](std::span<const uint8_t> b) { return Outcome(ParseReceiverReport(b)); }},
      {"probe", kProbeType, kProbeSize, [](std::span<const uint8_t> b) { return Outcome(ParseProbe(b)); }},
      {"probe reply", kProbeReplyType, kProbeReplySize,
       [](std::span<const uint8_t> b) { return Outcome(ParseProbeReply(b)); }},
      {"quality report", kQualityReportType, kQualityReportSize,
       [](std::span<const uint8_t> b) { return Outcome(ParseQualityReport(b)); }},
      {"bye", kByeType, kByeSize, [](std::span<const uint8_t> b) { return Outcome(ParseBye(b)); }},
  };
  for (const ControlMessage& m : messages) {
    const auto wrong = [&m](std::size_t got) {
      return m.name + " is " + std::to_string(got) + " bytes, expected " + std::to_string(m.size);
    };
    struct Case {
      std::string name;
      std::size_t length;
      std::string error;
    };
    const std::vector<Case> cases = {
        {"empty", 0, "control message is empty"},
        {"type byte only", 1, wrong(1)},
        {"size - 1", m.size - 1, wrong(m.size - 1)},
        {"size", m.size, ""},
        {"size + 1", m.size + 1, wrong(m.size + 1)},
        {"largest UDP payload", 65507, wrong(65507)},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(m.name + ": " + c.name + " (" + std::to_string(c.length) + ")");
      std::vector<uint8_t> bytes(c.length, 0);
      if (!bytes.empty()) bytes[0] = m.type;
      EXPECT_EQ(m.parse(bytes), c.error);
    }
  }
}

}  // namespace
}  // namespace parley::call
