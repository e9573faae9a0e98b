// Fuzzes the signaling message parser: no crash, every error is a short sentence, and
// whatever parses re-serializes canonically (Serialize -> Parse gives it back).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/check.h"
#include "parley/signal/messages.h"

using namespace parley::signal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseMessage(text);
  if (!parsed.ok()) {
    PARLEY_CHECK(!parsed.error().message.empty());
    PARLEY_CHECK(parsed.error().message.size() <= kMaxTextBytes);
    (void)PeekRequest(text);
    return 0;
  }
  PARLEY_CHECK(IsKnownType(MessageType(*parsed)));
  const std::string json = SerializeMessage(*parsed);
  auto again = ParseMessage(json);
  PARLEY_CHECK_MSG(again.ok(), json.c_str());
  PARLEY_CHECK(*again == *parsed);
  PARLEY_CHECK(SerializeMessage(*again) == json);
  PARLEY_CHECK(PeekRequest(text).id == MessageId(*parsed));
  return 0;
}
