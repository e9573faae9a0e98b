// Sealing and opening (docs/protocol.md "Sealed packet", "Padding", "Replay",
// "Ratchet"): sizes, tampering, replays, reordering, epochs.
import { beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../src/protocol/bytes';
import type { DirectionKeys } from '../src/protocol/crypto/call_keys';
import { PacketOpener } from '../src/protocol/crypto/packet_opener';
import { PacketSealer } from '../src/protocol/crypto/packet_sealer';
import { PADDING_BUCKETS, parsePaddingPolicy, sealedSize } from '../src/protocol/crypto/padding_policy';
import { ReplayWindow } from '../src/protocol/crypto/replay_window';
import { matchesClassifierSignature } from '../src/protocol/crypto/wire_shape';
import { loadSodium } from '../src/protocol/sodium';

beforeAll(async () => {
  await loadSodium();
});

const keys: DirectionKeys = { chainKey: new Uint8Array(32).fill(1), headerKey: new Uint8Array(32).fill(2) };

describe('padding', () => {
  it('picks the smallest bucket, or the constant size, or the bare marker', () => {
    expect(sealedSize({ mode: 'buckets' }, 0)).toBe(64);
    expect(sealedSize({ mode: 'buckets' }, 39)).toBe(64);
    expect(sealedSize({ mode: 'buckets' }, 40)).toBe(96);
    expect(sealedSize({ mode: 'buckets' }, 1175)).toBe(1200);
    expect(() => sealedSize({ mode: 'buckets' }, 1176)).toThrow(/exceeds the maximum of 1175/);
    expect(sealedSize(parsePaddingPolicy('constant:256'), 231)).toBe(256);
    expect(() => sealedSize(parsePaddingPolicy('constant:256'), 232)).toThrow(/does not fit the constant size 256/);
    expect(sealedSize(parsePaddingPolicy('off'), 10)).toBe(35);
    expect(() => parsePaddingPolicy('constant:24')).toThrow(/between 25 and 1200/);
    expect(() => parsePaddingPolicy('big')).toThrow(/"off", "buckets" or "constant:SIZE"/);
  });

  it('every sealed packet has a bucket size', () => {
    const sealer = new PacketSealer(keys, 0);
    for (let n = 0; n <= 1175; n += 13) expect(PADDING_BUCKETS).toContain(sealer.seal(new Uint8Array(n), 0).length);
  });
});

describe('PacketSealer and PacketOpener', () => {
  it('open what was sealed, in any order within the window, each once', () => {
    const sealer = new PacketSealer(keys, 0);
    const opener = new PacketOpener(keys);
    const packets = Array.from({ length: 50 }, (_, i) => sealer.seal(utf8(`p${i}`), i * 20));
    const order = [...packets.keys()].reverse();
    for (const i of order) expect(new TextDecoder().decode(opener.open(packets[i]!).content)).toBe(`p${i}`);
    expect(() => opener.open(packets[3]!)).toThrow('replayed packet');
  });

  it('drop tampered, truncated and foreign packets without moving the window', () => {
    const sealer = new PacketSealer(keys, 0);
    const opener = new PacketOpener(keys);
    const packet = sealer.seal(utf8('hello'), 0);
    for (let i = 0; i < packet.length; i += 7) {
      const bad = Uint8Array.from(packet);
      bad[i]! ^= 0x01;
      expect(() => opener.open(bad)).toThrow();
    }
    expect(() => opener.open(packet.subarray(0, 24))).toThrow(/outside 25..1200/);
    expect(packet[0]! & 0xc0).toBe(0x40); // never 0x80/0xA0, which nDPI takes for RTP
    for (const bits of [0x00, 0x80, 0xc0]) {
      const altered = Uint8Array.from(packet);
      altered[0] = bits | (altered[0]! & 0x3f);
      expect(() => opener.open(altered)).toThrow('sealed packet does not start with the bits 01');
    }
    const other = new PacketSealer({ ...keys, chainKey: new Uint8Array(32).fill(3) }, 0).seal(utf8('hello'), 0);
    expect(() => opener.open(other)).toThrow('packet failed authentication');
    expect(opener.replayWindow.empty).toBe(true);
    expect(opener.open(packet).counter).toBe(0n);
  });

  it('refuse packets older than the replay window', () => {
    const sealer = new PacketSealer(keys, 0);
    const opener = new PacketOpener(keys);
    const first = sealer.seal(utf8('old'), 0);
    let last = first;
    for (let i = 0; i < 1024; ++i) last = sealer.seal(utf8('x'), 0);
    opener.open(last);
    expect(() => opener.open(first)).toThrow('packet older than the replay window');
  });

  it('ratchet by count and by time; the receiver follows and forgets old epochs', () => {
    const schedule = { counterBits: 3, maxEpochAgeMs: 1000 };
    const sealer = new PacketSealer(keys, 0, { mode: 'buckets' }, schedule);
    const opener = new PacketOpener(keys, schedule);
    for (let i = 0; i < 9; ++i) opener.open(sealer.seal(utf8('a'), 0));
    expect(sealer.epoch).toBe(1n);
    expect(opener.epoch).toBe(1n);
    const byTime = sealer.seal(utf8('b'), 1000);
    expect(sealer.nextCounter).toBe(17n); // jumped to epoch 2's first counter, 16
    expect(opener.open(byTime).counter).toBe(16n);
    expect(opener.holdsPreviousEpoch).toBe(true);
    // Four epochs ahead is too far.
    const far = new PacketSealer(keys, 0, { mode: 'buckets' }, schedule);
    for (let i = 0; i < 5 * 8; ++i) far.seal(utf8('c'), 0);
    expect(() => new PacketOpener(keys, schedule).open(far.seal(utf8('d'), 0))).toThrow(/too far ahead/);
  });
});

describe('ReplayWindow', () => {
  it('accepts each counter once within 1024 of the highest', () => {
    const w = new ReplayWindow();
    expect(w.check(5n)).toBe('new');
    w.commit(5n);
    expect(w.check(5n)).toBe('duplicate');
    w.commit(2000n);
    expect(w.check(5n)).toBe('too_old');
    expect(w.check(977n)).toBe('new');
    expect(w.check(976n)).toBe('too_old');
    w.commit(1999n);
    expect(w.check(1999n)).toBe('duplicate');
    expect(() => w.commit(1999n)).toThrow();
    w.commit(100000n);
    expect(w.check(2000n)).toBe('too_old');
    expect(w.check(99999n)).toBe('new');
  });
});

describe('wire shape', () => {
  it('fires on each nDPI 4.2 signature and not on near misses', () => {
    const d = (size: number, ...lead: number[]): Uint8Array => {
      const out = new Uint8Array(size).fill(0x11);
      out.set(lead);
      return out;
    };
    expect(matchesClassifierSignature(d(64, 0x41, 0x11, 0x02))).toBe(true);
    expect(matchesClassifierSignature(d(15, 0x41, 0x11, 0x02))).toBe(false);
    expect(matchesClassifierSignature(d(192, 0x41, 0x11, 0x03, 0x00))).toBe(true);
    expect(matchesClassifierSignature(d(192, 0x41, 0x11, 0x03, 0x01))).toBe(false);
    expect(matchesClassifierSignature(d(96, 0x41, 0x11, 0x01, 0x00, 0x05, 0x00))).toBe(true);
    expect(matchesClassifierSignature(d(20, 0x41, 0x11, 0x09, 0x00))).toBe(true);
    expect(matchesClassifierSignature(d(21, 0x41, 0x11, 0x09, 0x00))).toBe(false);
    expect(matchesClassifierSignature(d(34, 0x41, 0x11, 0x1b, 0x00))).toBe(true);
    expect(matchesClassifierSignature(d(80, 0x5d))).toBe(true);
    expect(matchesClassifierSignature(d(80, 0x60))).toBe(false);
    expect(matchesClassifierSignature(d(376, 0x47))).toBe(true);
    expect(matchesClassifierSignature(d(377, 0x47))).toBe(false);
    expect(matchesClassifierSignature(d(64, 0x41), 64)).toBe(false);
  });

  it('no sealed packet matches, all open, counters skip only where a packet was sealed again', () => {
    const sealer = new PacketSealer(keys, 0);
    const opener = new PacketOpener(keys);
    const count = 3000;
    for (let i = 0; i < count; ++i) {
      const packet = sealer.seal(utf8(`packet ${i}`), 0);
      expect(matchesClassifierSignature(packet)).toBe(false);
      expect(new TextDecoder().decode(opener.open(packet).content)).toBe(`packet ${i}`);
    }
    expect(sealer.nextCounter).toBe(BigInt(count + sealer.signatureRedraws));
    expect(sealer.signatureRedraws).toBeGreaterThan(0);
  });
});
