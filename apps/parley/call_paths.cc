// CallPaths: opening a call's media paths, the relay-TLS fallback, P2P candidates.
#include "call_paths.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "parley/net/candidate_address.h"
#include "parley/net/local_addresses.h"
#include "parley/net/relay_udp_path.h"
#include "parley/net/tls_relay_path.h"

namespace parley::app {
namespace {

// "203.0.113.5" of "203.0.113.5:4000", "[2001:db8::1]" of "[2001:db8::1]:4000".
std::string HostOf(const net::UdpEndpoint& endpoint) {
  const std::string text = endpoint.ToString();
  return text.substr(0, text.rfind(':'));
}

}  // namespace

Result<TransportChoice> ParseTransportChoice(const std::string& text) {
  if (text == "auto") return TransportChoice::kAuto;
  if (text == "udp") return TransportChoice::kUdp;
  if (text == "tls") return TransportChoice::kTls;
  if (text == "p2p") return TransportChoice::kP2p;
  return Error{"--transport must be auto, udp, tls or p2p."};
}

Result<std::unique_ptr<CallPaths>> CallPaths::Open(const signal::StartMediaAction& start, TransportChoice choice,
                                                   const FrontTarget& front, TimePoint now) {
  auto credentials = net::RelayCredentials::FromBytes(start.ticket, start.hop_key, start.bind_key);
  if (!credentials) return credentials.error();
  if (choice == TransportChoice::kP2p && !start.p2p) {
    return Error{"This call may not go direct (your or " + start.peer +
                 "'s P2P setting says no); call again with --transport auto."};
  }
  std::unique_ptr<CallPaths> paths(new CallPaths(now));
  paths->started_ = now;
  paths->relays_.push_back({start.relay_host, start.relay_port});
  paths->relays_.insert(paths->relays_.end(), start.relay_alternates.begin(), start.relay_alternates.end());
  paths->failover_ = call::RelayFailover(paths->relays_.size());
  paths->transport_ = std::make_unique<call::MultipathTransport>(now);

  const bool want_udp = choice == TransportChoice::kAuto || choice == TransportChoice::kUdp;
  const bool want_p2p = start.p2p && (choice == TransportChoice::kAuto || choice == TransportChoice::kP2p);
  const bool want_tls = choice == TransportChoice::kAuto || choice == TransportChoice::kTls;

  if (want_udp || want_p2p) {
    auto relay = net::ResolveUdpEndpoint(start.relay_host, start.relay_port);
    if (!relay) return relay.error();
    auto socket = net::SharedUdpSocket::Open(relay->family());
    if (!socket) return socket.error();
    paths->socket_ = std::move(*socket);
    if (want_udp) {
      auto udp = std::make_unique<net::RelayUdpPath>(paths->socket_, *relay, *credentials, now, now);
      paths->relay_udp_path_ = udp.get();
      auto gated = std::make_unique<GatedPath>(std::move(udp));
      paths->relay_udp_ = gated.get();
      paths->transport_->AddPath(std::move(gated), now);
    }
    if (want_p2p) {
      // Loopback addresses only when the relay is on loopback too: tests on one host.
      const bool loopback = net::IsLoopback(*relay);
      paths->local_options_.include_ipv6 = relay->family() == AF_INET6;
      paths->local_options_.include_loopback = loopback;
      paths->GatherLocalCandidates();
      paths->peer_port_ = std::make_unique<net::SharedUdpPeerPort>(paths->socket_);
      net::DirectUdpPathOptions options;
      options.allow_loopback = loopback;
      auto direct = std::make_unique<net::DirectUdpPath>(*paths->peer_port_, options);
      paths->direct_ = direct.get();
      auto gated = std::make_unique<GatedPath>(std::move(direct));
      paths->direct_gate_ = gated.get();
      paths->transport_->AddPath(std::move(gated), now);
    }
    paths->last_local_addresses_ = paths->LocalAddressSet();
    paths->next_local_poll_ = now + kLocalAddressPoll;
  }
  if (want_tls) {
    // The front bridges to the call's first relay, where a peer on relay UDP binds too.
    net::TlsRelayPathTarget target{front.host, front.port, front.websocket_path, front.pin_sha256,
                                   net::MediaTargetRelay{start.relay_host, start.relay_port}};
    GatedPath::Opener opener = [target, credentials = *credentials, received = now]()
        -> Result<std::unique_ptr<net::PacketPath>> {
      auto path = net::TlsRelayPath::Open(target, credentials, received);
      if (!path) return path.error();
      return std::unique_ptr<net::PacketPath>(std::move(*path));
    };
    auto gated = std::make_unique<GatedPath>(net::PathKind::kRelayTls, std::move(opener));
    // Alone (--transport tls) it starts at once; under auto it waits in reserve.
    if (choice == TransportChoice::kTls) gated->Activate();
    paths->relay_tls_ = gated.get();
    paths->transport_->AddPath(std::move(gated), now);
  }
  return paths;
}

std::optional<std::string> CallPaths::Supervise(const call::PathsReport& paths, TimePoint now) {
  if (relay_udp_ == nullptr || relay_tls_ == nullptr || relay_tls_->activated()) return std::nullopt;
  bool udp_failed = now - started_ >= kUdpGrace && !relay_udp_->ready();
  bool udp_down = false;
  for (const call::PathReport& path : paths.paths) {
    if (path.status.kind != net::PathKind::kRelayUdp) continue;
    udp_down = path.status.state == call::PathState::kDown || path.status.state == call::PathState::kClosed;
  }
  // Down alone may be the peer's network changing: ask the relay whether it still hears
  // us, and give up UDP only if it does not answer our rebind within the grace.
  // With alternates, a relay that stops answering is first left for the next relay
  // (WatchConnectivity); TLS only once every relay was tried.
  if (!udp_down || !failover_.tried_every_relay()) {
    udp_down_since_.reset();
  } else if (!udp_down_since_) {
    udp_down_since_ = now;
    if (relay_udp_path_ != nullptr) relay_udp_path_->RequestRebind();
  } else if (now - *udp_down_since_ >= kUdpGrace &&
             (relay_udp_path_ == nullptr || !relay_udp_path_->rebind_acknowledged())) {
    udp_failed = true;
  }
  if (!udp_failed) return std::nullopt;
  relay_tls_->Activate();
  relay_udp_->Retire();
  return std::string("The relay does not answer over UDP from this network; media goes over TLS instead.");
}

void CallPaths::GatherLocalCandidates() {
  if (direct_ == nullptr && peer_port_ == nullptr) return;
  local_options_.port = socket_->local_endpoint().port();
  local_candidates_ = net::GatherLocalAddresses(local_options_);
}

std::vector<net::UdpEndpoint> CallPaths::LocalAddressSet() const {
  net::LocalAddressOptions options;
  options.port = 1;  // only the addresses matter
  options.include_ipv6 = true;
  options.max_count = 32;
  std::vector<net::UdpEndpoint> addresses = net::GatherLocalAddresses(options);
  std::sort(addresses.begin(), addresses.end());
  return addresses;
}

void CallPaths::ScheduleBlackout(TimePoint from, TimePoint until) {
  for (GatedPath* gate : {relay_udp_, relay_tls_, direct_gate_}) {
    if (gate != nullptr) gate->SetBlackout(from, until);
  }
}

void CallPaths::ForceNetworkChange(TimePoint now) { monitor_.OnNetworkChange(call::NetworkChange::kForced, now); }

ConnectivityWatch CallPaths::WatchConnectivity(const call::PathsReport& paths, TimePoint now) {
  ConnectivityWatch watch;
  const bool relay_udp_live = relay_udp_path_ != nullptr && !relay_udp_->retired();
  if (socket_ && now >= next_local_poll_) {
    next_local_poll_ = now + kLocalAddressPoll;
    std::vector<net::UdpEndpoint> addresses = LocalAddressSet();
    if (addresses != last_local_addresses_) {
      last_local_addresses_ = std::move(addresses);
      monitor_.OnNetworkChange(call::NetworkChange::kLocalAddresses, now);
    }
  }
  if (relay_udp_live) {
    const uint64_t failures = relay_udp_path_->stats().send_failures;
    if (failures > last_send_failures_) monitor_.OnNetworkChange(call::NetworkChange::kSendFailed, now);
    last_send_failures_ = failures;
    if (std::optional<net::UdpEndpoint> reflexive = socket_->reflexive_endpoint()) {
      // Another port alone is a NAT's new mapping (the relay already follows it and the
      // candidates are offered again); another address is another network.
      if (last_reflexive_ && HostOf(*last_reflexive_) != HostOf(*reflexive)) {
        monitor_.OnNetworkChange(call::NetworkChange::kReflexiveAddress, now);
      }
      last_reflexive_ = reflexive;
    }
  }
  const call::ConnectivitySnapshot snapshot{call::PeerLastHeard(paths),
                                            relay_udp_live ? relay_udp_path_->rebind_acknowledged() : true};
  const call::ConnectivityState before = monitor_.state();
  const call::ConnectivityActions actions = monitor_.Update(snapshot, now);
  if (actions.fresh_socket && socket_) {
    Status switched = relay_udp_live ? relay_udp_path_->SwitchToFreshSocket() : socket_->Reopen();
    if (!switched) {
      watch.notices.push_back("Could not open a fresh socket after the network change: " + switched.error().message);
    } else {
      GatherLocalCandidates();
      last_reflexive_.reset();
      watch.notices.push_back("The network changed; media continues from local port " +
                              std::to_string(socket_->local_endpoint().port()) + ".");
    }
  } else if (actions.rebind && relay_udp_live) {
    relay_udp_path_->RequestRebind();
  }
  if (relay_udp_live) {
    const call::RelayFailoverSnapshot relay_snapshot{monitor_.state(), monitor_.reconnecting_since(),
                                                     relay_udp_path_->rebind_acknowledged()};
    if (std::optional<std::size_t> next = failover_.Update(relay_snapshot, now)) {
      const signal::RelayAddress& to = relays_[*next];
      const std::string from = relay_udp_path_->relay_endpoint().ToString();
      auto endpoint = net::ResolveUdpEndpoint(to.host, to.port);
      Status switched = endpoint ? relay_udp_path_->SwitchRelay(*endpoint) : Status(endpoint.error());
      watch.notices.push_back(switched ? "The relay " + from + " does not answer; media moves to the relay " +
                                             endpoint->ToString() + "."
                                       : "The relay " + from + " does not answer and the next one cannot be used: " +
                                             switched.error().message);
    }
  }
  watch.state = monitor_.state();
  if (before == call::ConnectivityState::kConnected && watch.state == call::ConnectivityState::kReconnecting &&
      !actions.fresh_socket) {
    watch.notices.push_back("Nothing heard from the other side for a second: reconnecting.");
  }
  if (before == call::ConnectivityState::kReconnecting && watch.state == call::ConnectivityState::kConnected) {
    const auto outage = monitor_.stats().last_outage;
    watch.notices.push_back(outage ? "Reconnected after " + std::to_string(std::lround(ToMillis(*outage))) +
                                         " ms without audio."
                                   : std::string("Reconnected."));
  }
  watch.give_up = actions.give_up;
  return watch;
}

std::vector<net::UdpEndpoint> CallPaths::Candidates() const {
  if (direct_ == nullptr) return {};
  std::vector<net::UdpEndpoint> candidates = local_candidates_;
  if (auto reflexive = socket_->reflexive_endpoint()) {
    if (std::find(candidates.begin(), candidates.end(), *reflexive) == candidates.end()) {
      if (candidates.size() == net::kMaxCandidates) candidates.pop_back();
      candidates.push_back(*reflexive);
    }
  }
  return candidates;
}

bool CallPaths::reflexive_settled() const {
  return relay_udp_ == nullptr || relay_udp_->retired() || (socket_ && socket_->reflexive_endpoint().has_value());
}

std::size_t CallPaths::SetPeerCandidates(std::span<const net::UdpEndpoint> candidates) {
  if (direct_ == nullptr) return 0;
  const std::size_t kept = direct_->SetPeerCandidates(candidates);
  // Probes are what punch the holes: let the manager send them now.
  if (kept > 0) direct_gate_->SetWorthProbing();
  return kept;
}

}  // namespace parley::app
