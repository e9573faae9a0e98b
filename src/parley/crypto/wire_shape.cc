// The wire-shape predicate: nDPI 4.2's UDP rules that random 01xxxxxx bytes can match.
#include "parley/crypto/wire_shape.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::crypto {

bool MatchesClassifierSignature(std::span<const uint8_t> leading, std::size_t datagram_size) {
  PARLEY_CHECK_MSG(leading.size() >= std::min(kWireShapeLeadingBytes, datagram_size),
                   "the wire-shape predicate needs the datagram's leading bytes");
  const auto byte = [&](std::size_t i) -> int { return i < datagram_size ? leading[i] : -1; };

  // nDPI skype.c: any of a UDP flow's first 4 packets with >= 16 bytes, byte 0 != 0x30
  // and byte 2 == 0x02 names the flow Skype_Teams.
  if (datagram_size >= 16 && byte(2) == 0x02) return true;

  // nDPI viber.c: the first packet of more than 5 bytes.
  if (datagram_size > 5 && byte(3) == 0x00) {
    const int b2 = byte(2);
    if (b2 == 0x03) return true;
    if (b2 == 0x01 && byte(4) == 0x05 && byte(5) == 0x00) return true;
    if (datagram_size == 20 && b2 == 0x09) return true;
    if (datagram_size == 34 && (b2 == 0x19 || b2 == 0x1b)) return true;
  }

  // nDPI openvpn.c: a first packet of 80 bytes with opcode 0x58 (byte 0 & 0xF8); its
  // other opcodes (0xA0, 0xA8, 0xB8, 0xC0, 0xC8) cannot start a 01xxxxxx datagram.
  if (datagram_size == 80 && (byte(0) & 0xF8) == 0x58) return true;

  // nDPI mpegts.c: every 188-byte cell starts with the sync byte 0x47; the first cell
  // is enough to avoid.
  if (datagram_size > 0 && datagram_size % 188 == 0 && byte(0) == 0x47) return true;

  return false;
}

}  // namespace parley::crypto
