// Opens incoming sealed packets of one call direction: unmasks the counter, refuses
// replays before decrypting, authenticates, and only then moves the replay window and
// the ratchet. docs/protocol.md, "Sealed packet", "Replay", "Ratchet".
import { type Bytes, readU64be } from '../bytes';
import { sodium } from '../sodium';
import type { DirectionKeys } from './call_keys';
import { HEADER_SAMPLE_SIZE, headerMask, packetNonce } from './header_protection';
import { DEFAULT_SCHEDULE, KeyRatchet, type RatchetSchedule } from './key_ratchet';
import { MAX_SEALED_SIZE, MIN_SEALED_SIZE, SEALED_HEADER_SIZE, unpaddedSize } from './padding_policy';
import { ReplayWindow } from './replay_window';

export interface OpenedPacket {
  content: Bytes;
  counter: bigint;
}

// Invariant: a packet that does not authenticate changes nothing; each counter opens
// at most once; a past epoch's keys go once none of its counters fits the window.
export class PacketOpener {
  // Epochs a packet may be ahead of the newest authenticated one.
  static readonly MAX_EPOCH_SKIP = 3n;

  private readonly headerKey: Bytes;
  private current: KeyRatchet;
  private previous: KeyRatchet | undefined;
  readonly replayWindow = new ReplayWindow();

  constructor(keys: DirectionKeys, private readonly schedule: RatchetSchedule = DEFAULT_SCHEDULE) {
    this.headerKey = Uint8Array.from(keys.headerKey);
    this.current = new KeyRatchet(keys.chainKey);
  }

  get epoch(): bigint {
    return this.current.epoch;
  }
  get holdsPreviousEpoch(): boolean {
    return this.previous !== undefined;
  }

  // Throws (one sentence, no state change) for anything that does not open.
  open(packet: Bytes): OpenedPacket {
    if (packet.length < MIN_SEALED_SIZE || packet.length > MAX_SEALED_SIZE) {
      throw new Error(`sealed packet of ${packet.length} bytes is outside ${MIN_SEALED_SIZE}..${MAX_SEALED_SIZE}`);
    }
    // The first byte's top bits are 01 and not covered by the AEAD: refuse any other value.
    if ((packet[0]! & 0xc0) !== 0x40) throw new Error('sealed packet does not start with the bits 01');
    const ciphertext = packet.subarray(SEALED_HEADER_SIZE);
    const mask = headerMask(this.headerKey, ciphertext.subarray(0, HEADER_SAMPLE_SIZE));
    const header = packet.slice(0, SEALED_HEADER_SIZE);
    for (let i = 0; i < SEALED_HEADER_SIZE; ++i) header[i]! ^= mask[i]!;
    header[0]! &= 0x3f;  // the sender put 01 in the top two bits (always zero in the counter)
    const counter = readU64be(header);

    const verdict = this.replayWindow.check(counter);
    if (verdict === 'duplicate') throw new Error('replayed packet');
    if (verdict === 'too_old') throw new Error('packet older than the replay window');

    const bits = BigInt(this.schedule.counterBits);
    const epoch = counter >> bits;
    let keys: KeyRatchet;
    let nextPrevious: KeyRatchet | undefined;
    let nextCurrent: KeyRatchet | undefined;
    if (epoch === this.current.epoch) {
      keys = this.current;
    } else if (this.previous && epoch === this.previous.epoch) {
      keys = this.previous;
    } else if (epoch > this.current.epoch && epoch - this.current.epoch <= PacketOpener.MAX_EPOCH_SKIP) {
      nextPrevious = this.current.clone();
      nextPrevious.advanceTo(epoch - 1n);
      nextCurrent = nextPrevious.clone();
      nextCurrent.advanceTo(epoch);
      keys = nextCurrent;
    } else {
      throw new Error('packet from an epoch whose keys are gone or too far ahead');
    }

    let padded: Bytes;
    try {
      padded = sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, null,
        packetNonce(keys.keys.noncePrefix, counter), keys.keys.aeadKey);
    } catch {
      throw new Error('packet failed authentication');
    }
    let size: number;
    try {
      size = unpaddedSize(padded);
    } catch (e) {
      throw new Error(`authenticated packet has ${(e as Error).message}`);
    }

    // Authentic: now the state may change.
    this.replayWindow.commit(counter);
    if (nextCurrent) {
      this.previous = nextPrevious;
      this.current = nextCurrent;
    }
    if (this.previous) {
      const lastOfPrevious = (this.current.epoch << bits) - 1n;
      if (this.replayWindow.highest - lastOfPrevious >= ReplayWindow.SIZE) this.previous = undefined;
    }
    return { content: padded.slice(0, size), counter };
  }
}
