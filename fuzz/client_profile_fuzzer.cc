// Fuzzes the client profile parser (PROFILE/client.json, a file users may edit): no
// crash, every error says something, whatever parses is well formed, and
// serialize -> parse gives the same profile back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/check.h"
#include "parley/signal/client_profile.h"

using namespace parley::signal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseClientProfile(text);
  if (!parsed.ok()) {
    PARLEY_CHECK(!parsed.error().message.empty());
    return 0;
  }
  const ClientProfile& p = *parsed;
  PARLEY_CHECK(!p.server_host.empty() && p.server_port != 0);
  PARLEY_CHECK(!p.websocket_path.empty() && p.websocket_path[0] == '/');
  PARLEY_CHECK(p.pin_sha256.empty() || p.pin_sha256.size() == 64);
  PARLEY_CHECK(!p.user.empty() && !p.device.empty());
  PARLEY_CHECK(p.more_servers.size() <= ClientProfile::kMaxMoreServers);
  for (const ProfileServer& server : p.more_servers) {
    PARLEY_CHECK(!server.host.empty() && server.port != 0);
    PARLEY_CHECK(!server.websocket_path.empty() && server.websocket_path[0] == '/');
    PARLEY_CHECK(server.pin_sha256.empty() || server.pin_sha256.size() == 64);
  }
  const std::string serialized = SerializeClientProfile(p);
  auto again = ParseClientProfile(serialized);
  PARLEY_CHECK_MSG(again.ok(), serialized.c_str());
  PARLEY_CHECK(*again == p);
  return 0;
}
