// The per-call fingerprint both people compare: 5 emoji or the same 5 symbols as
// words, 40 bits. docs/protocol.md, "Fingerprint and safety number".
import type { Bytes } from '../bytes';
import { FINGERPRINT_TABLE } from './fingerprint_table';

export const FINGERPRINT_SYMBOLS = 5;

export class Fingerprint {
  private constructor(readonly indices: readonly number[]) {}

  // Symbol i is table entry fingerprintSecret[i].
  static fromSecret(fingerprintSecret: Bytes): Fingerprint {
    if (fingerprintSecret.length < FINGERPRINT_SYMBOLS) throw new Error('fingerprint secret too short');
    return new Fingerprint(Array.from(fingerprintSecret.subarray(0, FINGERPRINT_SYMBOLS)));
  }

  // "🌹 🚠 ⌚ 🐯 🥦"
  emoji(): string {
    return this.indices.map((i) => FINGERPRINT_TABLE[i]![0]).join(' ');
  }

  // "rose gondola watch tiger broccoli"
  words(): string {
    return this.indices.map((i) => FINGERPRINT_TABLE[i]![1]).join(' ');
  }

  equals(other: Fingerprint): boolean {
    return this.indices.every((v, i) => other.indices[i] === v);
  }
}
