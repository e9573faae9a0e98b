// Wire shape: which leading bytes of a datagram would make a known DPI classifier name
// its flow, so every producer of Parley datagrams can re-draw them. docs/protocol.md,
// "Sealed packet" ("Wire shape").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace parley::crypto {

// The predicate reads at most this many leading bytes (and the datagram's size).
inline constexpr std::size_t kWireShapeLeadingBytes = 6;

// True if a UDP datagram of `datagram_size` bytes whose first bytes are `leading`
// (at least min(kWireShapeLeadingBytes, datagram_size) of them; checked) would match
// one of these signatures of nDPI 4.2 (Debian 12's libndpi), the rules that fire on
// random bytes whose first byte is 01xxxxxx (found by scanning 10^5 synthetic flows
// with the censor lab's classifier; tests/netlab):
//   Skype_Teams  size >= 16 and byte 2 == 0x02            (skype.c, first 4 packets)
//   Viber        byte 3 == 0x00 and (byte 2 == 0x03,
//                or bytes 2..5 == 01 00 05 00,
//                or size 20 and byte 2 == 0x09,
//                or size 34 and byte 2 in {0x19, 0x1b})   (viber.c, first packet)
//   OpenVPN      size 80 and byte 0 & 0xF8 == 0x58         (openvpn.c, first packet)
//   MPEG_TS      size a multiple of 188 and byte 0 == 0x47 (mpegts.c)
// RTP/RTCP, STUN, DTLS, WireGuard, QUIC long headers and MTProto are excluded by the
// first byte's fixed bits 01 (see relay_framing.h), not here. Pure; any thread.
// About 1 in 250 uniformly random datagrams matches (Skype's rule dominates).
bool MatchesClassifierSignature(std::span<const uint8_t> leading, std::size_t datagram_size);

// The same for a whole datagram.
inline bool MatchesClassifierSignature(std::span<const uint8_t> datagram) {
  return MatchesClassifierSignature(datagram, datagram.size());
}

}  // namespace parley::crypto
