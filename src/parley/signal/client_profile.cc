// PROFILE/client.json: strict JSON in and out, written atomically.
#include "parley/signal/client_profile.h"

#include <nlohmann/json.hpp>

#include "parley/crypto/profile_files.h"

namespace parley::signal {
namespace {

constexpr std::size_t kMaxFileBytes = 16 * 1024;
const char* const kFields[] = {"server_host", "server_port", "websocket_path", "pin_sha256",
                               "server_name", "user",        "device",         "more_servers"};
const char* const kServerFields[] = {"server_host", "server_port", "websocket_path", "pin_sha256"};

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// One server's four fields from `json` (the profile itself or an entry of
// more_servers); `where` names it in errors ("the client profile" or "the client
// profile's more_servers[1]").
Result<ProfileServer> ParseServer(const nlohmann::json& json, const std::string& where) {
  ProfileServer server;
  for (auto [name, out] : {std::pair{"server_host", &server.host},
                           {"websocket_path", &server.websocket_path},
                           {"pin_sha256", &server.pin_sha256}}) {
    auto it = json.find(name);
    if (it == json.end() || !it->is_string()) return Error{where + " needs a text field '" + name + "'"};
    *out = it->get<std::string>();
    const std::size_t max = std::string_view(name) == "pin_sha256" ? 64 : 255;
    if (out->size() > max) return Error{where + "'s '" + name + "' is too long"};
  }
  auto port = json.find("server_port");
  if (port == json.end() || !port->is_number_integer() || port->get<int64_t>() < 1 || port->get<int64_t>() > 65535) {
    return Error{where + "'s 'server_port' must be a number from 1 to 65535"};
  }
  server.port = static_cast<uint16_t>(port->get<int64_t>());
  if (server.host.empty()) return Error{where + "'s 'server_host' is empty"};
  if (server.websocket_path.empty() || server.websocket_path[0] != '/') {
    return Error{where + "'s 'websocket_path' must start with '/'"};
  }
  if (!server.pin_sha256.empty() && !IsHex64(server.pin_sha256)) {
    return Error{where + "'s 'pin_sha256' must be 64 lower-case hex digits"};
  }
  return server;
}

nlohmann::ordered_json ServerJson(const ProfileServer& server) {
  nlohmann::ordered_json json;
  json["server_host"] = server.host;
  json["server_port"] = server.port;
  json["websocket_path"] = server.websocket_path;
  json["pin_sha256"] = server.pin_sha256;
  return json;
}

}  // namespace

std::vector<ProfileServer> ClientProfile::Servers() const {
  std::vector<ProfileServer> servers{{server_host, server_port, websocket_path, pin_sha256}};
  servers.insert(servers.end(), more_servers.begin(), more_servers.end());
  return servers;
}

void ClientProfile::SetPin(std::size_t index, const std::string& pin) {
  if (index == 0) {
    pin_sha256 = pin;
  } else if (index - 1 < more_servers.size()) {
    more_servers[index - 1].pin_sha256 = pin;
  }
}

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
  auto first = ParseServer(json, "the client profile");
  if (!first) return first.error();
  p.server_host = first->host;
  p.server_port = first->port;
  p.websocket_path = first->websocket_path;
  p.pin_sha256 = first->pin_sha256;
  for (auto [name, out, max] : {std::tuple{"server_name", &p.server_name, std::size_t{255}},
                                {"user", &p.user, std::size_t{64}},
                                {"device", &p.device, std::size_t{32}}}) {
    auto it = json.find(name);
    if (it == json.end() || !it->is_string()) {
      return Error{std::string("the client profile needs a text field '") + name + "'"};
    }
    *out = it->get<std::string>();
    if (out->size() > max) return Error{std::string("the client profile's '") + name + "' is too long"};
  }
  if (auto more = json.find("more_servers"); more != json.end()) {
    if (!more->is_array()) return Error{"the client profile's 'more_servers' must be a list"};
    if (more->size() > ClientProfile::kMaxMoreServers) {
      return Error{"the client profile's 'more_servers' lists more than " +
                   std::to_string(ClientProfile::kMaxMoreServers) + " servers"};
    }
    for (std::size_t i = 0; i < more->size(); ++i) {
      const std::string where = "the client profile's more_servers[" + std::to_string(i) + "]";
      const nlohmann::json& entry = (*more)[i];
      if (!entry.is_object()) return Error{where + " is not an object"};
      for (const auto& [key, value] : entry.items()) {
        bool known = false;
        for (const char* f : kServerFields) known = known || key == f;
        if (!known) return Error{where + " has an unknown field '" + key + "'"};
      }
      auto server = ParseServer(entry, where);
      if (!server) return server.error();
      p.more_servers.push_back(std::move(*server));
    }
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
  if (!p.more_servers.empty()) {
    nlohmann::ordered_json more = nlohmann::ordered_json::array();
    for (const ProfileServer& server : p.more_servers) more.push_back(ServerJson(server));
    json["more_servers"] = std::move(more);
  }
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
