// Where fresh secret keys come from: the browser's CSPRNG in production, a seed in
// tests and vectors (byte-compatible with the native SeededKeySource).
import { type Bytes, u64be } from '../bytes';
import { sodium } from '../sodium';

export interface KeySource {
  // `length` fresh secret bytes.
  fill(length: number): Bytes;
}

// libsodium's randombytes_buf (crypto.getRandomValues in a browser).
export class SystemKeySource implements KeySource {
  fill(length: number): Bytes {
    return sodium().randombytes_buf(length);
  }
}

// Tests and vectors ONLY: anyone who knows the seed knows every key. The n-th fill
// returns randombytes_buf_deterministic(length, BLAKE2b-256(key = seed, message =
// u64be(n))), exactly as crypto/key_source.cc does.
export class SeededKeySource implements KeySource {
  private readonly seed: Bytes;
  private calls = 0n;

  constructor(seed: Bytes | bigint) {
    this.seed = typeof seed === 'bigint' ? new Uint8Array(32) : Uint8Array.from(seed);
    if (typeof seed === 'bigint') this.seed.set(u64be(seed));
    if (this.seed.length !== 32) throw new Error('a key source seed is 32 bytes');
  }

  fill(length: number): Bytes {
    const s = sodium();
    const callSeed = s.crypto_generichash(32, u64be(this.calls++), this.seed);
    return s.randombytes_buf_deterministic(length, callSeed);
  }
}
