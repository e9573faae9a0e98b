// PROFILE/client.json: strict JSON in and out, written atomically.
#include "parley/signal/client_profile.h"

#include <nlohmann/json.hpp>

#include "parley/crypto/profile_files.h"

namespace parley::signal {
namespace {

constexpr std::size_t kMaxFileBytes = 16 * 1024;
const char* const kFields[] = {"server_host", "server_port", "websocket_path", "pin_sha256",
                               "server_name", "user",        "device"};

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<ClientProfile> ParseClientProfile(std::string_view text) {
  if (text.size() > kMaxFileBytes) return Error{"the client profile is larger than 16 KiB"};
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Error{"the client profile is not a JSON object"};
  for (const auto& [key, value] : json.items()) {
    bool known = false;
    for (const char* f : kFields) known = known || key == f;
    if (!known) return Error{"the client profile has an unknown field '" + key + "'"};
  }
  ClientProfile p;
  auto text_field = [&](const char* name, std::string& out, std::size_t max) -> Status {
    auto it = json.find(name);
    if (it == json.end() || !it->is_string()) return Error{std::string("the client profile needs a text field '") + name + "'"};
    out = it->get<std::string>();
    if (out.size() > max) return Error{std::string("the client profile's '") + name + "' is too long"};
    return Ok{};
  };
  for (auto [name, out, max] : {std::tuple{"server_host", &p.server_host, std::size_t{255}},
                                {"websocket_path", &p.websocket_path, std::size_t{255}},
                                {"pin_sha256", &p.pin_sha256, std::size_t{64}},
                                {"server_name", &p.server_name, std::size_t{255}},
                                {"user", &p.user, std::size_t{64}},
                                {"device", &p.device, std::size_t{32}}}) {
    if (Status s = text_field(name, *out, max); !s) return s.error();
  }
  auto port = json.find("server_port");
  if (port == json.end() || !port->is_number_integer() || port->get<int64_t>() < 1 || port->get<int64_t>() > 65535) {
    return Error{"the client profile's 'server_port' must be a number from 1 to 65535"};
  }
  p.server_port = static_cast<uint16_t>(port->get<int64_t>());
  if (p.server_host.empty()) return Error{"the client profile's 'server_host' is empty"};
  if (p.websocket_path.empty() || p.websocket_path[0] != '/') {
    return Error{"the client profile's 'websocket_path' must start with '/'"};
  }
  if (!p.pin_sha256.empty() && !IsHex64(p.pin_sha256)) {
    return Error{"the client profile's 'pin_sha256' must be 64 lower-case hex digits"};
  }
  if (p.user.empty() || p.device.empty()) return Error{"the client profile names no user or device"};
  return p;
}

std::string SerializeClientProfile(const ClientProfile& p) {
  nlohmann::ordered_json json;
  json["server_host"] = p.server_host;
  json["server_port"] = p.server_port;
  json["websocket_path"] = p.websocket_path;
  json["pin_sha256"] = p.pin_sha256;
  json["server_name"] = p.server_name;
  json["user"] = p.user;
  json["device"] = p.device;
  return json.dump(2) + "\n";
}

Result<ClientProfile> LoadClientProfile(const std::filesystem::path& profile_dir) {
  bool not_found = false;
  auto text = crypto::ReadSmallFile(profile_dir / ClientProfile::kFileName, kMaxFileBytes, &not_found);
  if (not_found) {
    return Error{"No parley profile in " + profile_dir.string() +
                 "; run `parley init --server HOST:PORT --name NAME` first."};
  }
  if (!text) return text.error();
  auto profile = ParseClientProfile(*text);
  if (!profile) {
    return Error{(profile_dir / ClientProfile::kFileName).string() + ": " + profile.error().message +
                 "; fix it or run `parley init` again."};
  }
  return profile;
}

Status SaveClientProfile(const std::filesystem::path& profile_dir, const ClientProfile& profile) {
  if (Status s = crypto::EnsurePrivateDirectory(profile_dir); !s) return s;
  return crypto::WriteFileAtomically(profile_dir / ClientProfile::kFileName, SerializeClientProfile(profile));
}

}  // namespace parley::signal
