// The client's two network links as the CLI wiring sees them: the signaling
// connection to parleyd (TLS + WebSocket, pinned) and the relay transport for media.
// Implemented in server_link.cc over signal::SignalingConnection and net::RelayUdpPath.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/call/media_transport.h"

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

// The relay path for one call (obfuscated UDP; `ticket`, `hop_key` and `bind_key` as
// the `relay` message gave them); used by the media thread once handed over.
Result<std::unique_ptr<call::MediaTransport>> OpenRelay(const std::string& host, uint16_t port,
                                                        const std::vector<uint8_t>& ticket,
                                                        const std::vector<uint8_t>& hop_key,
                                                        const std::vector<uint8_t>& bind_key);

}  // namespace parley::app
