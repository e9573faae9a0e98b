// parleyd's relay role and the relay wiring shared with the node role.
#include "relay_role.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <memory>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

#include "parley/net/own_addresses.h"
#include "parley/server/redis_node_bus.h"
#include "parley/server/relay_chooser.h"
#include "parley/server/ticket_key_file.h"

namespace parley::parleyd {
namespace {

std::string HostPort(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string PublicHost(const server::ServerConfig& config) {
  return config.relay_public_host.empty() ? config.server_name : config.relay_public_host;
}

}  // namespace

Result<crypto::Secret<32>> LoadTicketKey(const server::ServerConfig& config, const server::DataDirectory& dir,
                                         crypto::KeySource& random) {
  if (!config.relay_ticket_key_file.empty()) return server::ReadTicketKeyFile(config.relay_ticket_key_file);
  return dir.LoadOrCreateTicketKey(random);
}

std::string RandomBusId(crypto::KeySource& random, std::string prefix) {
  std::array<uint8_t, 6> bytes{};
  random.Fill(bytes);
  static constexpr char kHexDigits[] = "0123456789abcdef";
  for (uint8_t b : bytes) prefix += std::string{kHexDigits[b >> 4], kHexDigits[b & 15]};
  return prefix;
}

Status ConfigureHubRelays(const server::ServerConfig& config, server::NodeBus* bus, const server::UdpRelay* own,
                          server::HubConfig& hub) {
  auto alternates = server::ParseRelayAddressList(config.relay_alternates);
  if (!alternates) return alternates.error();
  auto first = server::ParseRelayAddressList(config.relay_first);
  if (!first) return first.error();
  // This node's relay as the bus would list it, before relay.first takes its place.
  const signal::RelayAddress own_address{hub.relay_host, hub.relay_port};
  hub.relay_alternates.clear();
  if (!first->empty()) {
    // The configured relay first, this node's own next: what a test that kills the
    // first relay (or an operator who keeps the node's relay in reserve) wants.
    hub.relay_alternates.push_back(own_address);
    hub.relay_host = first->front().host;
    hub.relay_port = first->front().port;
  }
  for (const signal::RelayAddress& alternate : *alternates) {
    if (hub.relay_alternates.size() == signal::kMaxRelayAlternates) break;
    hub.relay_alternates.push_back(alternate);
  }
  if (bus != nullptr) {
    server::RelayRecord own_record{bus->node_id(), own_address.host, own_address.port, 0,
                                   static_cast<uint32_t>(std::min<int64_t>(config.relay_max_calls, UINT32_MAX))};
    const bool offer_own = config.relay_offer_own;
    hub.choose_relays = [bus, own, own_record, offer_own]() -> std::vector<signal::RelayAddress> {
      auto live = bus->LiveRelays();
      if (!live) {
        spdlog::warn("The node bus did not list the live relays ({}); this call gets the configured relays.",
                     live.error().message);
        return {};
      }
      // relay.offer_own = false: only announced relays; none live leaves `relays` empty
      // and the hub falls back to this node's relay and relay.alternates.
      if (!offer_own) return server::RelayChooser::Choose(*live, std::nullopt);
      server::RelayRecord record = own_record;
      if (own != nullptr) record.calls = static_cast<uint32_t>(own->stats().calls);
      return server::RelayChooser::Choose(*live, record);
    };
  }
  return Ok{};
}

int RunRelayRole(const server::ServerConfig& config, server::NodeBus* bus) {
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  // SIGINT/SIGTERM are taken by sigtimedwait below: blocked before the relay's thread
  // starts, so that thread inherits the mask and never takes them itself.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  crypto::SystemKeySource random;
  auto dir = server::DataDirectory::Open(config.data_dir);
  if (!dir) {
    std::fprintf(stderr, "parleyd: %s\n", dir.error().message.c_str());
    return 1;
  }
  auto ticket_key = LoadTicketKey(config, *dir, random);
  if (!ticket_key) {
    std::fprintf(stderr, "parleyd: %s\n", ticket_key.error().message.c_str());
    return 1;
  }
  server::RelayConfig relay_config;
  relay_config.bind_host = config.listen_host;
  relay_config.port = config.udp_port;
  std::copy(ticket_key->data(), ticket_key->data() + 32, relay_config.ticket_key.begin());
  relay_config.max_calls = static_cast<size_t>(config.relay_max_calls);
  relay_config.allow_loopback = config.allow_loopback;
  // Never relay to or from this relay itself: its listen address (or, on a wildcard,
  // every interface) and what its public name resolves to. UdpRelay takes numeric
  // addresses only, so a DNS name given as is would stop it from starting.
  relay_config.own_addresses = net::CombineOwnAddresses(
      config.listen_host, net::ResolveHostAddresses(PublicHost(config)), net::InterfaceAddresses());
  server::UdpRelay relay(relay_config);
  if (auto started = relay.Start(); !started) {
    std::fprintf(stderr, "parleyd: %s\n", started.error().message.c_str());
    return 1;
  }
  const uint16_t public_port = config.relay_public_port != 0 ? config.relay_public_port : relay.bound_port();
  // The default id is HOST:PORT; a relay record's id holds at most 64 bytes, so a
  // longer name keeps its first 51 bytes and gets 12 random hex digits (unique per start).
  std::string relay_id = config.relay_id.empty() ? HostPort(PublicHost(config), public_port) : config.relay_id;
  if (relay_id.size() > 64) relay_id = RandomBusId(random, relay_id.substr(0, 51) + "-");
  server::RelayRecord record{relay_id, PublicHost(config), public_port, 0,
                             static_cast<uint32_t>(std::min<int64_t>(config.relay_max_calls, UINT32_MAX))};
  // `bus` set: announce there. A relay is a bus member of its own (node_id, else
  // "relay-" and 12 random hex digits), which receives nothing.
  std::unique_ptr<server::NodeBus> own_bus;
  if (bus == nullptr && !config.bus_url.empty()) {
    const std::string node_id = config.node_id.empty() ? RandomBusId(random, "relay-") : config.node_id;
    auto redis = server::RedisNodeBus::Connect(config.bus_url, node_id);
    if (!redis) {
      relay.Stop();
      std::fprintf(stderr, "parleyd: bus: %s\n", redis.error().message.c_str());
      return 1;
    }
    own_bus = std::move(*redis);
    bus = own_bus.get();
  }
  std::printf(
      "parleyd: relay ready\n"
      "  relay: udp %s (clients are told %s)\n"
      "  id: %s\n"
      "  bus: %s\n"
      "  ticket_key: %s\n",
      HostPort(config.listen_host, relay.bound_port()).c_str(), HostPort(record.host, record.port).c_str(),
      record.id.c_str(),
      bus != nullptr ? ("announcing every 5 s on " + config.bus_url).c_str()
                     : "none (signaling nodes list it in relay.alternates)",
      config.relay_ticket_key_file.empty() ? "the data directory's own (set relay.ticket_key_file to share one)"
                                           : config.relay_ticket_key_file.c_str());
  std::fflush(stdout);

  TimePoint next_announce{};
  while (true) {
    const TimePoint now = std::chrono::steady_clock::now();
    if (bus != nullptr && now >= next_announce) {
      record.calls = static_cast<uint32_t>(relay.stats().calls);
      if (Status announced = bus->AnnounceRelay(record, kRelayAnnounceTtl); !announced) {
        spdlog::warn("Could not announce this relay on the node bus ({}); signaling nodes stop choosing it "
                     "until the bus is back.",
                     announced.error().message);
      }
      next_announce = now + kRelayAnnounceInterval;
    }
    timespec wait{1, 0};
    const int signal_number = sigtimedwait(&stop_signals, nullptr, &wait);
    if (signal_number > 0) {
      spdlog::info("signal {}: stopping the relay", signal_number);
      break;
    }
  }
  relay.Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace parley::parleyd
