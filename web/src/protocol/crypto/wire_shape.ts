// Wire shape: leading bytes that would make a known DPI classifier (nDPI 4.2) name a
// UDP flow; every sealed packet that matches is sealed again. docs/protocol.md,
// "Sealed packet" ("Wire shape"); the native src/parley/crypto/wire_shape.h.
import type { Bytes } from '../bytes';

// True if a datagram of `datagramSize` bytes starting with `leading` (at least
// min(6, datagramSize) bytes) matches nDPI 4.2's Skype, Viber, OpenVPN or MPEG-TS rule.
export function matchesClassifierSignature(leading: Bytes, datagramSize: number = leading.length): boolean {
  if (leading.length < Math.min(6, datagramSize)) throw new Error('the wire-shape predicate needs the leading bytes');
  const byte = (i: number): number => (i < datagramSize ? leading[i]! : -1);
  // Skype_Teams: >= 16 bytes and byte 2 == 0x02.
  if (datagramSize >= 16 && byte(2) === 0x02) return true;
  // Viber: the first packet, > 5 bytes, byte 3 == 0x00 and one of byte 2's values.
  if (datagramSize > 5 && byte(3) === 0x00) {
    const b2 = byte(2);
    if (b2 === 0x03) return true;
    if (b2 === 0x01 && byte(4) === 0x05 && byte(5) === 0x00) return true;
    if (datagramSize === 20 && b2 === 0x09) return true;
    if (datagramSize === 34 && (b2 === 0x19 || b2 === 0x1b)) return true;
  }
  // OpenVPN: 80 bytes with opcode 0x58.
  if (datagramSize === 80 && (byte(0) & 0xf8) === 0x58) return true;
  // MPEG-TS: a multiple of 188 bytes starting with the sync byte 0x47.
  if (datagramSize > 0 && datagramSize % 188 === 0 && byte(0) === 0x47) return true;
  return false;
}
