// The client's signaling link as the CLI wiring sees it: the connection to parleyd
// (TLS + WebSocket, pinned), over signal::SignalingConnection. A call's media paths
// are in call_paths.h.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"

namespace parley::app {

struct ServerAddress {
  std::string host;
  uint16_t port = 0;
  std::string path;  // the WebSocket path
  std::string pin_sha256;  // empty: trust on first use (the fingerprint seen is reported)
};

// Accepts what parleyd prints ("wss://HOST:PORT/ws/...") or HOST:PORT with the path
// given separately. Errors are one sentence.
Result<ServerAddress> ParseServerAddress(const std::string& text, const std::string& path);

// One signaling connection. Context: the CLI's main thread only.
class ServerLink {
 public:
  virtual ~ServerLink() = default;
  virtual Status Send(const std::string& text) = 0;
  // The next message text, nothing after `wait`, or an error when the connection is gone.
  virtual Result<std::optional<std::string>> Receive(Duration wait) = 0;
  // SHA-256 of the certificate the server presented (64 hex digits).
  virtual std::string certificate_sha256() const = 0;
};

Result<std::unique_ptr<ServerLink>> ConnectToServer(const ServerAddress& address, Duration timeout);

}  // namespace parley::app
