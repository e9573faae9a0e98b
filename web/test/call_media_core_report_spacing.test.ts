// When CallMediaCore's reports go out, as native's (call_media.cc): each right before a
// media packet, never two back to back, the receiver report before the media packet
// after the quality report's, only once a second while the browser sees a queue, and
// alone (a frame late) only when no media packet takes them.
import { beforeAll, describe, expect, it } from 'vitest';
import { CallPackets } from '../src/protocol/call/call_packets';
import { QUALITY_REPORT_TYPE } from '../src/protocol/call/control_message';
import { deriveCallKeys } from '../src/protocol/crypto/call_keys';
import { loadSodium } from '../src/protocol/sodium';
import { CallMediaCore } from '../src/media/call_media_core';

beforeAll(async () => {
  await loadSodium();
});

interface Out {
  at: number;
  kind: 'media' | 'quality' | 'report' | 'other';
  by: 'frame' | 'tick';
}

// 12 s of a browser sending 20 ms media (frames at 20k ms, its timer at 20k + 10 ms, as
// the page's capture and setInterval are independent) and receiving a native peer's
// 20 ms media: calm until 3 s, then a queue builds to 300 ms (each packet 4 ms later
// than the one before) and stays until 8 s; from 9.5 s to 11 s the browser is silent
// (DTX: no media packet). What the browser hands its socket, in order.
function run(): Out[] {
  const prk = new Uint8Array(32).fill(9);
  const browser = new CallMediaCore(deriveCallKeys(prk, 'callee'), 0);
  const native = new CallPackets(deriveCallKeys(prk, 'caller'), 0);
  const out: Out[] = [];
  const note = (packet: Uint8Array, at: number, by: Out['by']): void => {
    const arrival = native.open(packet);
    let kind: Out['kind'] = 'other';
    if (arrival.kind === 'media') kind = 'media';
    else if (arrival.kind === 'report') kind = 'report';
    else if (arrival.kind === 'control' && arrival.content[0] === QUALITY_REPORT_TYPE) kind = 'quality';
    out.push({ at, kind, by });
  };
  let sequence = 0;
  const inFlight: { at: number; sealed: Uint8Array }[] = [];
  for (let now = 0; now <= 12000; now += 10) {
    // The peer's packets, each arriving 40 ms after it was sent plus its queueing delay.
    while (inFlight.length > 0 && inFlight[0]!.at <= now) browser.onSealed(inFlight.shift()!.sealed, now);
    if (now % 20 === 0) {
      const queue = now < 3000 ? 0 : now < 8000 ? Math.min(300, (now - 3000) / 5) : 0;
      const primary = { timestamp: (now / 20) * 960, payload: Uint8Array.of(1, 2, 3, 4) };
      inFlight.push({ at: now + 40 + queue, sealed: native.sealMedia({ sequence: sequence++, primary, redundant: [] }, now) });
      const silent = now >= 9500 && now < 11000;
      if (!silent) {
        for (const packet of browser.sealFrame(Uint8Array.of(5, 6, 7, now & 0xff), now)) {
          note(packet, now, 'frame');
        }
      }
    } else {
      for (const packet of browser.tick(now)) note(packet, now, 'tick');
    }
  }
  return out;
}

describe('CallMediaCore report spacing', () => {
  let out: Out[] = [];
  let reports: Out[] = [];
  let talking: Out[] = [];
  beforeAll(() => {
    out = run();
    reports = out.filter((o) => o.kind !== 'media');
    talking = out.filter((o) => o.at < 9500 || o.at >= 11100);
  });

  it('sends each report right before a media packet while media flows, never two back to back', () => {
    expect(reports.length).toBeGreaterThan(20);
    for (let i = 0; i + 1 < talking.length; ++i) {
      if (talking[i]!.kind === 'media') continue;
      expect(talking[i]!.by).toBe('frame');
      expect(talking[i + 1]!.kind).toBe('media');
      expect(talking[i + 1]!.at).toBe(talking[i]!.at); // handed over together, report first
    }
    expect(out.some((o) => o.kind === 'other')).toBe(false);
  });

  it('sends the receiver report before the media packet after the quality report\'s', () => {
    const calm = out.filter((o) => o.at < 3000);
    const qualityAt = calm.map((o, i) => (o.kind === 'quality' ? i : -1)).filter((i) => i >= 0);
    expect(qualityAt.length).toBe(2); // at 1 s and 2 s
    for (const i of qualityAt) {
      expect(calm.slice(i, i + 4).map((o) => o.kind)).toEqual(['quality', 'media', 'report', 'media']);
    }
  });

  it('sends quality reports four times a second in queue trouble, the receiver report once a second', () => {
    const trouble = reports.filter((o) => o.at >= 4000 && o.at < 8000);
    const quality = trouble.filter((o) => o.kind === 'quality');
    const receiver = trouble.filter((o) => o.kind === 'report');
    expect(quality.length).toBeGreaterThanOrEqual(14); // every 250 ms (+ up to a frame)
    for (let i = 1; i < quality.length; ++i) {
      expect(quality[i]!.at - quality[i - 1]!.at).toBeGreaterThanOrEqual(250);
      expect(quality[i]!.at - quality[i - 1]!.at).toBeLessThanOrEqual(270);
    }
    expect(receiver.length).toBeGreaterThanOrEqual(3);
    expect(receiver.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < receiver.length; ++i) expect(receiver[i]!.at - receiver[i - 1]!.at).toBeGreaterThanOrEqual(950);
  });

  it('sends them alone, a frame after they were due, when no media packet comes (DTX)', () => {
    const silent = reports.filter((o) => o.at >= 9500 && o.at < 11000);
    expect(silent.length).toBeGreaterThanOrEqual(2); // a quality report, then the receiver report
    for (const r of silent) expect(r.by).toBe('tick');
    const quality = silent.find((o) => o.kind === 'quality')!;
    const receiver = silent.find((o) => o.kind === 'report')!;
    expect(receiver.at - quality.at).toBeGreaterThanOrEqual(20); // not back to back
    const before = reports.filter((o) => o.kind === 'quality' && o.at < quality.at).at(-1)!;
    expect(quality.at - before.at).toBeGreaterThanOrEqual(1020); // a 20 ms frame past due
    expect(quality.at - before.at).toBeLessThanOrEqual(1030);
  });
});
