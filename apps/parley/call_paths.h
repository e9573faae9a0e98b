// The media paths of one call as `parley call|listen` opens them: relay over UDP, relay
// over TLS (to the web front the signaling uses) and direct P2P, under one
// MultipathTransport whose path manager races them and keeps the best; plus the P2P
// candidates and the relay-TLS fallback.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gated_path.h"
#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/call/connectivity_monitor.h"
#include "parley/call/media_transport.h"
#include "parley/call/multipath_transport.h"
#include "parley/call/relay_failover.h"
#include "parley/net/direct_udp_path.h"
#include "parley/net/local_addresses.h"
#include "parley/net/relay_udp_path.h"
#include "parley/net/shared_udp_peer_port.h"
#include "parley/net/shared_udp_socket.h"
#include "parley/signal/call_session.h"

namespace parley::app {

// --transport: auto races relay-udp and p2p at once and keeps relay-tls in reserve
// (see CallPaths::Supervise); the others open only that path.
enum class TransportChoice { kAuto, kUdp, kTls, kP2p };
Result<TransportChoice> ParseTransportChoice(const std::string& text);

// The signaling connection's target: the TLS path goes to the same front.
struct FrontTarget {
  std::string host;
  uint16_t port = 0;
  std::string websocket_path;
  std::string pin_sha256;  // of the certificate the signaling connection accepted
};

// What WatchConnectivity saw and did.
struct ConnectivityWatch {
  call::ConnectivityState state = call::ConnectivityState::kConnecting;
  std::vector<std::string> notices;     // sentences for the user: what changed, what was done
  std::optional<std::string> give_up;   // the call must end: why, one sentence
};

// Lifetime: outlives the CallMediaRunner that uses transport(). Threads: Open,
// Supervise, WatchConnectivity, ForceNetworkChange, Candidates and SetPeerCandidates
// from the CLI's main thread; transport() is handed to the media thread.
class CallPaths {
 public:
  // Why auto brings in relay-tls: relay-udp not acknowledged this long after the start
  // (UDP blocked), or judged down by the path manager later with a rebind the relay
  // has not acknowledged this long (the relay's UDP died, or this network blocks it;
  // a peer that changed networks leaves our rebind acknowledged and UDP kept).
  static constexpr Duration kUdpGrace = milliseconds(1500);

  static Result<std::unique_ptr<CallPaths>> Open(const signal::StartMediaAction& start, TransportChoice choice,
                                                 const FrontTarget& front, TimePoint now);

  call::MediaTransport& transport() { return *transport_; }
  bool has_p2p() const { return direct_ != nullptr; }

  // Auto: switches relay-tls on (and relay-udp off for good, since the relay binds a
  // ticket at one address at a time) once relay-udp failed as above. `paths` is the
  // runner's latest report. Returns a sentence when it acted.
  std::optional<std::string> Supervise(const call::PathsReport& paths, TimePoint now);

  // Network handover (docs/protocol.md, "Relay (obfuscated UDP)", "Client behaviour"):
  // polls the local addresses (every kLocalAddressPoll), the relay path's failing sends
  // and reflexive address, feeds call::ConnectivityMonitor the runner's latest report
  // and carries out what it says: a rebind at the relay, or a fresh UDP socket (new
  // port) for relay-UDP and P2P with the P2P candidates gathered again (the CLI offers
  // them again since they differ). Call every ~50 ms.
  // With alternates in `relay`, a relay that stops answering is left for the next one
  // (call::RelayFailover), with the same ticket: the peer does the same and they meet.
  ConnectivityWatch WatchConnectivity(const call::PathsReport& paths, TimePoint now);
  // A test hook (--rebind-after): as if the local network had changed now.
  void ForceNetworkChange(TimePoint now);
  // A test hook (--blackout-after/--blackout-for): every path silent both ways from
  // `from` until `until` (GatedPath::SetBlackout). Before transport() goes to the runner.
  void ScheduleBlackout(TimePoint from, TimePoint until);
  const call::ConnectivityStats& connectivity_stats() const { return monitor_.stats(); }
  const call::RelayFailoverStats& relay_failover_stats() const { return failover_.stats(); }
  static constexpr Duration kLocalAddressPoll = milliseconds(500);

  // This side's P2P candidates: local addresses of the shared socket's port, and the
  // address the relay saw once its ack came (empty without P2P).
  std::vector<net::UdpEndpoint> Candidates() const;
  // Whether the relay's view of our address is known (or will never be: no relay-udp).
  bool reflexive_settled() const;
  // The peer's candidates (from signaling); returns how many the P2P path kept.
  std::size_t SetPeerCandidates(std::span<const net::UdpEndpoint> candidates);

 private:
  explicit CallPaths(TimePoint now) : monitor_(call::ConnectivityMonitorConfig{}, now) {}
  void GatherLocalCandidates();
  // Interface addresses without ports, for change detection.
  std::vector<net::UdpEndpoint> LocalAddressSet() const;

  TimePoint started_{};
  std::shared_ptr<net::SharedUdpSocket> socket_;
  std::unique_ptr<net::SharedUdpPeerPort> peer_port_;  // before transport_: outlives the P2P path
  std::unique_ptr<call::MultipathTransport> transport_;
  GatedPath* relay_udp_ = nullptr;  // owned by transport_
  GatedPath* relay_tls_ = nullptr;
  net::DirectUdpPath* direct_ = nullptr;  // inside direct_gate_
  GatedPath* direct_gate_ = nullptr;
  std::vector<net::UdpEndpoint> local_candidates_;
  net::RelayUdpPath* relay_udp_path_ = nullptr;  // inside relay_udp_
  net::LocalAddressOptions local_options_;       // for P2P candidates (port: the socket's)

  call::ConnectivityMonitor monitor_;
  std::vector<signal::RelayAddress> relays_;  // the relay, then its alternates, in order
  call::RelayFailover failover_{1};
  std::vector<net::UdpEndpoint> last_local_addresses_;
  TimePoint next_local_poll_{};
  uint64_t last_send_failures_ = 0;
  std::optional<net::UdpEndpoint> last_reflexive_;
  std::optional<TimePoint> udp_down_since_;  // Supervise: relay-udp judged down since
};

}  // namespace parley::app
