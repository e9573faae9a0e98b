// The keys of one call, from the X25519 secret and the handshake transcript.
// docs/protocol.md, "Key derivation".
import type { Bytes } from '../bytes';
import { sodium } from '../sodium';
import { kdf } from './domain_hash';
import { Fingerprint } from './fingerprint';

export type Role = 'caller' | 'callee';

// One direction of one stream: chain key 0 of its ratchet, and the key that masks
// packet counters.
export interface DirectionKeys {
  chainKey: Bytes; // 32
  headerKey: Bytes; // 32
}

export interface StreamKeys {
  send: DirectionKeys;
  receive: DirectionKeys;
}

export interface CallKeys {
  media: StreamKeys;
  control: StreamKeys; // in-call control messages: separate keys and counters
  fingerprint: Fingerprint;
}

const CONTEXT = 'ParleyCK';

// PRK = BLAKE2b-256(key = transcript_hash, message = shared_secret).
export function extractPrk(sharedSecret: Bytes, transcriptHash: Bytes): Bytes {
  return sodium().crypto_generichash(32, sharedSecret, transcriptHash);
}

// Subkey ids 1..9 of the table in docs/protocol.md; send/receive assigned by role.
export function deriveCallKeys(prk: Bytes, role: Role): CallKeys {
  const d = (id: number): Bytes => kdf(prk, id, CONTEXT, 32);
  const mediaAB = { chainKey: d(1), headerKey: d(5) };
  const mediaBA = { chainKey: d(2), headerKey: d(6) };
  const controlAB = { chainKey: d(3), headerKey: d(7) };
  const controlBA = { chainKey: d(4), headerKey: d(8) };
  const caller = role === 'caller';
  return {
    media: { send: caller ? mediaAB : mediaBA, receive: caller ? mediaBA : mediaAB },
    control: { send: caller ? controlAB : controlBA, receive: caller ? controlBA : controlAB },
    fingerprint: Fingerprint.fromSecret(d(9)),
  };
}
