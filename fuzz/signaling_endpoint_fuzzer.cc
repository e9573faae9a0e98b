// Fuzzes the parser of what users paste from parleyd's output (--server, --pin): no
// crash, errors are one printable line, and whatever parses is well formed and reads
// back from its own ToString() unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/check.h"
#include "parley/signal/signaling_endpoint.h"

using namespace parley::signal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // "SERVER\nPIN": the two command-line values; no newline means no --pin.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t newline = text.find('\n');
  const std::string_view server = text.substr(0, newline);
  const std::string_view pin = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);

  auto parsed = ParseServerAddress(server, pin);
  if (!parsed.ok()) {
    const std::string& message = parsed.error().message;
    PARLEY_CHECK(!message.empty() && message.size() < 400);
    for (char c : message) PARLEY_CHECK(c >= 0x20 && c < 0x7f);
    return 0;
  }
  const SignalingEndpoint& e = *parsed;
  PARLEY_CHECK(!e.host.empty() && e.port != 0);
  PARLEY_CHECK(e.path.size() >= 2 && e.path[0] == '/');
  if (e.pin_sha256) {
    PARLEY_CHECK(e.pin_sha256->size() == 64);
    for (char c : *e.pin_sha256) PARLEY_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  auto again = ParseServerAddress(e.ToString(), e.pin_sha256.value_or(""));
  PARLEY_CHECK_MSG(again.ok(), e.ToString().c_str());
  PARLEY_CHECK(*again == e);
  return 0;
}
