// The browser sender's BitrateController on hand-made reports and on a fluid bottleneck:
// a 24 kbit/s bottleneck brings it below within seconds, probes padded to their rate find
// it lifted and it climbs back within 10 s, a queue still standing once it is measured
// drains in 120 ms packets, loss buys FEC then copies (not a cut), a
// peer's data-saving request gives 120 ms packets at 6 kbit/s, and its choice of frame
// and bitrate for a budget is native's.
import { describe, expect, it } from 'vitest';
import type { QualityReport } from '../src/protocol/call/control_message';
import { PADDING_BUCKETS } from '../src/protocol/crypto/padding_policy';
import { BitrateController, chooseSettings } from '../src/media/bitrate_controller';

const NO_PROTECTION = { fec: false, fecExpectedLossPercent: 0, redundantDistances: [] };

function report(queueDelayMs: number, receivedBps: number, loss = 0, dataSaving = false): QualityReport {
  return {
    dataSaving, lossBeforeRecovery: Math.round(loss * 10000), lossAfterRecovery: 0, jitterMs: 2, jitterBufferMs: 60,
    queueDelayMs, receivedBps: Math.round(receivedBps), intervalMs: 1000,
  };
}

// A sender filling `speech` of its budget in 20 ms packets (padded up to the probe floor)
// through a fluid drop-tail bottleneck (200 ms), a report a second with the mean queue.
class Bottleneck {
  readonly controller = new BitrateController();
  nowMs = 0;
  rateBps = 1e6;
  queueMs = 0;
  maxQueueMs = 0;
  speech = 1;

  second(): void {
    let sent = 0;
    let delivered = 0;
    let queueSum = 0;
    for (let i = 0; i < 50; ++i) {
      this.nowMs += 20;
      let sealed = Math.max(1, Math.floor((this.speech * this.controller.targetWireBps * 0.02) / 8 - 28));
      const floor = this.controller.probePaddingFloor(this.nowMs);
      if (floor > sealed) sealed = PADDING_BUCKETS.find((b) => b >= floor) ?? 1200;
      this.controller.onPacketSent(sealed, this.nowMs);
      const bits = (sealed + 28) * 8;
      sent += bits;
      this.queueMs = Math.min(200, Math.max(0, this.queueMs + ((bits - this.rateBps * 0.02) / this.rateBps) * 1000));
      delivered += Math.min(bits, this.rateBps * 0.02);
      this.maxQueueMs = Math.max(this.maxQueueMs, this.queueMs);
      queueSum += this.queueMs;
      this.controller.onTick(this.nowMs);
    }
    // The peer counts sealed bytes only.
    this.controller.onQualityReport(report(Math.floor(queueSum / 50), delivered * (1 - (28 * 8 * 50) / sent)), this.nowMs);
  }
}

