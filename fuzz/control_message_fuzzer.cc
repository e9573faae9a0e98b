// Fuzzes the in-call control message parser (the receiver report a peer sends on the
// sealed control stream): no crash, one-line errors, and what parses serializes back
// to the same bytes and reads back equal.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "parley/base/check.h"
#include "parley/call/control_message.h"

using namespace parley::call;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto parsed = ParseReceiverReport(bytes);
  if (!parsed.ok()) {
    const std::string& message = parsed.error().message;
    PARLEY_CHECK(!message.empty() && message.size() < 200);
    for (char c : message) PARLEY_CHECK(c >= 0x20 && c < 0x7f);
    return 0;
  }
  PARLEY_CHECK(size == kReceiverReportSize && data[0] == kReceiverReportType);
  const std::vector<uint8_t> serialized = SerializeReceiverReport(*parsed);
  PARLEY_CHECK(serialized.size() == kReceiverReportSize);
  PARLEY_CHECK(std::equal(serialized.begin(), serialized.end(), bytes.begin(), bytes.end()));
  auto again = ParseReceiverReport(serialized);
  PARLEY_CHECK(again.ok() && *again == *parsed);
  return 0;
}
