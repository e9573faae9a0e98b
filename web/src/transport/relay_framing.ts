// The relay's obfuscated framing in TypeScript: binds to the relay, acks from it, the
// keys they use; byte for byte the native src/parley/net/relay_framing.cc.
// docs/protocol.md, "Relay (obfuscated UDP)".
import type { Bytes } from '../protocol/bytes';
import { MAX_SEALED_SIZE, MIN_SEALED_SIZE, PADDING_BUCKETS } from '../protocol/crypto/padding_policy';
import { matchesClassifierSignature } from '../protocol/crypto/wire_shape';
import { sodium } from '../protocol/sodium';

export const RELAY_NONCE_SIZE = 24;
export const RELAY_MARK_SIZE = 8;
export const RELAY_TICKET_SIZE = 73;
export const RELAY_TAG_SIZE = 16;
export const RELAY_KEY_SIZE = 32;
// Bind plaintext before the sealed packet: u64be(elapsed_ms) || u16be(sealed length).
export const RELAY_BIND_HEADER_SIZE = 10;
export const RELAY_BIND_OVERHEAD =
  RELAY_NONCE_SIZE + RELAY_MARK_SIZE + RELAY_TICKET_SIZE + RELAY_TAG_SIZE + RELAY_BIND_HEADER_SIZE; // 131
// Ack plaintext: u64be(elapsed_ms) || family (4 or 6) || address (16) || u16be(port).
export const RELAY_ACK_CONTENT_SIZE = 8 + 1 + 16 + 2;
export const RELAY_ACK_MIN_SIZE = RELAY_NONCE_SIZE + RELAY_ACK_CONTENT_SIZE + RELAY_TAG_SIZE; // 67
export const MAX_RELAY_DATAGRAM_SIZE = MAX_SEALED_SIZE; // 1200
export const MAX_SEALED_IN_BIND = MAX_RELAY_DATAGRAM_SIZE - RELAY_BIND_OVERHEAD; // 1069

const BIND_KDF_CONTEXT = 'PRLYBIND';
const MARK_KEY_ID = 1; // never reuse or renumber
const MASK_KEY_ID = 2;
const ACK_ASSOCIATED_DATA = new TextEncoder().encode('parley relay ack');
const MARK_OFFSET = RELAY_NONCE_SIZE;
const TICKET_OFFSET = MARK_OFFSET + RELAY_MARK_SIZE;
const BOX_OFFSET = TICKET_OFFSET + RELAY_TICKET_SIZE;
const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

// The two keys derived from the relay's bind key (the `relay` message's bind_key):
// the SipHash key of the mark and the XChaCha20 key that masks the ticket.
export interface RelayBindKeys {
  markKey: Bytes; // 16
  maskKey: Bytes; // 32
}

export function deriveRelayBindKeys(bindKey: Bytes): RelayBindKeys {
  if (bindKey.length !== RELAY_KEY_SIZE) throw new Error(`the relay bind key is ${bindKey.length} bytes, not 32`);
  const s = sodium();
  return {
    markKey: s.crypto_kdf_derive_from_key(16, MARK_KEY_ID, BIND_KDF_CONTEXT, bindKey),
    maskKey: s.crypto_kdf_derive_from_key(32, MASK_KEY_ID, BIND_KDF_CONTEXT, bindKey),
  };
}

// The wire size of a bind carrying `sealedSize` bytes (0: none): the smallest padding
// bucket that holds the overhead and the packet, or 0 if none does.
export function relayBindSize(sealedSize: number): number {
  const needed = RELAY_BIND_OVERHEAD + sealedSize;
  return PADDING_BUCKETS.find((b) => b >= needed) ?? 0;
}

function withFixedFirstByte(nonce: Bytes): Bytes {
  const out = Uint8Array.from(nonce);
  out[0] = 0x40 | (out[0]! & 0x3f);
  return out;
}

function writeU64be(out: Bytes, at: number, value: number): void {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(at, BigInt(value));
}

