// Adapters from the CLI's ServerLink/MediaTransport to the signaling connection and
// the relay transport in src/parley, plus the server address parser for `init`.
#include "server_link.h"

#include <charconv>
#include <utility>

#include "parley/net/relay_udp_path.h"
#include "parley/signal/signaling_connection.h"

namespace parley::app {
namespace {

class RelayMediaTransport final : public call::MediaTransport {
 public:
  explicit RelayMediaTransport(std::unique_ptr<net::PacketPath> path) : path_(std::move(path)) {}
  void Send(std::span<const uint8_t> sealed, TimePoint now) override {
    (void)path_->Send(sealed, now);  // a dropped datagram is loss, which the call handles
  }
  // Receive also runs the path's timers (keepalive binds): the media thread calls it
  // every 10 ms or so.
  std::optional<call::ReceivedPacket> Receive(TimePoint now) override {
    auto packet = path_->Receive(now);
    if (!packet) return std::nullopt;
    return call::ReceivedPacket{std::move(*packet), 0};
  }

 private:
  std::unique_ptr<net::PacketPath> path_;
};

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

Result<std::unique_ptr<call::MediaTransport>> OpenRelay(const std::string& host, uint16_t port,
                                                        const std::vector<uint8_t>& ticket,
                                                        const std::vector<uint8_t>& hop_key,
                                                        const std::vector<uint8_t>& bind_key) {
  auto credentials = net::RelayCredentials::FromBytes(ticket, hop_key, bind_key);
  if (!credentials) return credentials.error();
  const TimePoint now = std::chrono::steady_clock::now();
  auto path = net::RelayUdpPath::Open(host, port, std::move(*credentials), now, now);
  if (!path) return path.error();
  return std::unique_ptr<call::MediaTransport>(new RelayMediaTransport(std::move(*path)));
}

}  // namespace parley::app
