// Seals outgoing media or control packets of one call direction: padding, counter,
// XChaCha20-Poly1305, counter masking, forward ratchet. docs/protocol.md, "Sealed
// packet", "Padding", "Ratchet".
import { type Bytes, concat, u64be } from '../bytes';
import { sodium } from '../sodium';
import type { DirectionKeys } from './call_keys';
import { HEADER_SAMPLE_SIZE, headerMask, packetNonce } from './header_protection';
import { DEFAULT_SCHEDULE, KeyRatchet, type RatchetSchedule } from './key_ratchet';
import {
  MAX_SEALED_SIZE, type PaddingPolicy, SEAL_OVERHEAD, SEALED_HEADER_SIZE, SEALED_TAG_SIZE, pad, sealedSize,
} from './padding_policy';
import { matchesClassifierSignature } from './wire_shape';

// Counters stay below 2^62: the top two counter bits carry the first byte's 01.
const COUNTER_LIMIT = 1n << 62n;

// Invariant: the counter only grows (across epochs too), so no key ever sees a nonce
// twice. `nowMs` is a monotonic clock in ms (performance.now()) and must not go back.
export class PacketSealer {
  private readonly ratchet: KeyRatchet;
  private readonly headerKey: Bytes;
  private nextCounterValue = 0n;
  private epochStartedMs: number;
  private signatureRedrawsValue = 0;

  constructor(keys: DirectionKeys, nowMs: number, readonly padding: PaddingPolicy = { mode: 'buckets' },
    private readonly schedule: RatchetSchedule = DEFAULT_SCHEDULE) {
    this.ratchet = new KeyRatchet(keys.chainKey);
    this.headerKey = Uint8Array.from(keys.headerKey);
    this.epochStartedMs = nowMs;
  }

  get nextCounter(): bigint {
    return this.nextCounterValue;
  }
  get epoch(): bigint {
    return this.ratchet.epoch;
  }
  // Packets sealed again because their leading bytes matched a classifier signature.
  get signatureRedraws(): number {
    return this.signatureRedrawsValue;
  }

  // Throws only if the content does not fit the padding policy (or the counter is
  // exhausted after 2^64 packets). A packet whose leading bytes would match a DPI
  // classifier's signature (wire_shape.ts) is sealed again under the next counter.
  // `minSealedSize` (0: none) pads to at least that size as the policy pads content of
  // that size (ignored where it cannot: constant): the bitrate controller's probes.
  seal(content: Bytes, nowMs: number, minSealedSize = 0): Bytes {
    let size = sealedSize(this.padding, content.length);
    if (minSealedSize > size) {
      try {
        size = Math.max(size, sealedSize(this.padding, Math.min(minSealedSize, MAX_SEALED_SIZE) - SEAL_OVERHEAD));
      } catch {
        // a constant size: keep it
      }
    }
    for (;;) {
      const packet = this.sealOnce(content, size, nowMs);
      if (!matchesClassifierSignature(packet)) return packet;
      ++this.signatureRedrawsValue;
    }
  }

  private sealOnce(content: Bytes, size: number, nowMs: number): Bytes {
    const bits = BigInt(this.schedule.counterBits);
    const inEpochMask = (1n << bits) - 1n;
    const lastEpoch = (COUNTER_LIMIT - 1n) >> bits;
    // By count when the counter enters the next epoch; by time by jumping the counter
    // to the next epoch's first value.
    if (this.nextCounterValue >> bits === this.ratchet.epoch && nowMs - this.epochStartedMs >= this.schedule.maxEpochAgeMs &&
      (this.nextCounterValue & inEpochMask) !== 0n) {
      if (this.ratchet.epoch === lastEpoch) throw new Error('packet counter exhausted; the call must start again');
      this.nextCounterValue = (this.ratchet.epoch + 1n) << bits;
    }
    if (this.nextCounterValue >> bits !== this.ratchet.epoch) {
      this.ratchet.advanceTo(this.nextCounterValue >> bits);
      this.epochStartedMs = nowMs;
    }
    if (this.nextCounterValue >= COUNTER_LIMIT) throw new Error('packet counter exhausted; the call must start again');
    const counter = this.nextCounterValue;

    const plaintext = pad(content, size - SEALED_HEADER_SIZE - SEALED_TAG_SIZE);
    const sealed = sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, null, null,
      packetNonce(this.ratchet.keys.noncePrefix, counter), this.ratchet.keys.aeadKey);
    plaintext.fill(0);
    const mask = headerMask(this.headerKey, sealed.subarray(0, HEADER_SAMPLE_SIZE));
    const header = u64be(counter);
    for (let i = 0; i < SEALED_HEADER_SIZE; ++i) header[i]! ^= mask[i]!;
    // First byte 01xxxxxx on the wire (docs/protocol.md, "Sealed packet"); counters stay below 2^62.
    header[0] = 0x40 | (header[0]! & 0x3f);
    ++this.nextCounterValue;
    return concat(header, sealed);
  }
}
