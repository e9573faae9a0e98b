// SendTiming: a burst after a stall of the sender shows as its mean lateness over the
// packets of a window; steady sending, a constant encoder delay and the timestamp wrap do not.
import { describe, expect, it } from 'vitest';
import { SendTiming } from '../src/media/send_timing';

describe('SendTiming', () => {
  it('measures a stall and its burst as the peer would, and nothing when sending is steady', () => {
    const timing = new SendTiming();
    let timestamp = 2 ** 32 - 960 * 10; // wraps in the first second
    // 2 s steady, each packet 7 ms after its frame ended (an encoder's constant delay).
    for (let t = 20; t <= 2000; t += 20, timestamp += 960) timing.onSent(timestamp >>> 0, 960, t + 7);
    expect(timing.excessMs(1000, 2010)).toBeCloseTo(0, 6);
    // 300 ms stalled: the 15 frames captured then go out at once when it ends.
    for (let t = 2020; t <= 2300; t += 20, timestamp += 960) timing.onSent(timestamp >>> 0, 960, 2307);
    for (let t = 2320; t <= 3000; t += 20, timestamp += 960) timing.onSent(timestamp >>> 0, 960, t + 7);
    // A second from 2 s: 15 packets 0-280 ms late (mean 140) among 50.
    expect(timing.excessMs(2001, 3001)).toBeCloseTo((15 * 140) / 50, 0);
    // Only the burst: its mean lateness.
    expect(timing.excessMs(2300, 2310)).toBeCloseTo(140, 0);
    expect(timing.excessMs(2400, 3001)).toBeCloseTo(0, 6);
    expect(timing.excessMs(5000, 6000)).toBe(0); // nothing sent then
  });
});
