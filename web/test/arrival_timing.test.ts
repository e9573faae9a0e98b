// ArrivalTiming's queue estimate keeps a standing queue visible however often intervals
// are taken (reports every 250 ms in trouble), and forgets an old baseline after 10 s.
import { describe, expect, it } from 'vitest';
import { ArrivalTiming } from '../src/media/arrival_timing';

describe('ArrivalTiming', () => {
  it('keeps a standing queue visible with fast reports, for 10 s', () => {
    const timing = new ArrivalTiming();
    let t = 0;
    let timestamp = 0;
    const packets = (count: number, extraDelayMs: number): void => {
      for (let i = 0; i < count; ++i, t += 20, timestamp += 960) timing.onArrival(timestamp, 100, t + extraDelayMs, true);
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
});
