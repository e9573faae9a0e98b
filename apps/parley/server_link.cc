// The CLI's ServerLink over the signaling connection in src/parley, plus the server
// address parser for `init`.
#include "server_link.h"

#include <charconv>
#include <utility>

#include "parley/signal/signaling_connection.h"

namespace parley::app {
namespace {

// ServerLink over signal::SignalingConnection (TLS, pinning, WebSocket and its errors
// all live there).
class SignalingLink final : public ServerLink {
 public:
  explicit SignalingLink(std::unique_ptr<signal::SignalingConnection> connection)
      : connection_(std::move(connection)) {}

  Status Send(const std::string& text) override {
    if (!connection_->Send(text)) return Error{ClosedReason()};
    return Ok{};
  }

  Result<std::optional<std::string>> Receive(Duration wait) override {
    if (auto text = connection_->Receive(wait)) return std::optional<std::string>(std::move(*text));
    if (connection_->connected()) return std::optional<std::string>();
    // Closed: a message that arrived just before the close is still delivered first.
    if (auto text = connection_->Receive(Duration::zero())) return std::optional<std::string>(std::move(*text));
    return Error{ClosedReason()};
  }

  std::string certificate_sha256() const override { return connection_->peer_fingerprint_sha256(); }

 private:
  std::string ClosedReason() const {
    const std::string reason = connection_->close_reason();
    return reason.empty() ? "the connection to the server was lost; try again." : reason;
  }

  std::unique_ptr<signal::SignalingConnection> connection_;
};

}  // namespace

Result<std::unique_ptr<ServerLink>> ConnectToServer(const ServerAddress& address, Duration timeout) {
  signal::SignalingEndpoint endpoint{address.host, address.port, address.path, std::nullopt};
  if (!address.pin_sha256.empty()) {
    auto pin = signal::ParsePin(address.pin_sha256);  // also accepts "sha256:" and colon-separated forms
    if (!pin) return pin.error();
    endpoint.pin_sha256 = std::move(*pin);
  }
  auto connection = signal::SignalingConnection::Connect(endpoint, timeout);
  if (!connection) return connection.error();
  return std::unique_ptr<ServerLink>(new SignalingLink(std::move(*connection)));
}

Result<ServerAddress> ParseServerAddress(const std::string& text, const std::string& path) {
  std::string rest = text;
  if (rest.rfind("wss://", 0) == 0) rest = rest.substr(6);
  ServerAddress address;
  const std::size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    address.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  if (!path.empty()) address.path = path;
  const std::size_t colon = rest.rfind(':');
  if (rest.empty() || colon == std::string::npos || colon == 0) {
    return Error{"Give the server as HOST:PORT or as the wss://HOST:PORT/ws/... line parleyd prints."};
  }
  address.host = rest.substr(0, colon);
  if (address.host.size() > 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  }
  const std::string port = rest.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return Error{"The server port '" + port + "' is not a number from 1 to 65535."};
  }
  address.port = static_cast<uint16_t>(value);
  if (address.path.empty() || address.path[0] != '/') {
    return Error{"The server's WebSocket path is missing: give the whole wss://HOST:PORT/ws/... line parleyd "
                 "printed, or --path /ws/...."};
  }
  return address;
}

}  // namespace parley::app
