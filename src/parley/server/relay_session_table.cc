// The relay's session table: binding, forwarding decisions, rate caps, idle expiry.
#include "parley/server/relay_session_table.h"

#include <algorithm>
#include <cstring>

#include "parley/base/check.h"

namespace parley::server {

std::string_view RelayDropReasonName(RelayDropReason reason) {
  switch (reason) {
    case RelayDropReason::kMalformed: return "malformed";
    case RelayDropReason::kUnknownSource: return "unknown_source";
    case RelayDropReason::kBadTicket: return "bad_ticket";
    case RelayDropReason::kExpiredTicket: return "expired_ticket";
    case RelayDropReason::kBadBind: return "bad_bind";
    case RelayDropReason::kStaleBind: return "stale_bind";
    case RelayDropReason::kReplayedBind: return "replayed_bind";
    case RelayDropReason::kRefusedAddress: return "refused_address";
    case RelayDropReason::kPeerNotBound: return "peer_not_bound";
    case RelayDropReason::kRateLimited: return "rate_limited";
    case RelayDropReason::kTableFull: return "table_full";
    case RelayDropReason::kSendFailed: return "send_failed";
    case RelayDropReason::kCount: break;
  }
  return "unknown";
}

std::size_t RelaySessionTable::SourceHash::operator()(const RelaySource& source) const {
  uint64_t a, b;
  std::memcpy(&a, source.address.ip().data(), 8);
  std::memcpy(&b, source.address.ip().data() + 8, 8);
  // Sources are chosen by whoever sends, so mix well (splitmix64 finaliser); an
  // attacker can still only insert sources that hold a valid ticket.
  uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ull) ^ (uint64_t{source.address.port()} << 8) ^
               static_cast<uint64_t>(source.socket);
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<std::size_t>(x);
}

