// Fuzzes parleyd's TOML config loader and command-line overrides: any input either
// fails with a one-line error naming the source, or gives a config that prints as
// TOML and reads back to an equal config.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/check.h"
#include "parley/server/server_config.h"

namespace {

using parley::server::ServerConfig;

void CheckRoundTrip(const ServerConfig& config) {
  const std::string printed = parley::server::PrintServerConfig(config);
  auto again = parley::server::ParseServerConfig(printed, "printed");
  PARLEY_CHECK_MSG(again.ok(), again.ok() ? "" : again.error().message.c_str());
  PARLEY_CHECK(*again == config);
  (void)parley::server::ValidateServerConfig(config);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parley::server::ParseServerConfig(text, "fuzz.toml");
  if (config.ok()) {
    CheckRoundTrip(*config);
  } else {
    const std::string& message = config.error().message;
    PARLEY_CHECK(message.rfind("fuzz.toml:", 0) == 0);
    PARLEY_CHECK(message.back() == '.');
  }
  // The same bytes as a command-line override KEY=VALUE on the defaults.
  const size_t eq = text.find('=');
  if (eq != std::string_view::npos) {
    ServerConfig overridden;
    const ServerConfig before = overridden;
    auto applied = parley::server::ApplyServerConfigOverride(overridden, text.substr(0, eq), text.substr(eq + 1));
    if (applied.ok()) {
      // Strings from the command line are not checked for UTF-8; print only what TOML can hold.
      bool ascii = true;
      for (unsigned char c : text) ascii = ascii && c < 0x80;
      if (ascii) CheckRoundTrip(overridden);
    } else {
      PARLEY_CHECK(overridden == before);  // a refused override changes nothing
      PARLEY_CHECK(!applied.error().message.empty());
    }
  }
  return 0;
}
