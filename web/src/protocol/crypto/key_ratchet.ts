// One direction's chain of epoch keys: epoch e's AEAD key and nonce prefix come from
// chain key e, which is then replaced by chain key e+1. docs/protocol.md, "Ratchet".
import type { Bytes } from '../bytes';
import { kdf } from './domain_hash';

const CONTEXT = 'ParleyRK';

// When epochs change: epoch = counter >> counterBits (a protocol constant, 20; tests
// use smaller values); a sender also moves on when an epoch is maxEpochAgeMs old.
export interface RatchetSchedule {
  counterBits: number;
  maxEpochAgeMs: number;
}
export const DEFAULT_SCHEDULE: RatchetSchedule = { counterBits: 20, maxEpochAgeMs: 10 * 60 * 1000 };

export interface EpochKeys {
  aeadKey: Bytes; // 32, XChaCha20-Poly1305
  noncePrefix: Bytes; // 16; the u64be counter follows
}

// Copyable (clone()) so a receiver can advance a copy speculatively.
export class KeyRatchet {
  private epochValue = 0n;
  private current!: EpochKeys;
  private nextChainKey: Bytes;

  // `chainKey` is chain key 0; epoch 0 becomes current.
  constructor(chainKey: Bytes) {
    this.nextChainKey = Uint8Array.from(chainKey);
    this.deriveCurrent();
  }

  get epoch(): bigint {
    return this.epochValue;
  }
  get keys(): EpochKeys {
    return this.current;
  }

  clone(): KeyRatchet {
    const copy = Object.create(KeyRatchet.prototype) as KeyRatchet;
    copy.epochValue = this.epochValue;
    copy.current = { aeadKey: Uint8Array.from(this.current.aeadKey), noncePrefix: Uint8Array.from(this.current.noncePrefix) };
    copy.nextChainKey = Uint8Array.from(this.nextChainKey);
    return copy;
  }

  // Forward to `epoch` (>= this.epoch), one KDF step per epoch, wiping as it goes.
  advanceTo(epoch: bigint): void {
    if (epoch < this.epochValue) throw new Error('a key ratchet never moves backwards');
    while (this.epochValue < epoch) {
      ++this.epochValue;
      this.current.aeadKey.fill(0);
      this.current.noncePrefix.fill(0);
      this.deriveCurrent();
    }
  }

  private deriveCurrent(): void {
    const chainKey = this.nextChainKey;
    this.current = { aeadKey: kdf(chainKey, 1, CONTEXT, 32), noncePrefix: kdf(chainKey, 2, CONTEXT, 16) };
    this.nextChainKey = kdf(chainKey, 0, CONTEXT, 32);
    chainKey.fill(0);
  }
}