describe('BitrateController (web sender)', () => {
  it('chooses frame length and Opus bitrate for a budget as native does', () => {
    // src/parley/call/bitrate_controller.cc's choices (the adaptation lab's figures).
    expect(chooseSettings(64000, NO_PROTECTION, false, 20, 28, [20, 40, 60])).toMatchObject({ frameMs: 20, opusBitrateBps: 30720 });
    expect(chooseSettings(16973, NO_PROTECTION, false, 60, 28, [20, 40, 60])).toMatchObject({ frameMs: 60, opusBitrateBps: 6826 });
    // Only 20 ms frames (an encoder without others): the floor when nothing fits.
    expect(chooseSettings(16973, NO_PROTECTION, false, 20, 28, [20]).frameMs).toBe(20);
  });

  it('goes below a 24 kbit/s bottleneck within 5 s, keeps the queue under 100 ms, and climbs back within 10 s of the lift', () => {
    for (const speech of [1, 0.5]) {
      const b = new Bottleneck();
      for (let s = 0; s < 5; ++s) b.second();
      const before = b.controller.targetWireBps;
      expect(before).toBe(64000);
      b.rateBps = 24000;
      for (let s = 0; s < 5; ++s) b.second();
      expect(b.controller.knownBottleneckWireBps).toBeLessThan(1.1 * 24000);
      expect(b.controller.settings.expectedWireBps).toBeLessThan(24000);
      b.speech = speech;
      b.maxQueueMs = 0;
      for (let s = 0; s < 20; ++s) {
        b.second();
        expect(b.controller.knownBottleneckWireBps ?? 0).toBeLessThan(1.1 * 24000);
      }
      expect(b.maxQueueMs).toBeLessThan(100);
      b.rateBps = 1e6;
      let seconds = 0;
      while (seconds < 10 && b.controller.targetWireBps < 0.9 * before) {
        b.second();
        ++seconds;
      }
      expect(b.controller.targetWireBps).toBeGreaterThanOrEqual(0.9 * before);
      expect(seconds).toBeLessThanOrEqual(8);
    }
  });

  it('meets random loss with FEC, then copies, without lowering the budget', () => {
    const c = new BitrateController();
    let now = 0;
    const sendSecond = (): void => {
      for (let i = 0; i < 50; ++i) c.onPacketSent(100, (now += 20));
    };
    sendSecond();
    c.onQualityReport(report(5, 60000, 0.02), now);
    expect(c.settings.protection.fec).toBe(true);
    expect(c.settings.protection.fecExpectedLossPercent).toBeGreaterThanOrEqual(2);
    sendSecond();
    c.onQualityReport(report(5, 60000, 0.15), now);
    expect(c.settings.protection.redundantDistances.length).toBeGreaterThan(0);
    expect(c.targetWireBps).toBe(64000);
    // Loss with a queue is our own overflow: no copies for it.
    const d = new BitrateController();
    now = 0;
    for (let i = 0; i < 50; ++i) d.onPacketSent(100, (now += 20));
    d.onQualityReport(report(120, 30000, 0.15), now);
    expect(d.settings.protection.redundantDistances).toEqual([]);
    expect(d.settings.protection.fec).toBe(false);
  });

  it('honours the peer\'s data-saving request: 120 ms packets at 6 kbit/s with DTX, within 12 kbit/s', () => {
    const c = new BitrateController();
    c.onQualityReport(report(0, 50000, 0, true), 1000);
    expect(c.dataSaving).toBe(true);
    expect(c.settings).toMatchObject({ frameMs: 120, opusBitrateBps: 6000, dtx: true, maxOpusBytes: 96 });
    expect(c.settings.expectedWireBps).toBeLessThanOrEqual(12000);
    c.onQualityReport(report(0, 50000, 0, false), 2000);
    expect(c.dataSaving).toBe(false);
    expect(c.settings.frameMs).not.toBe(120);
  });

  it('cuts to 70 % after 4 s without reports while sending, and not while silent', () => {
    const c = new BitrateController();
    let now = 0;
    c.onQualityReport(report(0, 50000), now);
    for (let i = 0; i < 250; ++i) {
      now += 20;
      c.onPacketSent(100, now);
      c.onTick(now);
    }
    expect(c.targetWireBps).toBeCloseTo(64000 * 0.7, 0);
  });
  it('pays for its control packets from the budget, as native does', () => {
    let cheaper = 0;
    for (const startWireBps of [20000, 24000, 32000, 48000]) {
      const quiet = new BitrateController({ startWireBps });
      const reporting = new BitrateController({ startWireBps });
      const sealed = Math.floor((startWireBps * 0.02) / 8 - 28);
      for (let t = 20; t <= 1000; t += 20) {
        quiet.onPacketSent(sealed, t);
        reporting.onPacketSent(sealed, t);
      }
      // Four 64-byte reports a second: 4 x 92 x 8 = 2.9 kbit/s on the wire.
      for (const t of [250, 500, 750, 1000]) reporting.onControlSent(64, t);
      quiet.onQualityReport(report(30, startWireBps * 0.8), 1000); // a 30 ms queue: hold
      reporting.onQualityReport(report(30, startWireBps * 0.8), 1000);
      expect(reporting.targetWireBps).toBe(quiet.targetWireBps);
      expect(reporting.settings.expectedWireBps + 4 * 92 * 8).toBeLessThanOrEqual(reporting.targetWireBps + 1);
      if (reporting.settings.expectedWireBps < quiet.settings.expectedWireBps) ++cheaper;
    }
    expect(cheaper).toBeGreaterThanOrEqual(2);
  });

  it('drains a queue still standing once the bottleneck is measured in 120 ms packets, until gone, as native does', () => {
    const c = new BitrateController();
    let t = 0;
    const sendSecond = (wireKbps: number): void => {
      for (let i = 0; i < 50; ++i) c.onPacketSent(Math.floor((wireKbps * 1000) / 8 / 50 - 28), (t += 20));
    };
    sendSecond(60);
    c.onQualityReport(report(0, 60000 * 0.8), t);
    sendSecond(60);
    // Four reports a second in trouble, paid from the budget.
    for (const ago of [0, 250, 500, 750]) c.onControlSent(64, t - ago);
    const draining = c.onQualityReport(report(200, 24000 * 0.8, 0.5), t); // a full queue, measured
    expect(c.knownBottleneckWireBps).toBeGreaterThan(21500);
    expect(c.knownBottleneckWireBps).toBeLessThan(26500);
    expect(draining.frameMs).toBe(120);
    expect(draining.opusBitrateBps).toBe(6000);
    expect(draining.dtx).toBe(true);
    // ~4.8 kbit at ~24 kbit/s drained at ~13 kbit/s: gone within half a second, no longer.
    let ticks = 0;
    while (c.settings.frameMs === 120 && ticks < 300) {
      t += 10;
      if (ticks % 12 === 0) c.onPacketSent(128, t);
      c.onTick(t);
      ++ticks;
    }
    expect(ticks).toBeGreaterThan(20);
    expect(ticks).toBeLessThan(60);
    expect(c.settings.frameMs).toBeLessThanOrEqual(60);
    expect(c.targetWireBps).toBeGreaterThanOrEqual(0.85 * (c.knownBottleneckWireBps ?? 0) - 1);
  });

  it('cuts no further than what the floor sends, as native does', () => {
    const c = new BitrateController({ startWireBps: 20000 });
    let t = 0;
    const second = (queueMs: number, receivedKbps: number): void => {
      for (let i = 0; i < 50; ++i) c.onPacketSent(Math.floor((18000 * 0.02) / 8 - 28), (t += 20));
      c.onQualityReport(report(queueMs, receivedKbps * 1000 * 0.8), t);
    };
    second(0, 18);
    for (let i = 0; i < 6; ++i) second(45 + 10 * i, 4); // rising, far less arriving than sent
    expect(c.targetWireBps).toBeGreaterThanOrEqual(0.8 * 16533);
    expect(c.targetWireBps).toBeGreaterThan(12000);
  });

  it('takes a delay that stays flat with everything arriving for a longer path, not a queue', () => {
    const c = new BitrateController({ startWireBps: 20000 });
    let t = 0;
    const second = (queueMs: number): void => {
      for (let i = 0; i < 50; ++i) c.onPacketSent(Math.floor((20000 * 0.02) / 8 - 28), (t += 20));
      c.onQualityReport(report(queueMs, 20000 * 0.8), t);
    };
    second(0);
    const start = c.targetWireBps;
    second(58);
    second(58);
    const held = c.targetWireBps;
    expect(held).toBeLessThanOrEqual(start * 1.2 + 1);
    for (let i = 0; i < 3; ++i) second(58);
    expect(c.targetWireBps).toBeGreaterThan(held * 1.2);
  });
});

