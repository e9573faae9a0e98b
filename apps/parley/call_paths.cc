// CallPaths: opening a call's media paths, the relay-TLS fallback, P2P candidates.
#include "call_paths.h"

#include <algorithm>
#include <utility>

#include "parley/net/candidate_address.h"
#include "parley/net/local_addresses.h"
#include "parley/net/relay_udp_path.h"
#include "parley/net/tls_relay_path.h"

namespace parley::app {

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
  std::unique_ptr<CallPaths> paths(new CallPaths());
  paths->started_ = now;
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
      auto gated = std::make_unique<GatedPath>(std::move(udp));
      paths->relay_udp_ = gated.get();
      paths->transport_->AddPath(std::move(gated), now);
    }
    if (want_p2p) {
      // Loopback addresses only when the relay is on loopback too: tests on one host.
      const bool loopback = net::IsLoopback(*relay);
      net::LocalAddressOptions local;
      local.port = paths->socket_->local_endpoint().port();
      local.include_ipv6 = relay->family() == AF_INET6;
      local.include_loopback = loopback;
      paths->local_candidates_ = net::GatherLocalAddresses(local);
      paths->peer_port_ = std::make_unique<net::SharedUdpPeerPort>(paths->socket_);
      net::DirectUdpPathOptions options;
      options.allow_loopback = loopback;
      auto direct = std::make_unique<net::DirectUdpPath>(*paths->peer_port_, options);
      paths->direct_ = direct.get();
      auto gated = std::make_unique<GatedPath>(std::move(direct));
      paths->direct_gate_ = gated.get();
      paths->transport_->AddPath(std::move(gated), now);
    }
  }
  if (want_tls) {
    net::TlsRelayPathTarget target{front.host, front.port, front.websocket_path, front.pin_sha256};
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
  for (const call::PathReport& path : paths.paths) {
    if (path.status.kind != net::PathKind::kRelayUdp) continue;
    if (path.status.state == call::PathState::kDown || path.status.state == call::PathState::kClosed) {
      udp_failed = true;
    }
  }
  if (!udp_failed) return std::nullopt;
  relay_tls_->Activate();
  relay_udp_->Retire();
  return std::string("The relay does not answer over UDP from this network; media goes over TLS instead.");
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
