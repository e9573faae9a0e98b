// Two CallMediaCores (caller and callee keys) talking through a simulated link: frames
// arrive in order to decode, copies fill lost frames once loss is reported, reports
// give the RTT and the loss, probes get replies.
import { beforeAll, describe, expect, it } from 'vitest';
import { CallPackets } from '../src/protocol/call/call_packets';
import { QUALITY_REPORT_TYPE, parseQualityReport } from '../src/protocol/call/control_message';
import { deriveCallKeys } from '../src/protocol/crypto/call_keys';
import { loadSodium } from '../src/protocol/sodium';
import { CallMediaCore } from '../src/media/call_media_core';
import { fakeOpus } from './support/fake_opus';

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

const opus = (i: number): Uint8Array => fakeOpus(20, 40 + (i % 7), i);

describe('CallMediaCore', () => {
  it('notices the peer\'s bye, sealed like any control message', () => {
    const { caller, callee } = pair();
    expect(callee.onSealed(caller.sealFrame(opus(0), 0).at(-1)!, 30).authentic).toBe(true);
    expect(callee.peerSaidBye).toBe(false);
    const arrived = callee.onSealed(caller.sealBye(40), 70);
    expect(arrived).toMatchObject({ authentic: true, decode: [] });
    expect(callee.peerSaidBye).toBe(true);
    expect(caller.peerSaidBye).toBe(false);
  });

  it('delivers every frame once, in order, across the timestamp and sequence wrap', () => {
    const { caller, callee } = pair();
    const got: number[] = [];
    for (let i = 0; i < 10; ++i) {
      const arrived = callee.onSealed(caller.sealFrame(opus(i), i * 20).at(-1)!, i * 20 + 30);
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
      const media = sealed.pop()!; // the media packet comes last, after a report that was due
      for (const report of sealed) inFlight.push({ at: now + delay, to: 'callee', bytes: report });
      if (dropped) ++lost;
      else inFlight.push({ at: now + delay, to: 'callee', bytes: media });
      for (const [core, to] of [[caller, 'callee'], [callee, 'caller']] as const) {
        for (const report of core.tick(now)) inFlight.push({ at: now + delay, to, bytes: report });
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

  it('sends a quality report before each receiver report, as native does, with what arrived', () => {
    const prk = new Uint8Array(32).fill(9);
    const caller = new CallMediaCore(deriveCallKeys(prk, 'caller'), 0);
    const callee = new CallMediaCore(deriveCallKeys(prk, 'callee'), 0);
    // The callee's reports, read as a native caller reads them.
    const native = new CallPackets(deriveCallKeys(prk, 'caller'), 0);
    const reports: { at: number; kind: string; quality?: ReturnType<typeof parseQualityReport> }[] = [];
    callee.noteJitterBufferMs(60);
    for (let now = 0; now <= 8000; now += 20) {
      const frame = Math.round(now / 20);
      const sealed = caller.sealFrame(opus(frame), now).at(-1)!;
      // 40 ms one way; from 4 s a queue builds: each packet 4 ms later than the one before
      // (up to 200 ms), and every 20th packet is lost throughout.
      const queue = now < 4000 ? 0 : Math.min(200, (now - 4000) / 5);
      if (frame % 20 !== 7) callee.onSealed(sealed, now + 40 + queue);
      for (const packet of callee.tick(now + 40 + queue)) {
        const arrival = native.open(packet);
        if (arrival.kind === 'control' && arrival.content[0] === QUALITY_REPORT_TYPE) {
          reports.push({ at: now, kind: 'quality', quality: parseQualityReport(arrival.content) });
        } else {
          reports.push({ at: now, kind: arrival.kind });
        }
      }
    }
    // Quality first; a receiver report always after one (in queue trouble not after each).
    expect(reports[0]!.kind).toBe('quality');
    for (let i = 1; i < reports.length; ++i) {
      if (reports[i]!.kind === 'report') expect(reports[i - 1]!.kind).toBe('quality');
    }
    const quality = reports.filter((r) => r.kind === 'quality').map((r) => r.quality!);
    const calm = quality[0]!; // the first second
    expect(calm.dataSaving).toBe(false);
    expect(calm.lossBeforeRecovery).toBeGreaterThan(300); // 1 in 20 = 500 in 1/10000
    expect(calm.lossBeforeRecovery).toBeLessThan(700);
    expect(calm.lossAfterRecovery).toBe(calm.lossBeforeRecovery); // no copies asked for yet
    expect(calm.jitterBufferMs).toBe(60);
    expect(calm.queueDelayMs).toBeLessThan(5);
    expect(calm.jitterMs).toBeLessThan(5);
    // Sealed bytes: 50 packets a second, less the lost one, of 64-96 bytes.
    expect(calm.receivedBps).toBeGreaterThan(49 * 64 * 8 * 0.9);
    expect(calm.receivedBps).toBeLessThan(50 * 96 * 8 * 1.1);
    // This callee sends no media, so its tick sends each report a frame after it was due.
    expect(calm.intervalMs).toBe(1020);
    // Loss of 5 % is trouble: the next report comes after 250 ms.
    expect(quality[1]!.intervalMs).toBeGreaterThanOrEqual(250);
    expect(quality[1]!.intervalMs).toBeLessThanOrEqual(290); // on 20 ms ticks, a frame late
    // The queue shows while it builds (later the 10-interval minimum takes it as the
    // path's delay, as native does).
    expect(Math.max(...quality.map((q) => q.queueDelayMs))).toBeGreaterThan(100);
    expect(Math.max(...quality.map((q) => q.jitterMs))).toBeGreaterThan(2);
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

  it('acts on the peer\'s quality reports: a queue that builds lowers the budget and the Opus bitrate it sends', () => {
    const { caller, callee } = pair();
    const start = caller.sender;
    expect(start.opusBitrateBps).toBeGreaterThan(20000);
    let changed = 0;
    for (let now = 0; now <= 8000; now += 20) {
      const frame = Math.round(now / 20);
      // 40 ms one way; from 3 s a queue builds (each packet 4 ms later than the one before).
      const queue = now < 3000 ? 0 : Math.min(200, (now - 3000) / 5);
      for (const sealed of caller.sealFrame(opus(frame), now)) callee.onSealed(sealed, now + 40 + queue);
      for (const report of callee.tick(now + 40 + queue)) caller.onSealed(report, now + 80 + queue);
      caller.tick(now);
      if (caller.takeSenderChange()) ++changed;
    }
    expect(caller.figures.qualityReportsReceived).toBeGreaterThan(5);
    expect(changed).toBeGreaterThan(0);
    expect(caller.figures.targetWireKbps).toBeLessThan(0.9 * 64);
    expect(caller.sender.opusBitrateBps).toBeLessThan(start.opusBitrateBps);
  });
});
