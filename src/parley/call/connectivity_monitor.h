// Network handover as logic without I/O: notices that a call lost its paths (every path
// silent, the local network changed, sends fail), says when to rebind at the relay and
// when to take a fresh socket, and when to give the call up. docs/protocol.md, "Relay
// (obfuscated UDP)", "Client behaviour" and "Path probes and path choice".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "parley/base/time.h"
#include "parley/call/media_transport.h"

namespace parley::call {

struct ConnectivityMonitorConfig {
  // Nothing authenticated from the peer on any path for this long: reconnecting. Longer
  // than the path manager's "down" (~0.6 s) and than any gap a working call has (probes
  // and receiver reports arrive at least once a second per path even in silence).
  Duration silence_before_reconnecting = seconds(1);
  // A rebind the relay has not acknowledged this long after it was asked for (or after
  // the previous fresh socket) gets a fresh socket: our own side is what is broken
  // (the old socket's route or NAT mapping is gone). The relay acknowledging means the
  // break is on the peer's side, and our socket is kept.
  Duration fresh_socket_after = seconds(1);
  // While still unacknowledged, another fresh socket this often.
  Duration fresh_socket_interval = seconds(3);
  // A network change (or failing sends) takes a fresh socket at most this often.
  Duration min_fresh_socket_gap = milliseconds(500);
  // Nothing from the peer for this long (since the last packet, or since the start if
  // none ever came): the call is given up with a sentence saying why.
  Duration give_up_after = seconds(30);
};

enum class ConnectivityState : uint8_t {
  kConnecting,    // nothing heard from the peer yet
  kConnected,     // the peer was heard recently
  kReconnecting,  // silent, or our network changed: paths are being re-established
  kLost,          // give_up_after without any path: the call must end
};
// "connecting", "connected", "reconnecting", "lost": words for the status line and stats.
std::string_view ConnectivityStateName(ConnectivityState state);

// Why the client thinks its own network changed.
enum class NetworkChange : uint8_t {
  kLocalAddresses,  // the set of local interface addresses is different
  kSendFailed,      // the UDP socket refused a send (no route, address gone)
  kReflexiveAddress,  // the relay saw us at another IP address than before
  kForced,          // a test or the user asked (--rebind-after)
};
std::string_view NetworkChangeName(NetworkChange change);

// The newest PathStatus::last_heard over every path of `report` (empty: none heard).
std::optional<TimePoint> PeerLastHeard(const PathsReport& report);

// What Update saw, from the paths (the media thread's latest report).
struct ConnectivitySnapshot {
  // The newest authenticated packet from the peer on any path (PathStatus::last_heard).
  std::optional<TimePoint> peer_last_heard;
  // The relay-UDP path's latest rebind has been acknowledged by the relay (true when
  // the call has no relay-UDP path, or nothing was asked).
  bool relay_acknowledged = true;
};

// What to do now. The adapter carries each out on the paths.
struct ConnectivityActions {
  bool rebind = false;        // relay: send binds again from the current socket until acked
  bool fresh_socket = false;  // open a new UDP socket (new source port) and rebind from it;
                              // P2P candidates change with it and are offered again
  std::optional<std::string> give_up;  // end the call; one sentence saying why
};

// Measured handovers, for stats and the lab.
struct ConnectivityStats {
  uint64_t reconnections = 0;      // times the state went to kReconnecting
  uint64_t fresh_sockets = 0;      // fresh sockets asked for
  uint64_t rebinds = 0;            // rebinds on the same socket asked for
  std::optional<Duration> last_outage;  // reconnecting started -> the peer heard again
};

// Feed it the snapshot and network changes; act on what Update returns. Rules:
// - connected -> reconnecting after silence_before_reconnecting without the peer
//   (action: rebind), or at once on a network change (action: fresh socket);
// - reconnecting, relay not acknowledging: a fresh socket after fresh_socket_after,
//   then every fresh_socket_interval; a failing send asks for one at once (at most
//   every min_fresh_socket_gap);
// - reconnecting -> connected when the peer is heard after the episode began;
// - give_up_after without the peer (or, never having heard it, since the start): lost,
//   once, with a sentence; nothing more happens after that.
// Logic without I/O: `now` never goes backwards. Single-threaded (the client's call
// context, which reads the media thread's report).
class ConnectivityMonitor {
 public:
  ConnectivityMonitor(ConnectivityMonitorConfig config, TimePoint now);

  void OnNetworkChange(NetworkChange change, TimePoint now);
  ConnectivityActions Update(const ConnectivitySnapshot& snapshot, TimePoint now);

  ConnectivityState state() const { return state_; }
  // When the current reconnecting episode began; empty unless reconnecting.
  std::optional<TimePoint> reconnecting_since() const { return reconnecting_since_; }
  const ConnectivityStats& stats() const { return stats_; }

 private:
  void StartReconnecting(TimePoint now, bool heard_recently);

  ConnectivityMonitorConfig config_;
  TimePoint start_;
  ConnectivityState state_ = ConnectivityState::kConnecting;
  std::optional<TimePoint> last_heard_;
  std::optional<TimePoint> reconnecting_since_;
  TimePoint outage_began_{};
  std::optional<NetworkChange> pending_change_;  // noticed, not yet acted on
  std::optional<TimePoint> last_relay_attempt_;  // the latest rebind or fresh socket
  std::optional<TimePoint> last_fresh_socket_;
  bool attempted_fresh_socket_ = false;  // in this episode
  ConnectivityStats stats_;
};

}  // namespace parley::call
