// Relay tickets: claims sealed with XChaCha20-Poly1305 under a key derived from the
// server's ticket key.
#include "parley/server/relay_ticket.h"

#include <sodium.h>

#include <algorithm>
#include <string>

#include "parley/base/check.h"
#include "parley/crypto/sodium_setup.h"
#include "parley/net/relay_framing.h"

namespace parley::server {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "PRLYRTKT";
constexpr uint64_t kAeadKeyId = 1;  // never reuse or renumber
constexpr uint64_t kHopDerivationKeyId = 2;
constexpr uint64_t kBindKeyId = 3;
// Bound as associated data so a ciphertext made for another purpose under the same
// key can never pass as a ticket.
constexpr char kAssociatedData[] = "parley relay ticket v1";
constexpr std::size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kClaimsSize = 16 + 1 + 8 + 8;
constexpr std::size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(RelayTicketIssuer::kTicketSize == kNonceSize + kClaimsSize + kTagSize);
static_assert(RelayTicketIssuer::kTicketSize == net::kRelayTicketSize);

void EncodeClaims(const RelayTicketClaims& claims, uint8_t* out) {
  std::copy(claims.call_id.begin(), claims.call_id.end(), out);
  out[16] = claims.participant;
  const auto expires = static_cast<uint64_t>(claims.expires_unix_s);
  for (int i = 0; i < 8; ++i) out[17 + i] = static_cast<uint8_t>(expires >> (56 - 8 * i));
  const auto issued = static_cast<uint64_t>(claims.issued_unix_ms);
  for (int i = 0; i < 8; ++i) out[25 + i] = static_cast<uint8_t>(issued >> (56 - 8 * i));
}

RelayTicketClaims DecodeClaims(const uint8_t* in) {
  RelayTicketClaims claims{};
  std::copy(in, in + 16, claims.call_id.begin());
  claims.participant = in[16];
  uint64_t expires = 0;
  for (int i = 0; i < 8; ++i) expires = (expires << 8) | in[17 + i];
  claims.expires_unix_s = static_cast<int64_t>(expires);
  uint64_t issued = 0;
  for (int i = 0; i < 8; ++i) issued = (issued << 8) | in[25 + i];
  claims.issued_unix_ms = static_cast<int64_t>(issued);
  return claims;
}

}  // namespace

RelayTicketIssuer::RelayTicketIssuer(std::span<const uint8_t, 32> key) {
  crypto::EnsureSodium();
  static_assert(crypto_kdf_KEYBYTES == 32);
  crypto_kdf_derive_from_key(aead_key_.data(), aead_key_.size(), kAeadKeyId, kKdfContext, key.data());
  crypto_kdf_derive_from_key(hop_derivation_key_.data(), hop_derivation_key_.size(), kHopDerivationKeyId,
                             kKdfContext, key.data());
  crypto_kdf_derive_from_key(bind_key_.data(), bind_key_.size(), kBindKeyId, kKdfContext, key.data());
}

crypto::Secret<32> RelayTicketIssuer::HopKey(std::span<const uint8_t> ticket) const {
  crypto::Secret<32> hop_key;
  crypto_generichash(hop_key.data(), hop_key.size(), ticket.data(), ticket.size(), hop_derivation_key_.data(),
                     hop_derivation_key_.size());
  return hop_key;
}

std::vector<uint8_t> RelayTicketIssuer::Issue(const RelayTicketClaims& claims) const {
  PARLEY_CHECK_MSG(claims.participant <= 1, "a relay ticket's participant is 0 (caller) or 1 (callee)");
  std::vector<uint8_t> ticket(kTicketSize);
  randombytes_buf(ticket.data(), kNonceSize);
  std::array<uint8_t, kClaimsSize> plain;
  EncodeClaims(claims, plain.data());
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      ticket.data() + kNonceSize, &written, plain.data(), plain.size(),
      reinterpret_cast<const uint8_t*>(kAssociatedData), sizeof(kAssociatedData) - 1, nullptr,
      ticket.data(), aead_key_.data());
  sodium_memzero(plain.data(), plain.size());
  PARLEY_CHECK(written == kClaimsSize + kTagSize);
  return ticket;
}

Result<RelayTicketClaims> RelayTicketIssuer::Verify(std::span<const uint8_t> ticket,
                                                    int64_t now_unix_s) const {
  if (ticket.size() != kTicketSize) {
    return Error{"The relay ticket is " + std::to_string(ticket.size()) + " bytes, not " +
                 std::to_string(kTicketSize) + ": ask the server for a new ticket."};
  }
  std::array<uint8_t, kClaimsSize> plain;
  unsigned long long plain_size = 0;
  // The Poly1305 tag is checked in constant time inside libsodium.
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &plain_size, nullptr, ticket.data() + kNonceSize, ticket.size() - kNonceSize,
          reinterpret_cast<const uint8_t*>(kAssociatedData), sizeof(kAssociatedData) - 1,
          ticket.data(), aead_key_.data()) != 0) {
    return Error{"The relay ticket was not issued by this server or was altered: ask the server "
                 "for a new ticket."};
  }
  PARLEY_CHECK(plain_size == kClaimsSize);
  const RelayTicketClaims claims = DecodeClaims(plain.data());
  sodium_memzero(plain.data(), plain.size());
  if (claims.participant > 1) {
    return Error{"The relay ticket names participant " + std::to_string(claims.participant) +
                 ", but a call has only participants 0 and 1: ask the server for a new ticket."};
  }
  if (now_unix_s >= claims.expires_unix_s) {
    return Error{"The relay ticket expired " + std::to_string(now_unix_s - claims.expires_unix_s) +
                 " s ago: ask the server for a new ticket."};
  }
  return claims;
}

}  // namespace parley::server
