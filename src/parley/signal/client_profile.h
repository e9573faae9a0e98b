// The parley client's own settings in its profile directory (PROFILE/client.json):
// which server, how to reach it, the pinned certificate, and who this device is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"

namespace parley::signal {

// One server address of the community: where to connect and the certificate pinned
// for it (empty: trust on first use, then pinned by the client).
struct ProfileServer {
  std::string host;
  uint16_t port = 0;
  std::string websocket_path;
  std::string pin_sha256;
  bool operator==(const ProfileServer&) const = default;
};

// What `parley init` learnt and every later command needs. The identity key
// (crypto/identity_key.h) and known peers (crypto/identity_store.h) live beside it.
struct ClientProfile {
  static constexpr std::string_view kFileName = "client.json";

  std::string server_host;     // as given to init: a name or an address
  uint16_t server_port = 0;
  std::string websocket_path;  // "/ws/..." as parleyd printed it
  std::string pin_sha256;      // 64 lower-case hex digits of the server's leaf certificate
  std::string server_name;     // the name in parleyd's hello; a hello naming another is refused
  std::string user;
  std::string device;
  // Further nodes of the same community (same accounts, same server_name), tried in
  // this order after the first when it cannot be reached. At most kMaxMoreServers.
  // Optional in the file ("more_servers"), written only when non-empty, so a profile
  // without it reads and writes exactly as before.
  std::vector<ProfileServer> more_servers = {};
  bool operator==(const ClientProfile&) const = default;

  static constexpr std::size_t kMaxMoreServers = 8;
  // The first server, then more_servers: the order the client tries them in.
  std::vector<ProfileServer> Servers() const;
  // Sets the pin of the server at `index` of Servers() (a first connection to one
  // that had none).
  void SetPin(std::size_t index, const std::string& pin_sha256);
};

// JSON object with exactly these fields (more_servers optional: a list of objects with
// server_host, server_port, websocket_path, pin_sha256). Strict: unknown or missing
// fields, wrong types, a port outside 1..65535, a path not starting with '/', a pin
// that is not 64 hex digits, more than kMaxMoreServers are errors naming the field. Outside input (a file a user may edit):
// fuzzed (fuzz/client_profile_fuzzer.cc). Pure; any thread.
Result<ClientProfile> ParseClientProfile(std::string_view text);
std::string SerializeClientProfile(const ClientProfile& profile);

// PROFILE/client.json: read (a missing file says to run `parley init`), and written
// atomically with mode 0600 (crypto/profile_files.h). Any thread, one process per
// profile.
Result<ClientProfile> LoadClientProfile(const std::filesystem::path& profile_dir);
Status SaveClientProfile(const std::filesystem::path& profile_dir, const ClientProfile& profile);

}  // namespace parley::signal
