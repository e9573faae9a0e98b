// FrameGrouper: 20 ms capture frames joined into the chosen frame length, a new length
// only between packets.
import { describe, expect, it } from 'vitest';
import { FrameGrouper } from '../src/media/frame_grouper';

const frame = (v: number): Float32Array => new Float32Array(960).fill(v);

describe('FrameGrouper', () => {
  it('joins 20 ms frames into 60 ms packets in order, and changes length only between packets', () => {
    const g = new FrameGrouper(60);
    expect(g.push(frame(1))).toBeUndefined();
    g.setFrameMs(20); // mid-packet: from the next packet on
    expect(g.push(frame(2))).toBeUndefined();
    const out = g.push(frame(3))!;
    expect(out.length).toBe(2880);
    expect([out[0], out[960], out[1920]]).toEqual([1, 2, 3]);
    expect(g.currentFrameMs).toBe(20);
    expect(g.push(frame(4))!.length).toBe(960);
  });

  it('refuses lengths that are not whole 20 ms frames up to 120 ms', () => {
    expect(() => new FrameGrouper(30)).toThrow(/multiple of 20 ms/);
    expect(() => new FrameGrouper(140)).toThrow(/up to 120 ms/);
    expect(new FrameGrouper(120).currentFrameMs).toBe(120);
  });
});
