// ArrivalTiming's queue estimate keeps a standing queue visible however often intervals
// are taken (reports every 250 ms in trouble), and forgets an old baseline after 10 s;
// packets handed over late by a stalled main thread count their bytes, not their delay;
// DTX pauses and shorter frames are not a queue.
import { describe, expect, it } from 'vitest';
import { ArrivalTiming } from '../src/media/arrival_timing';

describe('ArrivalTiming', () => {
  it('keeps a standing queue visible with fast reports, for 10 s', () => {
    const timing = new ArrivalTiming();
    let t = 0;
    let timestamp = 0;
    const packets = (count: number, extraDelayMs: number): void => {
      for (let i = 0; i < count; ++i, t += 20, timestamp += 960) timing.onArrival(timestamp, 960, 100, t + extraDelayMs);
    };
    packets(50, 0);
    expect(timing.takeInterval().queueDelayMs).toBeCloseTo(0, 0);
    let last = 0;
    for (let i = 0; i < 32; ++i) { // 8 s of a 200 ms queue, an interval every 240 ms
      packets(12, 200);
      last = timing.takeInterval().queueDelayMs;
    }
    expect(last).toBeCloseTo(200, 0);
    for (let i = 0; i < 12; ++i) {
      packets(12, 200);
      last = timing.takeInterval().queueDelayMs;
    }
    expect(last).toBeCloseTo(0, 0);
  });

  it('counts an untimed arrival\'s bytes, not its delay', () => {
    const timing = new ArrivalTiming();
    let t = 0;
    let timestamp = 0;
    for (let i = 0; i < 50; ++i, t += 20, timestamp += 960) timing.onArrival(timestamp, 960, 100, t);
    timing.takeInterval();
    // 15 packets held 0-280 ms by a stalled main thread, handed over at once, untimed.
    for (let i = 0; i < 15; ++i, timestamp += 960) timing.onArrival(timestamp, 960, 100, t + 300, false);
    t += 300;
    for (let i = 0; i < 35; ++i, t += 20, timestamp += 960) timing.onArrival(timestamp, 960, 100, t);
    const interval = timing.takeInterval();
    expect(interval.bytes).toBe(5000);
    expect(interval.queueDelayMs).toBeCloseTo(0, 6);
    expect(interval.jitterMs).toBeLessThan(1);
  });

  it('reads no queue after a DTX pause or a cut to shorter frames (each packet\'s own length)', () => {
    const timing = new ArrivalTiming();
    let sentMs = 0; // when each packet leaves: its frame's capture end
    let timestamp = 0;
    const packet = (frameMs: number): void => {
      sentMs += frameMs;
      timing.onArrival(timestamp, frameMs * 48, 100, sentMs + 30);
      timestamp += frameMs * 48;
    };
    for (let i = 0; i < 50; ++i) packet(60);
    expect(timing.takeInterval().queueDelayMs).toBeCloseTo(0, 6);
    for (let i = 0; i < 50; ++i) packet(20); // shorter frames: the step guess read 39 ms here
    expect(timing.takeInterval().queueDelayMs).toBeCloseTo(0, 6);
    sentMs += 60; // a 60 ms DTX pause, then speech: the step guess read 59 ms
    timestamp += 60 * 48;
    for (let i = 0; i < 50; ++i) packet(20);
    expect(timing.takeInterval().queueDelayMs).toBeCloseTo(0, 6);
  });
});
