// Fuzzes the in-call control message parsers (the receiver report, the quality report,
// the path probe, the probe reply and bye a peer sends on the sealed control stream): no
// crash, one-line errors, at most one parser accepts, and what parses serializes back to
// the same bytes (for the quality report: but for reserved flag bits; for bye: but for
// an unknown reason, which reads as hangup) and reads back equal.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "parley/base/check.h"
#include "parley/call/control_message.h"

using namespace parley::call;

namespace {

template <typename T>
bool Check(const parley::Result<T>& parsed, std::span<const uint8_t> bytes, std::size_t size, uint8_t type,
           std::vector<uint8_t> (*serialize)(const T&), parley::Result<T> (*parse)(std::span<const uint8_t>)) {
  if (!parsed.ok()) {
    const std::string& message = parsed.error().message;
    PARLEY_CHECK(!message.empty() && message.size() < 200);
    for (char c : message) PARLEY_CHECK(c >= 0x20 && c < 0x7f);
    return false;
  }
  PARLEY_CHECK(bytes.size() == size && bytes[0] == type);
  const std::vector<uint8_t> serialized = serialize(*parsed);
  PARLEY_CHECK(serialized.size() == size);
  PARLEY_CHECK(std::equal(serialized.begin(), serialized.end(), bytes.begin(), bytes.end()));
  auto again = parse(serialized);
  PARLEY_CHECK(again.ok() && *again == *parsed);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  int accepted = 0;
  accepted += Check<ReceiverReport>(ParseReceiverReport(bytes), bytes, kReceiverReportSize, kReceiverReportType,
                                    &SerializeReceiverReport, &ParseReceiverReport);
  accepted += Check<ProbeMessage>(ParseProbe(bytes), bytes, kProbeSize, kProbeType, &SerializeProbe, &ParseProbe);
  accepted += Check<ProbeReply>(ParseProbeReply(bytes), bytes, kProbeReplySize, kProbeReplyType,
                                &SerializeProbeReply, &ParseProbeReply);
  {
    auto quality = ParseQualityReport(bytes);
    if (quality.ok()) {
      ++accepted;
      PARLEY_CHECK(bytes.size() == kQualityReportSize && bytes[0] == kQualityReportType);
      std::vector<uint8_t> expected(bytes.begin(), bytes.end());
      expected[1] &= kQualityFlagDataSaving;  // reserved bits are ignored, not kept
      const std::vector<uint8_t> serialized = SerializeQualityReport(*quality);
      PARLEY_CHECK(serialized == expected);
      PARLEY_CHECK(quality->loss_before_fraction() >= 0 && quality->loss_before_fraction() <= 1);
      PARLEY_CHECK(quality->loss_after_fraction() >= 0 && quality->loss_after_fraction() <= 1);
    } else {
      const std::string& message = quality.error().message;
      PARLEY_CHECK(!message.empty() && message.size() < 200);
    }
  }
  {
    auto bye = ParseBye(bytes);
    if (bye.ok()) {
      ++accepted;
      PARLEY_CHECK(bytes.size() == kByeSize && bytes[0] == kByeType && bye->reason == ByeReason::kHangup);
      const std::vector<uint8_t> serialized = SerializeBye(*bye);
      PARLEY_CHECK(serialized.size() == kByeSize && serialized[0] == kByeType);
      PARLEY_CHECK(ParseBye(serialized).ok());
    } else {
      const std::string& message = bye.error().message;
      PARLEY_CHECK(!message.empty() && message.size() < 200);
    }
  }
  PARLEY_CHECK(accepted <= 1);
  return 0;
}
