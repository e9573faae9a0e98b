// Fuzzes store URL parsing (ParseStoreUrl, RedactStoreUrl): any input is either a
// store location or one sentence without a newline that never repeats a password.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/check.h"
#include "parley/server/store_factory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  const std::string redacted = parley::server::RedactStoreUrl(url);
  PARLEY_CHECK(redacted.size() <= url.size() + 3);
  auto location = parley::server::ParseStoreUrl(url);
  if (!location.ok()) {
    const std::string& message = location.error().message;
    PARLEY_CHECK(!message.empty());
    PARLEY_CHECK(message.find('\n') == std::string::npos);
    return 0;
  }
  using Kind = parley::server::StoreLocation::Kind;
  if (location->kind == Kind::kSqlite) {
    PARLEY_CHECK(!location->sqlite_path.empty() && location->sqlite_path.front() == '/');
  } else {
    PARLEY_CHECK(location->postgres_url == url);
  }
  return 0;
}
