// The relay's session table: which ticket holder is at which address, whom a packet
// goes to, idle expiry, per-participant rate caps and address refusal. Logic without
// I/O: the socket loop (UdpRelay) feeds it parsed packets and the current time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "parley/base/time.h"
#include "parley/net/relay_packet.h"
#include "parley/server/relay_address.h"
#include "parley/server/relay_ticket.h"

namespace parley::server {

// The framing lives in net (clients build the same packets); the relay uses its names
// as its own.
using net::kMaxRelayPacketSize;
using net::kMaxSealedSize;
using net::kMaxTicketSize;
using net::kMinSealedSize;
using net::kRelayBindType;
using net::kRelayDataType;
using net::kRelayTokenSize;
using net::MakeRelayBindPacket;
using net::MakeRelayDataPacket;
using net::ParseRelayPacket;
using net::RelayPacketKind;
using net::RelayPacketView;
using net::RelaySessionToken;
using net::SessionTokenFor;

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
};

// Which source addresses may bind. Special addresses (unspecified, link-local,
// multicast/broadcast, port 0) are always refused; loopback only if allow_loopback
// (tests and the demo run on 127.0.0.1; production config leaves it off); any
// address on the same host as one of own_addresses (the relay's own) is refused.
struct RelayAddressRules {
  bool allow_loopback = false;
  std::vector<RelayAddress> own_addresses;
};

enum class RelayDropReason : uint8_t {
  kMalformed,       // the framing did not parse
  kBadTicket,       // the ticket did not authenticate (or named no valid participant)
  kExpiredTicket,   // the ticket authenticated but has expired
  kUnknownToken,    // a data packet whose token no bound participant holds
  kSpoofedSource,   // a valid token from an address other than the bound one
  kRefusedAddress,  // the source address is special, loopback (when not allowed) or ours
  kPeerNotBound,    // the other participant has not bound yet (or expired)
  kRateLimited,     // over the participant's packet or byte rate
  kTableFull,       // max_calls reached
  kTokenConflict,   // the token already belongs to another participant (2^-64 event)
  kSendFailed,      // the socket refused the forwarded packet (socket loop only)
  kCount
};
inline constexpr std::size_t kRelayDropReasonCount = static_cast<std::size_t>(RelayDropReason::kCount);
std::string_view RelayDropReasonName(RelayDropReason reason);

// What to do with one packet. Nothing is ever sent back to the source: the only
// output is forwarding `sealed`, unchanged, to `to`.
struct RelayDecision {
  enum class Action : uint8_t { kForward, kNothing, kDrop };
  Action action = Action::kDrop;
  RelayDropReason reason = RelayDropReason::kMalformed;  // meaningful for kDrop
  bool bound = false;  // a bind was accepted (new, refreshed or moved), even if the payload was dropped
  RelayAddress to;     // meaningful for kForward

  static RelayDecision Drop(RelayDropReason reason) { return {Action::kDrop, reason, false, {}}; }
};

// Invariants: a participant is reachable only at the address of its last accepted
// bind; data is forwarded only from that address, only to the other participant of
// the same call, and only while both are bound; every token maps to exactly one bound
// participant. `now` must not go backwards. Not thread-safe: owned and called by the
// relay's socket thread only.
class RelaySessionTable {
 public:
  RelaySessionTable(RelayLimits limits, RelayAddressRules rules);

  // A bind packet whose ticket verified to `claims`: binds the participant at `from`
  // (or moves it there: rebinding after an address change), then forwards the bind's
  // sealed payload (`sealed_size` bytes, 0 for none) like a data packet.
  RelayDecision OnBind(const RelayTicketClaims& claims, RelaySessionToken token, const RelayAddress& from,
                       std::size_t sealed_size, TimePoint now);

  // A data packet: forwarded to the peer if the token is bound at `from`, the peer is
  // bound and the rate caps allow it.
  RelayDecision OnData(RelaySessionToken token, const RelayAddress& from, std::size_t sealed_size,
                       TimePoint now);

  // Unbinds participants silent for idle_timeout or longer; removes calls with no
  // bound participant. Returns how many participants were unbound. Cost: O(calls).
  std::size_t ExpireIdle(TimePoint now);

  bool IsRefused(const RelayAddress& address) const;

  std::size_t call_count() const { return calls_.size(); }
  std::size_t bound_count() const { return by_token_.size(); }
  // Where a participant is bound, if it is (for tests and diagnostics).
  std::optional<RelayAddress> AddressOf(const std::array<uint8_t, 16>& call_id, uint8_t participant) const;

 private:
  struct Participant {
    bool bound = false;
    RelaySessionToken token = 0;
    RelayAddress address;
    TimePoint last_seen;
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
  struct TokenHash {
    // Tokens are BLAKE2b output, and only bound (ticket-holding) ones are inserted.
    std::size_t operator()(RelaySessionToken token) const { return static_cast<std::size_t>(token); }
  };
  struct ParticipantRef {
    Call* call;
    uint8_t index;
  };

  RelayDecision ForwardFrom(Call& call, uint8_t index, std::size_t sealed_size, TimePoint now);
  bool TakeAllowance(Participant& participant, std::size_t sealed_size, TimePoint now);

  RelayLimits limits_;
  RelayAddressRules rules_;
  // Nodes of unordered_map never move, so ParticipantRef::call stays valid until the
  // call is erased (ExpireIdle erases its tokens first).
  std::unordered_map<std::array<uint8_t, 16>, Call, CallIdHash> calls_;
  std::unordered_map<RelaySessionToken, ParticipantRef, TokenHash> by_token_;
};

}  // namespace parley::server
