// parleyd's data directory: created private (0700) on first start; holds the secrets
// and generated settings that must survive restarts (ticket key, WebSocket path).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "parley/base/result.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/secret.h"

namespace parley::server {

// Files, all written atomically (temporary file, fsync, rename) so a kill at any
// moment leaves either the old file or the new one:
//   relay_ticket.key   32 random bytes, mode 0600: the RelayTicketIssuer key
//   websocket_path     one line "/ws/<22 base64url chars>": the signaling path
//   tls_certificate.pem, tls_key.pem (0600): a generated certificate (TlsCertificate)
//   parley.db          the SQLite store (SqliteStore)
// Not thread-safe; used once at startup from main.
class DataDirectory {
 public:
  // Creates `path` (and missing parents) with mode 0700 if it does not exist. An
  // existing directory is used as it is; one that is not a writable directory is an error.
  static Result<DataDirectory> Open(const std::string& path);

  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

  // The relay ticket key: read from relay_ticket.key, or made from `random` and
  // written there with mode 0600 on first start. A file of the wrong size is an error
  // (never silently replaced: that would invalidate every ticket in flight).
  Result<crypto::Secret<32>> LoadOrCreateTicketKey(crypto::KeySource& random) const;

  // The generated signaling path: read from websocket_path, or "/ws/" + base64url of
  // 16 bytes from `random`, written there on first start.
  Result<std::string> LoadOrCreateWebsocketPath(crypto::KeySource& random) const;

  // Whole-file helpers with one-sentence errors naming the file.
  static Result<std::string> ReadFile(const std::string& path);
  // Writes via path.tmp + fsync + rename; the file has exactly `mode`.
  static Status WriteFileAtomically(const std::string& path, std::string_view contents, mode_t mode);
  static bool Exists(const std::string& path);

 private:
  explicit DataDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace parley::server
