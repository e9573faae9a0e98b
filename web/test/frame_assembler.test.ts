// Microphone blocks to 20 ms frames at 48 kHz: exact at 48 kHz, the right length and
// waveform from a 44.1 kHz context.
import { describe, expect, it } from 'vitest';
import { FrameAssembler } from '../src/media/frame_assembler';

function run(inputRate: number, seconds: number, signal: (t: number) => number): Float32Array {
  const assembler = new FrameAssembler(inputRate);
  const frames: Float32Array[] = [];
  const blocks = Math.floor((inputRate * seconds) / 128);
  for (let b = 0; b < blocks; ++b) {
    const block = Float32Array.from({ length: 128 }, (_, i) => signal((b * 128 + i) / inputRate));
    for (const f of assembler.push(block)) {
      expect(f.length).toBe(960);
      frames.push(f);
    }
  }
  const out = new Float32Array(frames.length * 960);
  frames.forEach((f, i) => out.set(f, i * 960));
  return out;
}

describe('FrameAssembler', () => {
  it('passes 48 kHz through unchanged in 960-sample frames', () => {
    const out = run(48000, 1, (t) => Math.round(t * 48000) / 48000);
    expect(out.length).toBe(48000 - (48000 % 960) - 0);
    for (let i = 0; i < out.length; i += 97) expect(out[i]).toBeCloseTo(i / 48000, 6);
  });

  it('resamples 44.1 kHz to 48 kHz at the right speed', () => {
    const tone = (t: number): number => Math.sin(2 * Math.PI * 300 * t);
    const out = run(44100, 2, tone);
    expect(out.length).toBeGreaterThanOrEqual(96000 - 2 * 960);
    expect(out.length).toBeLessThanOrEqual(96000);
    let worst = 0;
    for (let i = 10; i < out.length; ++i) worst = Math.max(worst, Math.abs(out[i]! - tone((i - 1) / 48000)));
    expect(worst).toBeLessThan(0.02);
  });
});
