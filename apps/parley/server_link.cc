// Adapters from the CLI's ServerLink/MediaTransport to the signaling connection and
// the relay transport in src/parley, plus the server address parser for `init`.
#include "server_link.h"

#include <charconv>

#include "parley/net/relay_transport.h"

namespace parley::app {
namespace {

class RelayMediaTransport final : public call::MediaTransport {
 public:
  explicit RelayMediaTransport(std::unique_ptr<net::RelayTransport> relay) : relay_(std::move(relay)) {}
  void Send(std::span<const uint8_t> sealed, TimePoint now) override {
    (void)relay_->Send(sealed, now);  // a dropped datagram is loss, which the call handles
  }
  std::optional<std::vector<uint8_t>> Receive() override { return relay_->Receive(); }

 private:
  std::unique_ptr<net::RelayTransport> relay_;
};

}  // namespace

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
                                                        const std::vector<uint8_t>& ticket) {
  auto relay = net::RelayTransport::Open(host, port, ticket, std::chrono::steady_clock::now());
  if (!relay) return relay.error();
  return std::unique_ptr<call::MediaTransport>(new RelayMediaTransport(std::move(*relay)));
}

}  // namespace parley::app
