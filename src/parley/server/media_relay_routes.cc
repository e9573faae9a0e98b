// MediaRelayRoutes: a named relay is bridged to only if the community knows it.
#include "parley/server/media_relay_routes.h"

namespace parley::server {
namespace {

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameHost(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

}  // namespace

MediaRelayRoutes::MediaRelayRoutes(signal::RelayAddress own, std::vector<signal::RelayAddress> configured)
    : own_(std::move(own)), configured_(std::move(configured)) {}

std::optional<MediaRelayRoute> MediaRelayRoutes::Route(std::string_view host, uint16_t port,
                                                       std::span<const RelayRecord> live) const {
  if (host.empty() || port == 0) return std::nullopt;
  if (port == own_.port && SameHost(host, own_.host)) return MediaRelayRoute{MediaRelayRoute::Kind::kOwnBridge, {}, 0};
  auto udp = [&] { return MediaRelayRoute{MediaRelayRoute::Kind::kUdp, std::string(host), port}; };
  for (const signal::RelayAddress& relay : configured_) {
    if (relay.port == port && SameHost(host, relay.host)) return udp();
  }
  for (const RelayRecord& relay : live) {
    if (relay.port == port && SameHost(host, relay.host)) return udp();
  }
  return std::nullopt;
}

}  // namespace parley::server
