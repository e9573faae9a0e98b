// The three key-agreement messages (commit, accept, reveal): binary layout and strict
// parser. docs/protocol.md, "Key agreement messages".
import { type Bytes, concat } from '../bytes';

export const HANDSHAKE_VERSION = 1;
export enum HandshakeType {
  Commit = 1, // caller -> callee: identity key, commitment to the ephemeral key
  Accept = 2, // callee -> caller: identity key, ephemeral key
  Reveal = 3, // caller -> callee: ephemeral key
}
export const COMMIT_SIZE = 146;
export const ACCEPT_SIZE = 146;
export const REVEAL_SIZE = 114;
export const SIGNATURE_SIZE = 64;

export interface HandshakeMessage {
  type: HandshakeType;
  callId: Bytes; // 16
  identity: Bytes; // 32; commit and accept only (zero-length in reveal)
  key: Bytes; // 32: commitment (commit), callee's X25519 key (accept), caller's (reveal)
  signature: Bytes; // 64
}

function sizeOf(type: HandshakeType): number {
  return type === HandshakeType.Reveal ? REVEAL_SIZE : COMMIT_SIZE;
}

export function serializeHandshakeMessage(m: HandshakeMessage): Bytes {
  const hasIdentity = m.type !== HandshakeType.Reveal;
  const out = concat(Uint8Array.of(HANDSHAKE_VERSION, m.type), m.callId, hasIdentity ? m.identity : new Uint8Array(0),
    m.key, m.signature);
  if (out.length !== sizeOf(m.type)) throw new Error('handshake message fields have the wrong sizes');
  return out;
}

// Structure only (version, type, exact length); KeyAgreement checks the rest.
export function parseHandshakeMessage(bytes: Bytes): HandshakeMessage {
  if (bytes.length < 2) throw new Error(`handshake message too short (${bytes.length} bytes)`);
  if (bytes[0] !== HANDSHAKE_VERSION) {
    throw new Error(`handshake message has version ${bytes[0]}, this Parley speaks ${HANDSHAKE_VERSION}; the peer may need to update`);
  }
  const type = bytes[1]!;
  if (type < 1 || type > 3) throw new Error(`unknown handshake message type ${type}`);
  if (bytes.length !== sizeOf(type)) {
    throw new Error(`handshake message of type ${type} must be ${sizeOf(type)} bytes, got ${bytes.length}`);
  }
  const hasIdentity = type !== HandshakeType.Reveal;
  const keyAt = hasIdentity ? 50 : 18;
  return {
    type,
    callId: bytes.slice(2, 18),
    identity: hasIdentity ? bytes.slice(18, 50) : new Uint8Array(0),
    key: bytes.slice(keyAt, keyAt + 32),
    signature: bytes.slice(keyAt + 32, keyAt + 96),
  };
}

// What a message's signature covers: its encoding without the last 64 bytes.
export function signedPrefix(encoded: Bytes): Bytes {
  return encoded.subarray(0, encoded.length - SIGNATURE_SIZE);
}
