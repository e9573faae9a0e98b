// Fuzzes what a stranger controls on the way to the web app: the request target
// (WebAppTarget::Parse) and the invite in it (InviteCode::Parse). No crash; whatever
// parses names only app files (no dot segments, no escapes) under a 22-character
// invite, and an invite that parses reads back unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/check.h"
#include "parley/server/invite_code.h"
#include "parley/server/web_app_target.h"

using namespace parley::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto target = WebAppTarget::Parse(text)) {
    PARLEY_CHECK(target->invite.size() == kInviteTextLength);
    PARLEY_CHECK(target->bare == target->file.empty());
    if (!target->bare) {
      const std::string& f = target->file;
      PARLEY_CHECK(f.size() <= 256 && f.front() != '/' && f.back() != '/');
      PARLEY_CHECK(f.find("//") == std::string::npos && f.find("/.") == std::string::npos && f.front() != '.');
      PARLEY_CHECK(std::all_of(f.begin(), f.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == '/';
      }));
    }
  }
  auto invite = InviteCode::Parse(text);
  if (invite.ok()) {
    PARLEY_CHECK(invite->text().size() == kInviteTextLength);
    auto again = InviteCode::Parse(invite->text());
    PARLEY_CHECK(again.ok() && again->text() == invite->text() && again->hash() == invite->hash());
    PARLEY_CHECK(InviteCode::FromBytes(invite->bytes()).text() == invite->text());
  } else {
    const std::string& message = invite.error().message;
    PARLEY_CHECK(!message.empty() && message.size() < 400);
  }
  return 0;
}
