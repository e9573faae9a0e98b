// ReceiveStatistics (TS port): loss per interval, and an outage that is not loss.
import { describe, expect, it } from 'vitest';
import { lossFraction, ReceiveStatistics } from '../src/media/receive_statistics';

describe('ReceiveStatistics', () => {
  it('counts loss in an interval', () => {
    const stats = new ReceiveStatistics();
    for (let s = 100; s < 200; ++s) if (s % 10 !== 3) stats.onPacket(s, s * 20);
    const report = stats.takeInterval();
    expect(report).toEqual({ expected: 100, received: 90 });
    expect(lossFraction(report)).toBeCloseTo(0.1, 9);
  });

  it('leaves packets missing across 1 s of silence out of expected, but not a shorter burst', () => {
    const stats = new ReceiveStatistics();
    let t = 0;
    let seq = 65500; // across the 16-bit wrap too
    for (let i = 0; i < 50; ++i, t += 20) stats.onPacket(seq++ & 0xffff, t);
    expect(lossFraction(stats.takeInterval())).toBe(0);
    seq += 150; // a 3 s outage while the sender went on
    t += 3000;
    for (let i = 0; i < 50; ++i, t += 20) stats.onPacket(seq++ & 0xffff, t);
    expect(stats.takeInterval()).toEqual({ expected: 50, received: 50 });
    seq += 40; // 800 ms: loss
    t += 800;
    for (let i = 0; i < 10; ++i, t += 20) stats.onPacket(seq++ & 0xffff, t);
    const burst = stats.takeInterval();
    expect(burst).toEqual({ expected: 50, received: 10 });
  });
});
