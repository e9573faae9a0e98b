// The relay's session table: binding, forwarding decisions, rate caps, idle expiry.
#include "parley/server/relay_session_table.h"

#include <algorithm>
#include <cstring>

#include "parley/base/check.h"

namespace parley::server {

std::string_view RelayDropReasonName(RelayDropReason reason) {
  switch (reason) {
    case RelayDropReason::kMalformed: return "malformed";
    case RelayDropReason::kBadTicket: return "bad_ticket";
    case RelayDropReason::kExpiredTicket: return "expired_ticket";
    case RelayDropReason::kUnknownToken: return "unknown_token";
    case RelayDropReason::kSpoofedSource: return "spoofed_source";
    case RelayDropReason::kRefusedAddress: return "refused_address";
    case RelayDropReason::kPeerNotBound: return "peer_not_bound";
    case RelayDropReason::kRateLimited: return "rate_limited";
    case RelayDropReason::kTableFull: return "table_full";
    case RelayDropReason::kTokenConflict: return "token_conflict";
    case RelayDropReason::kSendFailed: return "send_failed";
    case RelayDropReason::kCount: break;
  }
  return "unknown";
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
  PARLEY_CHECK(limits_.bytes_per_second > 0 && limits_.burst_bytes >= kMaxSealedSize);
  PARLEY_CHECK(limits_.idle_timeout > Duration::zero());
}

bool RelaySessionTable::IsRefused(const RelayAddress& address) const {
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

RelayDecision RelaySessionTable::OnBind(const RelayTicketClaims& claims, RelaySessionToken token,
                                        const RelayAddress& from, std::size_t sealed_size, TimePoint now) {
  PARLEY_CHECK(claims.participant <= 1);
  if (IsRefused(from)) return RelayDecision::Drop(RelayDropReason::kRefusedAddress);

  auto existing_token = by_token_.find(token);
  if (existing_token != by_token_.end()) {
    const ParticipantRef ref = existing_token->second;
    if (ref.call->call_id != claims.call_id || ref.index != claims.participant) {
      return RelayDecision::Drop(RelayDropReason::kTokenConflict);
    }
  }

  auto call_it = calls_.find(claims.call_id);
  if (call_it == calls_.end()) {
    if (calls_.size() >= limits_.max_calls) return RelayDecision::Drop(RelayDropReason::kTableFull);
    call_it = calls_.emplace(claims.call_id, Call{claims.call_id, {}}).first;
  }
  Call& call = call_it->second;
  Participant& participant = call.participants[claims.participant];
  if (!participant.bound) {
    participant = Participant{};
    participant.bound = true;
    participant.refilled = now;
    participant.packet_allowance = limits_.burst_packets;
    participant.byte_allowance = limits_.burst_bytes;
  } else if (participant.token != token) {
    // A newer ticket for the same participant replaces the old one.
    by_token_.erase(participant.token);
  }
  participant.token = token;
  participant.address = from;
  participant.last_seen = now;
  by_token_[token] = ParticipantRef{&call, claims.participant};

  RelayDecision decision;
  if (sealed_size == 0) {
    decision.action = RelayDecision::Action::kNothing;
  } else {
    decision = ForwardFrom(call, claims.participant, sealed_size, now);
  }
  decision.bound = true;
  return decision;
}

RelayDecision RelaySessionTable::OnData(RelaySessionToken token, const RelayAddress& from,
                                        std::size_t sealed_size, TimePoint now) {
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return RelayDecision::Drop(RelayDropReason::kUnknownToken);
  Call& call = *it->second.call;
  const uint8_t index = it->second.index;
  Participant& participant = call.participants[index];
  if (!(participant.address == from)) return RelayDecision::Drop(RelayDropReason::kSpoofedSource);
  participant.last_seen = now;
  return ForwardFrom(call, index, sealed_size, now);
}

RelayDecision RelaySessionTable::ForwardFrom(Call& call, uint8_t index, std::size_t sealed_size,
                                             TimePoint now) {
  if (!TakeAllowance(call.participants[index], sealed_size, now)) {
    return RelayDecision::Drop(RelayDropReason::kRateLimited);
  }
  const Participant& peer = call.participants[1 - index];
  if (!peer.bound) return RelayDecision::Drop(RelayDropReason::kPeerNotBound);
  RelayDecision decision;
  decision.action = RelayDecision::Action::kForward;
  decision.to = peer.address;
  return decision;
}

bool RelaySessionTable::TakeAllowance(Participant& participant, std::size_t sealed_size, TimePoint now) {
  if (now > participant.refilled) {
    const double elapsed_s = ToSeconds(now - participant.refilled);
    participant.packet_allowance =
        std::min(limits_.burst_packets, participant.packet_allowance + elapsed_s * limits_.packets_per_second);
    participant.byte_allowance =
        std::min(limits_.burst_bytes, participant.byte_allowance + elapsed_s * limits_.bytes_per_second);
    participant.refilled = now;
  }
  const auto bytes = static_cast<double>(sealed_size);
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
        by_token_.erase(participant.token);
        participant.bound = false;
        ++unbound;
      }
    }
    if (!call.participants[0].bound && !call.participants[1].bound) {
      it = calls_.erase(it);
    } else {
      ++it;
    }
  }
  return unbound;
}

std::optional<RelayAddress> RelaySessionTable::AddressOf(const std::array<uint8_t, 16>& call_id,
                                                         uint8_t participant) const {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || participant > 1 || !it->second.participants[participant].bound) {
    return std::nullopt;
  }
  return it->second.participants[participant].address;
}

}  // namespace parley::server
