// Fuzzes ValidateUsername: never crashes, every accepted name obeys the documented
// rules, and every error is one line of printable ASCII (a hostile name cannot
// forge log lines).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parley/base/check.h"
#include "parley/server/username.h"

using namespace parley::server;

namespace {
bool Allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  const parley::Status status = ValidateUsername(name);
  if (!status.ok()) {
    const std::string& message = status.error().message;
    PARLEY_CHECK(!message.empty());
    PARLEY_CHECK(message.size() < 400);
    for (char c : message) {
      const auto byte = static_cast<unsigned char>(c);
      PARLEY_CHECK(byte >= 0x20 && byte < 0x7f);
    }
    return 0;
  }
  PARLEY_CHECK(name.size() >= kMinUsernameLength && name.size() <= kMaxUsernameLength);
  PARLEY_CHECK(name.front() >= 'a' && name.front() <= 'z');
  for (char c : name) PARLEY_CHECK(Allowed(c));
  PARLEY_CHECK(name.find("..") == std::string_view::npos);
  PARLEY_CHECK(!IsReservedUsername(name));
  return 0;
}
