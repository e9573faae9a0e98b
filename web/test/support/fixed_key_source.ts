// A KeySource that hands out exactly the bytes it was given, in order (as the native
// vectors_test.cc does), so fixed keys reproduce the documented vectors.
import type { KeySource } from '../../src/protocol/crypto/key_source';

export class FixedKeySource implements KeySource {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  fill(length: number): Uint8Array {
    if (this.at + length > this.bytes.length) throw new Error('fixed key source exhausted');
    const out = this.bytes.slice(this.at, this.at + length);
    this.at += length;
    return out;
  }
}

export function sequence(first: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (first + i) & 0xff);
}
