// The relay's obfuscated UDP framing (issue #5): binds from clients, acks from the
// relay, the keys they use. Shared by the relay (server) and the client's session.
// docs/protocol.md, "Relay (obfuscated UDP)".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "parley/base/check.h"
#include "parley/base/result.h"
#include "parley/crypto/padding_policy.h"
#include "parley/crypto/secret.h"
#include "parley/crypto/wire_shape.h"

namespace parley::net {

// Every datagram of this framing (and every sealed packet) starts with a byte whose
// top two bits are 01: what a QUIC short-header packet looks like; never RTP/RTCP
// (10), STUN, DTLS or WireGuard (00), QUIC long header or MTProto 0xef (11).
inline constexpr uint8_t kFirstByteFixedBits = 0x40;
inline constexpr uint8_t kFirstByteRandomMask = 0x3F;
inline constexpr bool HasObfuscatedFirstByte(uint8_t byte) { return (byte & 0xC0) == kFirstByteFixedBits; }

inline constexpr std::size_t kRelayNonceSize = 24;
inline constexpr std::size_t kRelayMarkSize = 8;
// Tickets have one size (server::RelayTicketIssuer::kTicketSize checks it).
inline constexpr std::size_t kRelayTicketSize = 73;
inline constexpr std::size_t kRelayTagSize = 16;
inline constexpr std::size_t kRelayKeySize = 32;
// Bind plaintext before the sealed packet: u64be(elapsed_ms) || u16be(sealed length).
inline constexpr std::size_t kRelayBindHeaderSize = 10;
inline constexpr std::size_t kRelayBindOverhead =
    kRelayNonceSize + kRelayMarkSize + kRelayTicketSize + kRelayTagSize + kRelayBindHeaderSize;  // 131
// Ack plaintext: u64be(elapsed_ms) || family (4 or 6) || address (16) || u16be(port).
inline constexpr std::size_t kRelayAckContentSize = 8 + 1 + 16 + 2;
inline constexpr std::size_t kRelayAckMinSize = kRelayNonceSize + kRelayAckContentSize + kRelayTagSize;  // 67
// No datagram of this framing, and no sealed packet, is larger.
inline constexpr std::size_t kMaxRelayDatagramSize = crypto::kMaxSealedSize;  // 1200
// The largest sealed packet a bind can carry (binds are at most 1200 bytes too).
inline constexpr std::size_t kMaxSealedInBind = kMaxRelayDatagramSize - kRelayBindOverhead;  // 1069

// The two keys every client of one relay gets (in the `relay` signaling message as
// bind_key) and the relay derives from its ticket key: the mark lets the relay tell a
// bind from anything else with one SipHash, the mask hides the ticket, so no byte of a
// bind repeats across binds. Immutable; any thread.
struct RelayBindKeys {
  explicit RelayBindKeys(std::span<const uint8_t, kRelayKeySize> bind_key);
  crypto::Secret<16> mark_key;  // crypto_kdf(id 1, "PRLYBIND", bind_key), SipHash-2-4 key
  crypto::Secret<32> mask_key;  // crypto_kdf(id 2, "PRLYBIND", bind_key), XChaCha20 key
};

// The wire size of a bind carrying `sealed_size` bytes (0: none): the smallest padding
// bucket (crypto::kPaddingBuckets) that holds kRelayBindOverhead + sealed_size, or 0 if
// none does (sealed_size > kMaxSealedInBind).
std::size_t RelayBindSize(std::size_t sealed_size);

// Writes a bind into `out` (exactly RelayBindSize(sealed.size()) bytes):
//   nonce (24; byte 0 = 0x40 | random 6 bits) || mark (8) || masked ticket (73) || box
//   mark   = SipHash-2-4(mark_key, nonce)
//   masked = ticket XOR XChaCha20(mask_key, nonce)
//   box    = XChaCha20-Poly1305(hop_key, nonce, ad = ticket,
//                               u64be(elapsed_ms) || u16be(len) || sealed || 0x00*)
// `nonce` is 24 random bytes (its first byte's top bits are replaced). Preconditions
// (checked): sizes as stated, sealed empty or 25..kMaxSealedInBind.
void WriteRelayBind(const RelayBindKeys& keys, std::span<const uint8_t, kRelayTicketSize> ticket,
                    const crypto::Secret<32>& hop_key, std::span<const uint8_t, kRelayNonceSize> nonce,
                    uint64_t elapsed_ms, std::span<const uint8_t> sealed, std::span<uint8_t> out);

// True if `datagram` is big enough for a bind and its mark verifies (constant time):
// the relay's one cheap test that sends a datagram down the bind path. A sealed packet
// passes by chance with probability 2^-64.
bool HasRelayBindMark(const RelayBindKeys& keys, std::span<const uint8_t> datagram);

// The ticket inside a bind (for a datagram that HasRelayBindMark).
std::array<uint8_t, kRelayTicketSize> UnmaskRelayTicket(const RelayBindKeys& keys, std::span<const uint8_t> datagram);

struct RelayBindContents {
  uint64_t elapsed_ms = 0;
  std::span<const uint8_t> sealed;  // into the scratch buffer given to OpenRelayBind; may be empty
};

// Opens a bind's box with the ticket's hop key into `scratch` (at least the datagram's
// size). Errors are one sentence (not authentic, bad length field); nothing is changed
// on error.
Result<RelayBindContents> OpenRelayBind(const crypto::Secret<32>& hop_key,
                                        std::span<const uint8_t, kRelayTicketSize> ticket,
                                        std::span<const uint8_t> datagram, std::span<uint8_t> scratch);

// What an ack says: which bind it answers and the source address the relay saw.
// `ip` is IPv6, or IPv4-mapped (::ffff:a.b.c.d) for IPv4.
struct RelayAckContents {
  uint64_t elapsed_ms = 0;
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;
  bool is_ipv4() const;
  friend bool operator==(const RelayAckContents&, const RelayAckContents&) = default;
};

// Writes an ack into `out` (kRelayAckMinSize..1200 bytes; the caller picks a padding
// bucket no larger than the bind it answers):
//   nonce (24; byte 0 = 0x40 | random 6 bits) ||
//   XChaCha20-Poly1305(hop_key, nonce, ad = "parley relay ack",
//                      u64be(elapsed_ms) || family (4|6) || ip (16) || u16be(port) || 0x00*)
void WriteRelayAck(const crypto::Secret<32>& hop_key, std::span<const uint8_t, kRelayNonceSize> nonce,
                   const RelayAckContents& ack, std::span<uint8_t> out);

// Draws a nonce for a bind or an ack of `datagram_size` bytes: 24 bytes from `draw`,
// the first byte's top bits set to 01, drawn again while the datagram's leading bytes
// (the nonce's) would match crypto::MatchesClassifierSignature (about 1 in 250 draws).
// `draw` fills its span with random bytes; a source that keeps returning matching
// bytes is a broken invariant (checked after 64 draws).
template <typename Draw>
std::array<uint8_t, kRelayNonceSize> DrawRelayNonce(std::size_t datagram_size, Draw&& draw);

// Opens an ack; errors are one sentence (wrong size, not authentic, bad family).
Result<RelayAckContents> OpenRelayAck(const crypto::Secret<32>& hop_key, std::span<const uint8_t> datagram);

template <typename Draw>
std::array<uint8_t, kRelayNonceSize> DrawRelayNonce(std::size_t datagram_size, Draw&& draw) {
  std::array<uint8_t, kRelayNonceSize> nonce;
  for (int attempt = 0;; ++attempt) {
    PARLEY_CHECK_MSG(attempt < 64, "the nonce source keeps returning bytes a DPI classifier would name");
    draw(std::span<uint8_t>(nonce));
    nonce[0] = static_cast<uint8_t>(kFirstByteFixedBits | (nonce[0] & kFirstByteRandomMask));
    if (!crypto::MatchesClassifierSignature(nonce, datagram_size)) return nonce;
  }
}

}  // namespace parley::net
