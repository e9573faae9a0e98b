// The client's relay session: when to bind, bind/data wrapping, ack handling.
#include "parley/net/relay_client_session.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "parley/base/check.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::net {

Result<RelayCredentials> RelayCredentials::FromBytes(std::span<const uint8_t> ticket,
                                                     std::span<const uint8_t> hop_key,
                                                     std::span<const uint8_t> bind_key) {
  if (ticket.size() != kRelayTicketSize || hop_key.size() != kRelayKeySize || bind_key.size() != kRelayKeySize) {
    return Error{"The server's relay ticket and keys are " + std::to_string(ticket.size()) + ", " +
                 std::to_string(hop_key.size()) + " and " + std::to_string(bind_key.size()) + " bytes, not " +
                 std::to_string(kRelayTicketSize) + ", 32 and 32; update parley or the server."};
  }
  RelayCredentials credentials;
  std::copy(ticket.begin(), ticket.end(), credentials.ticket.begin());
  credentials.hop_key = crypto::Secret<32>(hop_key.first<32>());
  std::copy(bind_key.begin(), bind_key.end(), credentials.bind_key.begin());
  return credentials;
}

UdpEndpoint EndpointFromAck(const RelayAckContents& ack) {
  sockaddr_storage storage{};
  if (ack.is_ipv4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(ack.port);
    std::memcpy(&in.sin_addr, ack.ip.data() + 12, 4);
    std::memcpy(&storage, &in, sizeof(in));
    return UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), sizeof(in));
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(ack.port);
  std::memcpy(&in6.sin6_addr, ack.ip.data(), 16);
  std::memcpy(&storage, &in6, sizeof(in6));
  return UdpEndpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), sizeof(in6));
}

RelayClientSession::RelayClientSession(RelayCredentials credentials, TimePoint ticket_received_at,
                                       RelayClientSessionOptions options, NonceSource nonce_source)
    : credentials_(std::move(credentials)),
      bind_keys_(std::span<const uint8_t, kRelayKeySize>(credentials_.bind_key)),
      ticket_received_at_(ticket_received_at),
      options_(options),
      nonce_source_(std::move(nonce_source)) {
  crypto::EnsureSodium();
  if (!nonce_source_) nonce_source_ = [](std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); };
}

std::vector<uint8_t> RelayClientSession::MakeBind(std::span<const uint8_t> sealed, TimePoint now) {
  const auto since_ticket = std::chrono::duration_cast<milliseconds>(now - ticket_received_at_).count();
  uint64_t elapsed_ms = since_ticket > 0 ? static_cast<uint64_t>(since_ticket) : 0;
  // Strictly growing, so the relay accepts each bind once and never a replay of it.
  if (any_bind_made_) elapsed_ms = std::max(elapsed_ms, last_bind_elapsed_ms_ + 1);
  std::vector<uint8_t> datagram(RelayBindSize(sealed.size()));
  const auto nonce = DrawRelayNonce(datagram.size(), nonce_source_);
  WriteRelayBind(bind_keys_, credentials_.ticket, credentials_.hop_key, nonce, elapsed_ms, sealed, datagram);
  any_bind_made_ = true;
  last_bind_at_ = now;
  last_bind_elapsed_ms_ = elapsed_ms;
  rebind_requested_ = false;
  ++stats_.binds_made;
  return datagram;
}

Result<std::vector<uint8_t>> RelayClientSession::Wrap(std::span<const uint8_t> sealed, TimePoint now) {
  if (sealed.size() < crypto::kMinSealedSize || sealed.size() > crypto::kMaxSealedSize) {
    return Error{"A sealed packet of " + std::to_string(sealed.size()) + " bytes cannot be sent; it must be " +
                 std::to_string(crypto::kMinSealedSize) + " to " + std::to_string(crypto::kMaxSealedSize) +
                 " bytes."};
  }
  const bool bind_due = !acked_since_rebind_request_ || rebind_requested_ || !any_bind_made_ ||
                        now - last_bind_at_ >= options_.rebind_interval;
  if (bind_due) {
    if (sealed.size() <= kMaxSealedInBind) return MakeBind(sealed, now);
    if (!acked_since_rebind_request_) {
      ++stats_.oversized_dropped;
      return Error{"A " + std::to_string(sealed.size()) + "-byte sealed packet is too big to ride in a relay bind (" +
                   std::to_string(kMaxSealedInBind) + " at most) and the relay has not acknowledged us yet."};
    }
    // Acknowledged before: send it as data; TakeDueBind sends the due bind.
  }
  ++stats_.data_made;
  return std::vector<uint8_t>(sealed.begin(), sealed.end());
}

TimePoint RelayClientSession::next_bind_at() const {
  if (!any_bind_made_ || rebind_requested_) return ticket_received_at_;
  return last_bind_at_ + (acked_since_rebind_request_ ? options_.rebind_interval : options_.unacked_bind_interval);
}

std::optional<std::vector<uint8_t>> RelayClientSession::TakeDueBind(TimePoint now) {
  if (now < next_bind_at()) return std::nullopt;
  return MakeBind({}, now);
}

void RelayClientSession::RequestRebind() {
  rebind_requested_ = true;
  acked_since_rebind_request_ = false;
  rebind_request_elapsed_ms_ = any_bind_made_ ? last_bind_elapsed_ms_ + 1 : 0;
}

RelayClientSession::Unwrapped RelayClientSession::Unwrap(std::span<const uint8_t> datagram) {
  // Every datagram is tried as an ack first: ~50 per second, one AEAD open each.
  if (datagram.size() >= kRelayAckMinSize && any_bind_made_) {
    if (auto ack = OpenRelayAck(credentials_.hop_key, datagram); ack.ok()) {
      if (ack->elapsed_ms > last_bind_elapsed_ms_ ||
          (last_acked_elapsed_ms_ && ack->elapsed_ms <= *last_acked_elapsed_ms_)) {
        // Authentic but for no bind we are waiting on: a reordered or replayed ack.
        ++stats_.stale_acks;
        return {Arrival::kAck, {}};
      }
      last_acked_elapsed_ms_ = ack->elapsed_ms;
      reflexive_address_ = EndpointFromAck(*ack);
      if (ack->elapsed_ms >= rebind_request_elapsed_ms_) acked_since_rebind_request_ = true;
      ++stats_.acks;
      return {Arrival::kAck, {}};
    }
  }
  if (datagram.size() < crypto::kMinSealedSize || datagram.size() > crypto::kMaxSealedSize) {
    ++stats_.dropped_received;
    return {Arrival::kDropped, {}};
  }
  ++stats_.sealed_received;
  return {Arrival::kSealed, datagram};
}

}  // namespace parley::net
