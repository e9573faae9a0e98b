// Two CallMediaCores (caller and callee keys) talking through a simulated link: frames
// arrive in order to decode, copies fill lost frames once loss is reported, reports
// give the RTT and the loss, probes get replies.
import { beforeAll, describe, expect, it } from 'vitest';
import { CallPackets } from '../src/protocol/call/call_packets';
import { deriveCallKeys } from '../src/protocol/crypto/call_keys';
import { loadSodium } from '../src/protocol/sodium';
import { CallMediaCore } from '../src/media/call_media_core';

beforeAll(async () => {
  await loadSodium();
});

function pair(): { caller: CallMediaCore; callee: CallMediaCore } {
  const prk = new Uint8Array(32).fill(9);
  return {
    caller: new CallMediaCore(deriveCallKeys(prk, 'caller'), 0, { firstTimestamp: 2 ** 32 - 960 * 3, firstSequence: 65534 }),
    callee: new CallMediaCore(deriveCallKeys(prk, 'callee'), 0),
  };
}

const opus = (i: number): Uint8Array => Uint8Array.from({ length: 40 + (i % 7) }, (_, k) => (i + k) & 0xff);

describe('CallMediaCore', () => {
  it('delivers every frame once, in order, across the timestamp and sequence wrap', () => {
    const { caller, callee } = pair();
    const got: number[] = [];
    for (let i = 0; i < 10; ++i) {
      const arrived = callee.onSealed(caller.sealFrame(opus(i), i * 20), i * 20 + 30);
      expect(arrived.authentic).toBe(true);
      for (const f of arrived.decode) {
        got.push(f.timestamp);
        expect(Array.from(f.payload)).toEqual(Array.from(opus(got.length - 1)));
      }
    }
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => (2 ** 32 - 960 * 3 + 960 * i) >>> 0));
    expect(callee.figures.mediaPacketsReceived).toBe(10);
  });

  it('reports loss and RTT both ways, and protects with copies that recover lost frames', () => {
    const { caller, callee } = pair();
    const delay = 40; // one way, ms
    let decoded = 0;
    let lost = 0;
    const inFlight: { at: number; to: 'caller' | 'callee'; bytes: Uint8Array }[] = [];
    for (let now = 0; now <= 12000; now += 20) {
      const frame = Math.round(now / 20);
      const dropped = frame % 10 === 3; // 10% loss on the caller's media
      const sealed = caller.sealFrame(opus(frame), now);
      if (dropped) ++lost;
      else inFlight.push({ at: now + delay, to: 'callee', bytes: sealed });
      for (const [core, to] of [[caller, 'callee'], [callee, 'caller']] as const) {
        const report = core.tick(now);
        if (report) inFlight.push({ at: now + delay, to, bytes: report });
      }
      for (const p of inFlight.filter((x) => x.at <= now)) {
        const arrived = (p.to === 'callee' ? callee : caller).onSealed(p.bytes, now);
        if (p.to === 'callee') decoded += arrived.decode.length;
      }
      inFlight.splice(0, inFlight.length, ...inFlight.filter((x) => x.at > now));
    }
    expect(callee.figures.receiveLossFraction).toBeCloseTo(0.1, 1);
    expect(caller.figures.sendLossFraction).toBeCloseTo(0.1, 1);
    expect(caller.protection.redundantDistances).toEqual([1, 2]);
    expect(callee.figures.framesRecovered).toBeGreaterThan(lost / 2);
    expect(decoded).toBeGreaterThan(600 - 2 * 4); // all but the losses before protection began
    // RTT = 2 x 40 ms, measured on 20 ms ticks.
    expect(caller.figures.rttMs).toBeGreaterThanOrEqual(80);
    expect(caller.figures.rttMs).toBeLessThanOrEqual(100);
    expect(callee.figures.rttMs).toBeGreaterThanOrEqual(80);
    expect(caller.figures.sendKbps).toBeGreaterThan(20);
  });

  it('answers a probe at once and refuses what does not open', () => {
    const prk = new Uint8Array(32).fill(9);
    const core = new CallMediaCore(deriveCallKeys(prk, 'callee'), 0);
    const peer = new CallPackets(deriveCallKeys(prk, 'caller'), 0);
    const arrived = core.onSealed(peer.sealProbe({ path: 2, sequence: 7, sentMs: 1234 }, 5), 10);
    expect(arrived.reply).toBeDefined();
    const reply = peer.open(arrived.reply!);
    expect(reply).toMatchObject({ kind: 'probe_reply', reply: { path: 2, sequence: 7, echoMs: 1234 } });
    const junk = new Uint8Array(64).fill(0x41);
    expect(core.onSealed(junk, 20).authentic).toBe(false);
    expect(core.figures.packetsRefused).toBe(1);
  });
});
