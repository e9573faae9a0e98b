// Relay failover as logic without I/O: when the relay carrying a call stops answering
// binds, both clients move to the next relay of the `relay` message's list (same
// ticket) in the same order, so they meet there. docs/protocol.md, "Relay (obfuscated
// UDP)", "Client behaviour".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "parley/base/time.h"
#include "parley/call/connectivity_monitor.h"

namespace parley::call {

struct RelayFailoverConfig {
  // Reconnecting, and the relay in use has acknowledged no bind for this long (the
  // monitor's rebind, then its fresh socket at +1 s, both unanswered): the relay is
  // taken for dead and the call moves to the next one. Longer than the monitor's
  // fresh_socket_after, so a broken socket of ours is tried first; short enough that
  // with the monitor's 1 s of silence audio is back within 3 s of a relay dying.
  Duration relay_dead_after = milliseconds(1500);
  // At a relay after the first, bound (acknowledged) yet the peer unheard this long
  // since arriving: the peer may never have left the first relay (our own network was
  // what failed, so every relay looked dead to us), so go back to the first relay.
  Duration return_after = seconds(3);
};

// What Update saw: the monitor's state and the relay-UDP path's acknowledgement.
struct RelayFailoverSnapshot {
  ConnectivityState state = ConnectivityState::kConnecting;
  // When the monitor's current reconnecting episode began (it asked for a rebind then).
  std::optional<TimePoint> reconnecting_since;
  // The relay in use acknowledged a bind made after the latest rebind request.
  bool relay_acknowledged = true;
};

struct RelayFailoverStats {
  uint64_t moves = 0;           // to the next relay (or back to the first)
  uint64_t returns = 0;         // of those, back to the first relay
};

// Rules (both clients run them on the same list, so they converge):
// - reconnecting and the current relay unacknowledged for relay_dead_after (counted
//   from the episode's start, a move, or the moment an acknowledgement was lost):
//   move to the next relay, after the last back to the first;
// - at a relay other than the first, acknowledged but still reconnecting
//   return_after after arriving: back to the first relay;
// - connected: stay where the call is (a call that moved stays moved).
// With one relay it never moves. Logic without I/O: `now` never goes backwards.
// Single-threaded (the client's call context, beside ConnectivityMonitor).
class RelayFailover {
 public:
  // `relay_count` >= 1: the `relay` message's relay plus its alternates.
  RelayFailover(std::size_t relay_count, RelayFailoverConfig config = {});

  // The index of the relay to move to now (the adapter points the relay path there
  // and rebinds with the same ticket), or nothing.
  std::optional<std::size_t> Update(const RelayFailoverSnapshot& snapshot, TimePoint now);

  std::size_t current() const { return current_; }
  std::size_t relay_count() const { return relay_count_; }
  // In the current reconnecting episode every relay was left, either unanswered or with
  // the peer never arriving there (or there is only one): the adapter may fall back to
  // other transports. Counted per relay, so a client that only the first relay cannot
  // hear, bouncing between the relays while its peer stays at the first, gets there too.
  bool tried_every_relay() const;
  const RelayFailoverStats& stats() const { return stats_; }

 private:
  // Leaves the current relay (marking it tried in this episode) for `index`.
  std::size_t MoveTo(std::size_t index, TimePoint now);

  std::size_t relay_count_;
  RelayFailoverConfig config_;
  std::size_t current_ = 0;
  std::optional<TimePoint> episode_;         // the reconnecting episode being handled
  std::optional<TimePoint> unacked_since_;   // the current relay silent to our binds since
  TimePoint arrived_at_{};                   // at the current relay since
  std::vector<bool> left_in_episode_;        // per relay: given up on in this episode
  RelayFailoverStats stats_;
};

}  // namespace parley::call
