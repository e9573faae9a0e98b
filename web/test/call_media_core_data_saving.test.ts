// CallMediaCore when its peer asks for data saving (as a native `parley --data-saving`
// does): 120 ms frames, and one control packet a second, the reports taking turns, the
// receiver report counting both seconds (as native's), so the wire stays within 12 kbit/s.
import { beforeAll, describe, expect, it } from 'vitest';
import { CallPackets } from '../src/protocol/call/call_packets';
import { QUALITY_REPORT_TYPE, serializeQualityReport } from '../src/protocol/call/control_message';
import { deriveCallKeys } from '../src/protocol/crypto/call_keys';
import { loadSodium } from '../src/protocol/sodium';
import { CallMediaCore } from '../src/media/call_media_core';

beforeAll(async () => {
  await loadSodium();
});

describe('CallMediaCore asked for data saving', () => {
  it('sends one report a second, quality and receiver report in turn, the latter over both seconds', () => {
    const prk = new Uint8Array(32).fill(9);
    const browser = new CallMediaCore(deriveCallKeys(prk, 'callee'), 0);
    const native = new CallPackets(deriveCallKeys(prk, 'caller'), 0); // the native peer
    const sent: { at: number; kind: string; expected?: number }[] = [];
    const note = (packet: Uint8Array, now: number): void => {
      const arrival = native.open(packet);
      if (arrival.kind === 'control' && arrival.content[0] === QUALITY_REPORT_TYPE) sent.push({ at: now, kind: 'quality' });
      else if (arrival.kind === 'report') sent.push({ at: now, kind: 'report', expected: arrival.report.expected });
      else sent.push({ at: now, kind: arrival.kind });
    };
    let sequence = 0;
    let nextFrameMs = 0;
    for (let now = 0; now <= 9000; now += 20) {
      // The browser's own media, at the frame length its sender uses; reports go before it.
      if (now >= nextFrameMs) {
        nextFrameMs = now + browser.sender.frameMs;
        for (const packet of browser.sealFrame(Uint8Array.of(9, 9, 9), now, browser.sender.frameMs * 48)) note(packet, now);
      }
      // The peer's 120 ms media (its sequence numbers count), and its quality report once a second.
      if (now % 120 === 0) {
        const primary = { timestamp: (now / 20) * 960, payload: Uint8Array.of(1, 2, 3) };
        browser.onSealed(native.sealMedia({ sequence: sequence++, primary, redundant: [] }, now), now + 30);
      }
      if (now % 1000 === 500) {
        browser.onSealed(native.sealControl(serializeQualityReport({
          dataSaving: true, lossBeforeRecovery: 0, lossAfterRecovery: 0, jitterMs: 1, jitterBufferMs: 60,
          queueDelayMs: 0, receivedBps: 8000, intervalMs: 1000,
        }), now), now + 30);
      }
      for (const packet of browser.tick(now)) note(packet, now);
    }
    expect(browser.sender.frameMs).toBe(120);
    // Each report goes right before a media packet.
    for (let i = 0; i + 1 < sent.length; ++i) {
      if (sent[i]!.kind !== 'media') expect(sent[i + 1]!.kind).toBe('media');
    }
    // Before the request: both reports each second; after it, one a second, in turn.
    const after = sent.filter((s) => s.at > 2000 && s.kind !== 'media');
    expect(after.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < after.length; ++i) {
      expect(after[i]!.at - after[i - 1]!.at).toBeGreaterThanOrEqual(980);
      expect(after[i]!.kind).not.toBe(after[i - 1]!.kind);
    }
    // A receiver report covers the two seconds since the previous one: ~16-17 packets of 120 ms.
    const reports = after.filter((s) => s.kind === 'report');
    expect(reports.length).toBeGreaterThanOrEqual(3);
    for (const r of reports) {
      expect(r.expected).toBeGreaterThanOrEqual(15);
      expect(r.expected).toBeLessThanOrEqual(18);
    }
  });
});