// A bind: nonce || SipHash mark || masked ticket || XChaCha20-Poly1305(hop_key, nonce,
// ad = ticket, u64be(elapsed_ms) || u16be(len) || sealed || zeros). `nonce` is 24
// random bytes (its first byte's top bits are replaced by 01). Throws on wrong sizes
// (programming errors: the session checks what it is given).
export function writeRelayBind(keys: RelayBindKeys, ticket: Bytes, hopKey: Bytes, nonce: Bytes, elapsedMs: number,
  sealed: Bytes): Bytes {
  if (ticket.length !== RELAY_TICKET_SIZE) throw new Error(`a relay ticket is ${RELAY_TICKET_SIZE} bytes, not ${ticket.length}`);
  if (hopKey.length !== RELAY_KEY_SIZE) throw new Error('a relay hop key is 32 bytes');
  if (nonce.length !== RELAY_NONCE_SIZE) throw new Error('a relay nonce is 24 bytes');
  if (sealed.length !== 0 && (sealed.length < MIN_SEALED_SIZE || sealed.length > MAX_SEALED_IN_BIND)) {
    throw new Error(`a bind carries no sealed packet or one of ${MIN_SEALED_SIZE}..${MAX_SEALED_IN_BIND} bytes, not ${sealed.length}`);
  }
  const s = sodium();
  const size = relayBindSize(sealed.length);
  const out = new Uint8Array(size);
  const n = withFixedFirstByte(nonce);
  out.set(n, 0);
  out.set(s.crypto_shorthash(n, keys.markKey), MARK_OFFSET);
  out.set(s.crypto_stream_xchacha20_xor(ticket, n, keys.maskKey), TICKET_OFFSET);
  const plain = new Uint8Array(size - BOX_OFFSET - RELAY_TAG_SIZE);
  writeU64be(plain, 0, elapsedMs);
  plain[8] = (sealed.length >> 8) & 0xff;
  plain[9] = sealed.length & 0xff;
  plain.set(sealed, RELAY_BIND_HEADER_SIZE);
  out.set(s.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ticket, null, n, hopKey), BOX_OFFSET);
  return out;
}

// What an ack says: which bind it answers (elapsed_ms) and the address the relay saw.
export interface RelayAck {
  elapsedMs: number;
  ip: Bytes; // 16: IPv6, or IPv4-mapped ::ffff:a.b.c.d
  port: number;
}

export function isIpv4Mapped(ip: Bytes): boolean {
  return V4_MAPPED_PREFIX.every((b, i) => ip[i] === b);
}

// "a.b.c.d:port" or "[v6]:port" (hex groups, not compressed), for statistics.
export function relayAckAddress(ack: RelayAck): string {
  if (isIpv4Mapped(ack.ip)) return `${Array.from(ack.ip.subarray(12)).join('.')}:${ack.port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ack.ip[i]! << 8) | ack.ip[i + 1]!).toString(16));
  return `[${groups.join(':')}]:${ack.port}`;
}

// Opens an ack; throws one sentence (wrong size, not authentic, bad family), as the
// native OpenRelayAck.
export function openRelayAck(hopKey: Bytes, datagram: Bytes): RelayAck {
  if (datagram.length < RELAY_ACK_MIN_SIZE || datagram.length > MAX_RELAY_DATAGRAM_SIZE) {
    throw new Error(`A relay ack is ${RELAY_ACK_MIN_SIZE} to ${MAX_RELAY_DATAGRAM_SIZE} bytes, not ${datagram.length}.`);
  }
  let plain: Bytes;
  try {
    plain = sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(null, datagram.subarray(RELAY_NONCE_SIZE),
      ACK_ASSOCIATED_DATA, datagram.subarray(0, RELAY_NONCE_SIZE), hopKey);
  } catch {
    throw new Error('The datagram is not a relay ack for this ticket.');
  }
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const elapsed = view.getBigUint64(0);
  const family = plain[8]!;
  const ip = plain.slice(9, 25);
  const port = view.getUint16(25);
  if ((family !== 4 && family !== 6) || (family === 4) !== isIpv4Mapped(ip)) {
    throw new Error(`The relay ack names address family ${family} that does not match its address; the relay is broken.`);
  }
  // elapsed_ms of binds this client made: far below 2^53.
  if (elapsed > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('The relay ack answers a bind this client never made.');
  return { elapsedMs: Number(elapsed), ip, port };
}

// Draws a bind nonce for a datagram of `datagramSize` bytes: 24 bytes from `draw`, the
// first byte's top bits 01, drawn again while the leading bytes would match the wire
// shape predicate (about 1 in 250 draws). Same draws as the native DrawRelayNonce.
export function drawRelayNonce(datagramSize: number, draw: (length: number) => Bytes): Bytes {
  for (let attempt = 0; attempt < 64; ++attempt) {
    const nonce = withFixedFirstByte(draw(RELAY_NONCE_SIZE));
    if (!matchesClassifierSignature(nonce, datagramSize)) return nonce;
  }
  throw new Error('the nonce source keeps returning bytes a DPI classifier would name');
}
