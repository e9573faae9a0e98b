// Relay tickets: what the server hands each call participant so the UDP relay will
// forward for it. Sealed (XChaCha20-Poly1305) under a server key; opaque to clients.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/crypto/secret.h"

namespace parley::server {

// What a ticket says. `participant` is 0 for the caller, 1 for the callee; the relay
// forwards only between the two participants of one call_id. `expires_unix_s` is
// wall-clock (Unix seconds): a ticket verifies while now_unix_s < expires_unix_s.
// `issued_unix_ms` (wall clock, ms) is when the hub sent it: binds count their time
// from it (elapsed_ms), so the relay can refuse stale binds without clock agreement.
struct RelayTicketClaims {
  std::array<uint8_t, 16> call_id;
  uint8_t participant;  // 0 caller, 1 callee
  int64_t expires_unix_s;
  int64_t issued_unix_ms = 0;

  friend bool operator==(const RelayTicketClaims&, const RelayTicketClaims&) = default;
};

// Issues and verifies tickets. A ticket is
//   nonce (24 random bytes) || XChaCha20-Poly1305(claims, 33 bytes) || tag (16)
// = 73 bytes, so neither the call id nor anything else is visible and two tickets for
// the same claims differ (docs/protocol.md, "Relay (obfuscated UDP)"). Keys derived
// from the server's ticket key with crypto_kdf (context "PRLYRTKT"): id 1 the ticket
// AEAD key, id 2 the hop-key derivation key, id 3 the bind key all clients get.
// Thread-safety: immutable after construction; Issue and Verify may be called from
// any thread concurrently. The key is wiped on destruction.
class RelayTicketIssuer {
 public:
  static constexpr std::size_t kTicketSize = 24 + 33 + 16;

  explicit RelayTicketIssuer(std::span<const uint8_t, 32> key);

  // A fresh ticket (random nonce) for `claims`. participant must be 0 or 1.
  std::vector<uint8_t> Issue(const RelayTicketClaims& claims) const;

  // The claims of a ticket this issuer made, if it authenticates and has not expired
  // at `now_unix_s`. Errors are one sentence (wrong size, not authentic, expired).
  Result<RelayTicketClaims> Verify(std::span<const uint8_t> ticket, int64_t now_unix_s) const;

  // The ticket's hop key: keyed BLAKE2b-256 (key: the hop-key derivation key, input:
  // the ticket bytes). The hub sends it with the ticket; the relay recomputes it.
  crypto::Secret<32> HopKey(std::span<const uint8_t> ticket) const;
  // The bind key (net::RelayBindKeys), the same for every client of this relay.
  const std::array<uint8_t, 32>& bind_key() const { return bind_key_; }

 private:
  crypto::Secret<32> aead_key_;
  crypto::Secret<32> hop_derivation_key_;
  std::array<uint8_t, 32> bind_key_{};  // given to every client; not a secret from them
};

}  // namespace parley::server
