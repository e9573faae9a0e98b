// The relay's session table: which ticket holder is at which source address (and on
// which relay socket), whom a datagram goes to, bind freshness and replay, acks, idle
// expiry, per-participant rate caps and address refusal. Logic without I/O: the
// socket loop (UdpRelay) feeds it authenticated binds, data datagrams and the time.
// docs/protocol.md, "Relay (obfuscated UDP)".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "parley/base/time.h"
#include "parley/net/relay_framing.h"
#include "parley/server/relay_address.h"
#include "parley/server/relay_ticket.h"

namespace parley::server {

// Per-participant limits. Rates are token buckets (refilled continuously, capped at
// the burst); a voice call sends ~50 packets/s of ≤ 1200 bytes, so the defaults leave
// 3x headroom while holding a flooding ticket to a few hundred kbit/s.
struct RelayLimits {
  Duration idle_timeout = seconds(60);  // a participant silent this long is unbound
  double packets_per_second = 150;
  double burst_packets = 50;
  double bytes_per_second = 64 * 1024;
  double burst_bytes = 32 * 1024;
  std::size_t max_calls = 200'000;  // binds of new calls beyond this are refused
  // A bind is fresh while issued_unix_ms + elapsed_ms is within this of the relay's
  // wall clock (both sides measure elapsed time, so clocks need not agree).
  Duration bind_freshness = seconds(30);
  // At most one ack per participant this often, except for an address change.
  Duration min_ack_interval = seconds(1);
};

// Which source addresses may bind. Special addresses (unspecified, link-local,
// multicast/broadcast, port 0) are always refused; loopback only if allow_loopback
// (tests and the demo run on 127.0.0.1; production config leaves it off); any
// address on the same host as one of own_addresses (the relay's own) is refused.
// None of this applies on the bridge socket, whose sources are trusted local bridges.
struct RelayAddressRules {
  bool allow_loopback = false;
  std::vector<RelayAddress> own_addresses;
};

// The relay's sockets: the public UDP port, and the loopback-only bridge port where
// local bridges (the TLS front) send their clients' datagrams, one UDP socket each.
enum class RelaySocket : uint8_t { kPublic = 0, kBridge = 1 };
inline constexpr std::size_t kRelaySocketCount = 2;

// Where a datagram came from: the address and the relay socket it arrived on. A
// participant's datagrams leave through the socket it bound on.
struct RelaySource {
  RelayAddress address;
  RelaySocket socket = RelaySocket::kPublic;
  friend bool operator==(const RelaySource&, const RelaySource&) = default;
};

enum class RelayDropReason : uint8_t {
  kMalformed,       // too short or too long to be anything
  kUnknownSource,   // not a bind, and its source is bound to no participant
  kBadTicket,       // a bind whose ticket did not authenticate
  kExpiredTicket,   // a bind whose ticket authenticated but has expired
  kBadBind,         // a bind whose box did not open under the ticket's hop key
  kStaleBind,       // a bind whose issued + elapsed time is too far from now
  kReplayedBind,    // a bind not newer than the participant's last accepted one
  kRefusedAddress,  // the source address is special, loopback (when not allowed) or ours
  kPeerNotBound,    // the other participant has not bound yet (or expired)
  kRateLimited,     // over the participant's packet or byte rate
  kTableFull,       // max_calls reached
  kSendFailed,      // the socket refused the forwarded datagram (socket loop only)
  kCount
};
inline constexpr std::size_t kRelayDropReasonCount = static_cast<std::size_t>(RelayDropReason::kCount);
std::string_view RelayDropReasonName(RelayDropReason reason);

// What to do with one datagram. The only things ever sent: the sealed packet,
// unchanged, to `to`; and, for an accepted bind only, an ack to the bind's source.
struct RelayDecision {
  enum class Action : uint8_t { kForward, kNothing, kDrop };
  Action action = Action::kDrop;
  RelayDropReason reason = RelayDropReason::kMalformed;  // meaningful for kDrop
  bool bound = false;  // a bind was accepted (new, refreshed or moved), even if the payload was dropped
  RelaySource to;      // meaningful for kForward
  bool ack = false;    // send an ack for ack_elapsed_ms to the bind's source
  uint64_t ack_elapsed_ms = 0;

  static RelayDecision Drop(RelayDropReason reason) { return {Action::kDrop, reason, false, {}, false, 0}; }
};

// Invariants: a participant is reachable only at the source of its last accepted bind;
// a source maps to at most one participant; data is forwarded only from a bound
// source, only to the other participant of the same call, only while both are bound;
// a participant's accepted binds have strictly growing issued + elapsed times, so a
// replayed bind changes nothing. `now` must not go backwards. Not thread-safe: owned
// and called by the relay's socket thread only.
class RelaySessionTable {
 public:
  RelaySessionTable(RelayLimits limits, RelayAddressRules rules);

  // A bind whose ticket verified to `claims` and whose box opened: binds the
  // participant at `from` (or moves it there), answers with an ack when one is due,
  // then forwards the bind's sealed payload (`sealed_size` bytes, 0 for none) like
  // data. `now_unix_ms` is the relay's wall clock, for freshness.
  RelayDecision OnBind(const RelayTicketClaims& claims, uint64_t elapsed_ms, const RelaySource& from,
                       std::size_t sealed_size, TimePoint now, int64_t now_unix_ms);

  // A datagram that is not a bind: forwarded whole to the peer if `from` is bound, the
  // peer is bound and the rate caps allow it.
  RelayDecision OnData(const RelaySource& from, std::size_t size, TimePoint now);

  // Unbinds participants silent for idle_timeout or longer; removes calls with no
  // bound participant. Returns how many participants were unbound. Cost: O(calls).
  std::size_t ExpireIdle(TimePoint now);

  bool IsRefused(const RelaySource& source) const;

  std::size_t call_count() const { return calls_.size(); }
  std::size_t bound_count() const { return by_source_.size(); }
  // Where a participant is bound, if it is (for tests and diagnostics).
  std::optional<RelaySource> SourceOf(const std::array<uint8_t, 16>& call_id, uint8_t participant) const;

 private:
  struct Participant {
    bool bound = false;
    RelaySource source;
    int64_t last_bind_unix_ms = std::numeric_limits<int64_t>::min();  // issued + elapsed of the last accepted bind
    TimePoint last_seen;
    std::optional<TimePoint> last_ack_at;
    TimePoint refilled;
    double packet_allowance = 0;
    double byte_allowance = 0;
  };
  struct Call {
    std::array<uint8_t, 16> call_id;
    std::array<Participant, 2> participants;
  };
  struct CallIdHash {
    std::size_t operator()(const std::array<uint8_t, 16>& id) const;
  };
  struct SourceHash {
    std::size_t operator()(const RelaySource& source) const;
  };
  struct ParticipantRef {
    Call* call;
    uint8_t index;
  };

  RelayDecision ForwardFrom(Call& call, uint8_t index, std::size_t size, TimePoint now);
  bool TakeAllowance(Participant& participant, std::size_t size, TimePoint now);
  void Unbind(Participant& participant);

  RelayLimits limits_;
  RelayAddressRules rules_;
  // Nodes of unordered_map never move, so ParticipantRef::call stays valid until the
  // call is erased (ExpireIdle unbinds its participants first).
  std::unordered_map<std::array<uint8_t, 16>, Call, CallIdHash> calls_;
  std::unordered_map<RelaySource, ParticipantRef, SourceHash> by_source_;
};

}  // namespace parley::server