std::size_t RelaySessionTable::CallIdHash::operator()(const std::array<uint8_t, 16>& id) const {
  uint64_t a, b;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  // Call ids are chosen by the signaling hub, not by clients; a multiplicative mix
  // spreads ids that are not uniformly random either.
  return static_cast<std::size_t>((a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull);
}

RelaySessionTable::RelaySessionTable(RelayLimits limits, RelayAddressRules rules)
    : limits_(limits), rules_(std::move(rules)) {
  PARLEY_CHECK(limits_.packets_per_second > 0 && limits_.burst_packets >= 1);
  PARLEY_CHECK(limits_.bytes_per_second > 0 && limits_.burst_bytes >= net::kMaxRelayDatagramSize);
  PARLEY_CHECK(limits_.idle_timeout > Duration::zero());
  PARLEY_CHECK_MSG(limits_.idle_timeout > limits_.bind_freshness,
                   "idle_timeout must outlast bind_freshness, or a forgotten call would take replays");
}

bool RelaySessionTable::IsRefused(const RelaySource& source) const {
  // Bridge sources are local bridges (the TLS front), trusted by construction.
  if (source.socket == RelaySocket::kBridge) return false;
  const RelayAddress& address = source.address;
  if (address.port() == 0 || address.IsUnspecified() || address.IsLinkLocal() ||
      address.IsMulticastOrBroadcast()) {
    return true;
  }
  // Loopback is decided by the flag alone, so a relay bound to 127.0.0.1 in tests
  // still serves loopback peers.
  if (address.IsLoopback()) return !rules_.allow_loopback;
  return std::any_of(rules_.own_addresses.begin(), rules_.own_addresses.end(),
                     [&](const RelayAddress& own) { return own.SameHost(address); });
}

void RelaySessionTable::Unbind(Participant& participant) {
  if (!participant.bound) return;
  by_source_.erase(participant.source);
  participant.bound = false;
}

RelayDecision RelaySessionTable::OnBind(const RelayTicketClaims& claims, uint64_t elapsed_ms,
                                        const RelaySource& from, std::size_t sealed_size, TimePoint now,
                                        int64_t now_unix_ms) {
  PARLEY_CHECK(claims.participant <= 1);
  if (IsRefused(from)) return RelayDecision::Drop(RelayDropReason::kRefusedAddress);
  // Freshness: the bind's time on the hub's clock (issued) plus the client's elapsed
  // time must be near the relay's clock. elapsed_ms is capped so the sum cannot overflow.
  constexpr uint64_t kMaxElapsedMs = uint64_t{1} << 50;
  if (elapsed_ms > kMaxElapsedMs) return RelayDecision::Drop(RelayDropReason::kStaleBind);
  const int64_t bind_unix_ms = claims.issued_unix_ms + static_cast<int64_t>(elapsed_ms);
  const int64_t freshness_ms = std::chrono::duration_cast<milliseconds>(limits_.bind_freshness).count();
  if (bind_unix_ms < now_unix_ms - freshness_ms || bind_unix_ms > now_unix_ms + freshness_ms) {
    return RelayDecision::Drop(RelayDropReason::kStaleBind);
  }

  auto call_it = calls_.find(claims.call_id);
  if (call_it == calls_.end()) {
    if (calls_.size() >= limits_.max_calls) return RelayDecision::Drop(RelayDropReason::kTableFull);
    call_it = calls_.emplace(claims.call_id, Call{claims.call_id, {}}).first;
  }
  Call& call = call_it->second;
  Participant& participant = call.participants[claims.participant];
  // Replay: only a strictly newer bind moves anything (a captured bind replayed from
  // another address, even right away, is refused and answered with nothing).
  if (bind_unix_ms <= participant.last_bind_unix_ms) return RelayDecision::Drop(RelayDropReason::kReplayedBind);
  participant.last_bind_unix_ms = bind_unix_ms;

  const bool moved = !participant.bound || !(participant.source == from);
  if (moved) {
    Unbind(participant);
    // The source may still be bound to someone else (a client reusing its socket for
    // a new call): the newest authenticated bind wins.
    if (auto other = by_source_.find(from); other != by_source_.end()) {
      Unbind(other->second.call->participants[other->second.index]);
    }
    participant.bound = true;
    participant.source = from;
    by_source_[from] = ParticipantRef{&call, claims.participant};
    if (participant.last_ack_at == std::nullopt) {
      participant.refilled = now;
      participant.packet_allowance = limits_.burst_packets;
      participant.byte_allowance = limits_.burst_bytes;
    }
  }
  participant.last_seen = now;

  RelayDecision decision;
  if (sealed_size == 0) {
    decision.action = RelayDecision::Action::kNothing;
  } else {
    decision = ForwardFrom(call, claims.participant, sealed_size, now);
  }
  decision.bound = true;
  if (moved || !participant.last_ack_at || now - *participant.last_ack_at >= limits_.min_ack_interval) {
    decision.ack = true;
    decision.ack_elapsed_ms = elapsed_ms;
    participant.last_ack_at = now;
  }
  return decision;
}

RelayDecision RelaySessionTable::OnData(const RelaySource& from, std::size_t size, TimePoint now) {
  auto it = by_source_.find(from);
  if (it == by_source_.end()) return RelayDecision::Drop(RelayDropReason::kUnknownSource);
  Call& call = *it->second.call;
  const uint8_t index = it->second.index;
  call.participants[index].last_seen = now;
  return ForwardFrom(call, index, size, now);
}

RelayDecision RelaySessionTable::ForwardFrom(Call& call, uint8_t index, std::size_t size, TimePoint now) {
  if (!TakeAllowance(call.participants[index], size, now)) {
    return RelayDecision::Drop(RelayDropReason::kRateLimited);
  }
  const Participant& peer = call.participants[1 - index];
  if (!peer.bound) return RelayDecision::Drop(RelayDropReason::kPeerNotBound);
  RelayDecision decision;
  decision.action = RelayDecision::Action::kForward;
  decision.to = peer.source;
  return decision;
}

bool RelaySessionTable::TakeAllowance(Participant& participant, std::size_t size, TimePoint now) {
  if (now > participant.refilled) {
    const double elapsed_s = ToSeconds(now - participant.refilled);
    participant.packet_allowance =
        std::min(limits_.burst_packets, participant.packet_allowance + elapsed_s * limits_.packets_per_second);
    participant.byte_allowance =
        std::min(limits_.burst_bytes, participant.byte_allowance + elapsed_s * limits_.bytes_per_second);
    participant.refilled = now;
  }
  const auto bytes = static_cast<double>(size);
  if (participant.packet_allowance < 1 || participant.byte_allowance < bytes) return false;
  participant.packet_allowance -= 1;
  participant.byte_allowance -= bytes;
  return true;
}

std::size_t RelaySessionTable::ExpireIdle(TimePoint now) {
  std::size_t unbound = 0;
  for (auto it = calls_.begin(); it != calls_.end();) {
    Call& call = it->second;
    for (Participant& participant : call.participants) {
      if (participant.bound && now - participant.last_seen >= limits_.idle_timeout) {
        Unbind(participant);
        ++unbound;
      }
    }
    // Forgetting the call forgets last_bind_unix_ms too; idle_timeout is longer than
    // bind_freshness, so binds captured before that are stale by then.
    if (!call.participants[0].bound && !call.participants[1].bound) {
      it = calls_.erase(it);
    } else {
      ++it;
    }
  }
  return unbound;
}

std::optional<RelaySource> RelaySessionTable::SourceOf(const std::array<uint8_t, 16>& call_id,
                                                       uint8_t participant) const {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || participant > 1 || !it->second.participants[participant].bound) {
    return std::nullopt;
  }
  return it->second.participants[participant].source;
}

}  // namespace parley::server
