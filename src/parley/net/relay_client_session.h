// One call participant's session with the relay as logic without I/O: turns sealed
// packets into the datagrams to send (binds until acknowledged, then the sealed packets
// themselves), and sorts what arrives (acks, sealed packets). Any carrier uses it:
// the UDP path (RelayUdpPath) and the TLS path (datagrams in WebSocket frames).
// docs/protocol.md, "Relay (obfuscated UDP)", "Client behaviour".
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/crypto/secret.h"
#include "parley/net/relay_framing.h"
#include "parley/net/udp_endpoint.h"

namespace parley::net {

// What the `relay` signaling message gives one participant.
struct RelayCredentials {
  std::array<uint8_t, kRelayTicketSize> ticket{};  // opaque
  crypto::Secret<32> hop_key;                       // only this ticket's holder and the relay know it
  std::array<uint8_t, kRelayKeySize> bind_key{};   // the same for every client of the relay

  // From the message's byte fields; errors are one sentence (wrong sizes mean the
  // server is not a Parley server of this version).
  static Result<RelayCredentials> FromBytes(std::span<const uint8_t> ticket, std::span<const uint8_t> hop_key,
                                            std::span<const uint8_t> bind_key);
};

struct RelayClientSessionOptions {
  // Once acknowledged, a bind in place of a data datagram at least this often, so a
  // NAT rebinding or an idle expiry at the relay heals (protocol: at most 15 s).
  Duration rebind_interval = seconds(15);
  // Until acknowledged, a payload-less bind at least this often when nothing is sent.
  Duration unacked_bind_interval = milliseconds(500);
};

// Counters since construction.
struct RelayClientSessionStats {
  uint64_t binds_made = 0;        // bind datagrams produced (with or without a sealed packet)
  uint64_t data_made = 0;         // sealed packets passed through as data datagrams
  uint64_t oversized_dropped = 0; // sealed packets too big to ride in a bind while one was needed
  uint64_t acks = 0;              // acks accepted
  uint64_t stale_acks = 0;        // authentic acks for a bind older than the last acknowledged
  uint64_t sealed_received = 0;   // datagrams handed up as sealed packets
  uint64_t dropped_received = 0;  // neither an ack nor a possible sealed packet (size)
};

// Invariants: every datagram produced starts with a byte 0x40..0x7F (binds by
// construction, data because sealed packets do); elapsed_ms in binds strictly grows;
// the session counts as acknowledged only by an authentic ack for a bind it made since
// the last RequestRebind. `now` is the caller's steady time and must not go backwards.
// Not thread-safe: one thread at a time (the call's media thread, or the TLS carrier's
// strand). No I/O, no clock, no randomness of its own: nonces come from `nonce_source`.
class RelayClientSession {
 public:
  // Fills its argument with fresh random bytes; default: libsodium's randombytes_buf.
  using NonceSource = std::function<void(std::span<uint8_t>)>;
  enum class Arrival : uint8_t { kAck, kSealed, kDropped };
  struct Unwrapped {
    Arrival kind = Arrival::kDropped;
    std::span<const uint8_t> sealed;  // kSealed: the datagram itself
  };

  // `ticket_received_at`: when the `relay` message arrived (elapsed_ms counts from it).
  RelayClientSession(RelayCredentials credentials, TimePoint ticket_received_at,
                     RelayClientSessionOptions options = {}, NonceSource nonce_source = {});

  // The datagram that carries `sealed` (25..1200 bytes): a bind carrying it while no
  // ack has arrived since the last rebind request or when a rebind is due, otherwise
  // `sealed` itself. A sealed packet too big for a bind (> kMaxSealedInBind) while a
  // bind is needed is sent as data if acknowledged before (the rebind waits), else
  // dropped with an error. A wrong size is an error.
  Result<std::vector<uint8_t>> Wrap(std::span<const uint8_t> sealed, TimePoint now);

  // A payload-less bind if one is due (unacked_bind_interval before the ack,
  // rebind_interval after, or at once after RequestRebind), else nullopt. Call it from
  // the carrier's timer; cheap.
  std::optional<std::vector<uint8_t>> TakeDueBind(TimePoint now);
  // When TakeDueBind will next return a bind.
  TimePoint next_bind_at() const;

  // After a network change: binds (carrying the sealed packets) until a new ack.
  void RequestRebind();

  // Sorts one datagram from the relay: an authentic ack (for a bind this session made)
  // is consumed; anything else of sealed-packet size is handed up, unverified.
  Unwrapped Unwrap(std::span<const uint8_t> datagram);

  // True once any ack arrived: the relay has this participant bound.
  bool ready() const { return last_acked_elapsed_ms_.has_value(); }
  // True while binds are sent in place of data (no ack since the last rebind request).
  bool binding() const { return !acked_since_rebind_request_; }
  // The source address the relay saw in the latest ack: a server-reflexive P2P
  // candidate.
  const std::optional<UdpEndpoint>& reflexive_address() const { return reflexive_address_; }
  const RelayClientSessionStats& stats() const { return stats_; }

 private:
  std::vector<uint8_t> MakeBind(std::span<const uint8_t> sealed, TimePoint now);

  const RelayCredentials credentials_;
  const RelayBindKeys bind_keys_;
  const TimePoint ticket_received_at_;
  const RelayClientSessionOptions options_;
  NonceSource nonce_source_;

  bool any_bind_made_ = false;
  TimePoint last_bind_at_{};
  uint64_t last_bind_elapsed_ms_ = 0;      // of the latest bind made
  uint64_t rebind_request_elapsed_ms_ = 0; // acks must be for binds at or after this
  bool rebind_requested_ = false;          // a bind is due at once
  bool acked_since_rebind_request_ = false;
  std::optional<uint64_t> last_acked_elapsed_ms_;
  std::optional<UdpEndpoint> reflexive_address_;
  RelayClientSessionStats stats_;
};

// The endpoint an ack names.
UdpEndpoint EndpointFromAck(const RelayAckContents& ack);

}  // namespace parley::net
