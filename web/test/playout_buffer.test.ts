// The jitter buffer in simulated time: clean, jittered, lossy, reordered, drifting and
// spiky arrivals, a 44.1 kHz device and timestamp wrap; what comes out must be the
// sent audio, at a delay that follows the network.
import { describe, expect, it } from 'vitest';
import { PlayoutBuffer, type PlayoutBufferOptions } from '../src/media/playout_buffer';
import { seededRandom } from './support/seeded_random';

const FRAME = 960; // 20 ms at 48 kHz
const QUANTUM = 128;

function tone(ts: number): number {
  return 0.5 * Math.sin((2 * Math.PI * 440 * ts) / 48000) + 0.2 * Math.sin((2 * Math.PI * 1234 * ts) / 48000);
}

interface Sim {
  durationMs: number;
  senderClock?: number; // >1: the sender's clock runs fast
  delayMs?: (frame: number) => number;
  lost?: (frame: number) => boolean;
  outputRate?: number;
  firstTimestamp?: number;
  frameSamples?: number; // per packet: 960 (20 ms) unless data saving's 5760 (120 ms)
  options?: Partial<PlayoutBufferOptions>;
}

interface SimResult {
  buffer: PlayoutBuffer;
  output: Float32Array;
  levelsMs: number[]; // smoothed level once per second
}

// Frames leave every 20 ms of the sender's clock and arrive after delayMs; the device
// pulls 128 samples at its own rate. Events in time order, nothing else.
function simulate(sim: Sim): SimResult {
  const outputRate = sim.outputRate ?? 48000;
  const buffer = new PlayoutBuffer({ outputRate, ...sim.options });
  const first = sim.firstTimestamp ?? 1000;
  const frameSamples = sim.frameSamples ?? FRAME;
  const frameMs = frameSamples / 48;
  // The sender keeps going past the end, so a fast sender clock does not run dry early.
  const frames = Math.ceil((sim.durationMs / frameMs) * 1.1) + 50;
  const arrivals: { atMs: number; index: number }[] = [];
  for (let i = 0; i < frames; ++i) {
    if (sim.lost?.(i)) continue;
    // A frame leaves once all of it is captured.
    arrivals.push({ atMs: ((i + 1) * frameMs) / (sim.senderClock ?? 1) + (sim.delayMs?.(i) ?? 0), index: i });
  }
  arrivals.sort((a, b) => a.atMs - b.atMs);
  const pulls = Math.floor((sim.durationMs / 1000) * outputRate / QUANTUM);
  const output = new Float32Array(pulls * QUANTUM);
  const levelsMs: number[] = [];
  let next = 0;
  const block = new Float32Array(QUANTUM);
  for (let p = 0; p < pulls; ++p) {
    const nowMs = (p * QUANTUM * 1000) / outputRate;
    while (next < arrivals.length && arrivals[next]!.atMs <= nowMs) {
      const i = arrivals[next++]!.index;
      const pcm = new Float32Array(frameSamples);
      for (let k = 0; k < frameSamples; ++k) pcm[k] = tone(i * frameSamples + k);
      buffer.insert((first + i * frameSamples) >>> 0, pcm);
    }
    buffer.pull(block);
    output.set(block, p * QUANTUM);
    if ((p * QUANTUM) % outputRate < QUANTUM) levelsMs.push(buffer.stats().levelMs);
  }
  return { buffer, output, levelsMs };
}

// Best normalised correlation of `out[from..from+n]` with the tone sent up to 700 ms
// before (the tone's input timestamp for out[from] is from * step minus the delay).
function bestCorrelation(out: Float32Array, from: number, n: number, step = 1): number {
  let best = -1;
  const latest = Math.floor(from * step);
  for (let start = latest; start > latest - 48000 * 0.7; start -= 1) {
    let dot = 0;
    let ea = 0;
    let eb = 0;
    for (let k = 0; k < n; k += 8) {
      const a = out[from + k]!;
      const b = tone(start + k * step);
      dot += a * b;
      ea += a * a;
      eb += b * b;
    }
    const c = dot / Math.sqrt(ea * eb + 1e-12);
    if (c > best) best = c;
    if (best > 0.9995) break;
  }
  return best;
}

describe('PlayoutBuffer', () => {
  it('plays a clean stream unchanged at a small steady delay', () => {
    const { buffer, output, levelsMs } = simulate({ durationMs: 10000 });
    const s = buffer.stats();
    expect(s.concealedMs).toBe(0);
    expect(s.lateFrames).toBe(0);
    expect(s.targetMs).toBeLessThanOrEqual(45);
    expect(levelsMs.at(-1)!).toBeLessThan(60);
    // The end is the tone itself: correlation with a shifted copy (over ~85 ms, since the
    // rate may move by a fraction of a percent).
    expect(bestCorrelation(output, output.length - 96000, 4096)).toBeGreaterThan(0.999);
  });

  it('plays data saving\'s 120 ms packets whole, in time, and conceals a lost one', () => {
    const random = seededRandom(5);
    const delays = Array.from({ length: 200 }, () => 30 + random() * 30);
    const { buffer, output } = simulate({ durationMs: 12000, frameSamples: 5760, delayMs: (i) => delays[i % 200]! });
    const s = buffer.stats();
    expect(s.lateFrames).toBe(0);
    expect(s.underrunMs).toBeLessThan(130); // at most one start-up wait
    expect(s.targetMs).toBeGreaterThanOrEqual(120); // a whole packet ahead
    expect(s.targetMs).toBeLessThan(220);
    expect(bestCorrelation(output, output.length - 96000, 4096)).toBeGreaterThan(0.999);

    const lossy = simulate({ durationMs: 12000, frameSamples: 5760, lost: (i) => i % 20 === 10 }).buffer.stats();
    // Five packets lost: about their length made up, besides a few waits for the next
    // packet after each (nothing is ahead once a lost packet's time comes).
    const madeUp = lossy.concealedMs - lossy.underrunMs;
    expect(madeUp).toBeGreaterThan(5 * 120 * 0.8);
    expect(madeUp).toBeLessThan(5 * 120 * 1.2);
    expect(lossy.underrunMs).toBeLessThan(400);
    expect(lossy.lateFrames).toBe(0);
  });

  it('raises its target under jitter and keeps late loss small', () => {
    const random = seededRandom(7);
    const delays = Array.from({ length: 1000 }, () => 20 + random() * 80); // 20..100 ms: reordering too
    const { buffer } = simulate({ durationMs: 20000, delayMs: (i) => delays[i % 1000]! });
    const s = buffer.stats();
    expect(s.targetMs).toBeGreaterThan(70);
    expect(s.targetMs).toBeLessThan(140);
    expect(s.lateFrames / s.framesInserted).toBeLessThan(0.05);
    expect(s.concealedMs).toBeLessThan(20000 * 0.06);
  });

  it('conceals lost frames without stalling, at about the loss rate', () => {
    const random = seededRandom(11);
    const lost = Array.from({ length: 1200 }, () => random() < 0.1);
    const { buffer, output } = simulate({ durationMs: 20000, lost: (i) => lost[i]! });
    const s = buffer.stats();
    const lossShare = lost.slice(0, 1000).filter(Boolean).length / 1000;
    expect(s.concealedMs / 20000).toBeGreaterThan(lossShare * 0.7);
    expect(s.concealedMs / 20000).toBeLessThan(lossShare * 1.3);
    expect(s.underrunMs).toBeLessThan(200);
    // Concealment is faded, never louder than the speech.
    let peak = 0;
    for (const v of output) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeLessThanOrEqual(0.71);
  });

  it('follows a sender clock 0.5% fast or slow without the delay running away', () => {
    for (const senderClock of [1.005, 0.995]) {
      const { buffer, levelsMs } = simulate({ durationMs: 30000, senderClock });
      const s = buffer.stats();
      expect(Math.max(...levelsMs.slice(5))).toBeLessThan(s.targetMs + 30);
      expect(s.lateFrames).toBe(0);
      expect(s.underrunMs).toBeLessThan(100);
      expect(s.concealedMs).toBeLessThan(300);
    }
  });

  it('drains the backlog after a delay spike back towards its target', () => {
    // 400 ms outage at 5 s; everything held arrives at once when it ends.
    const { buffer, levelsMs } = simulate({
      durationMs: 20000,
      delayMs: (i) => (i * 20 >= 5000 && i * 20 < 5400 ? 5400 - i * 20 : 0) + 5,
    });
    const s = buffer.stats();
    expect(Math.max(...levelsMs.slice(5, 8))).toBeGreaterThan(150); // the backlog shows
    expect(levelsMs.at(-1)!).toBeLessThan(s.targetMs + 20); // and is gone again
    expect(s.lateFrames).toBe(0);
  });

  it('plays 48 kHz audio on a 44.1 kHz device at the right speed', () => {
    const { buffer, output, levelsMs } = simulate({ durationMs: 10000, outputRate: 44100 });
    expect(buffer.stats().concealedMs).toBe(0);
    expect(levelsMs.at(-1)!).toBeLessThan(60);
    // Each output sample advances the tone by 48000/44100 input samples.
    expect(bestCorrelation(output, output.length - 88200, 4096, 48000 / 44100)).toBeGreaterThan(0.995);
  });

  it('plays across the 32-bit timestamp wrap', () => {
    const { buffer } = simulate({ durationMs: 4000, firstTimestamp: 2 ** 32 - 48000 });
    const s = buffer.stats();
    expect(s.concealedMs).toBe(0);
    expect(s.resets).toBe(0);
    expect(s.lateFrames).toBe(0);
  });

  it('starts again when the stream jumps far ahead', () => {
    const buffer = new PlayoutBuffer();
    const pcm = new Float32Array(FRAME).fill(0.25);
    const out = new Float32Array(QUANTUM);
    for (let i = 0; i < 20; ++i) {
      buffer.insert(i * FRAME, pcm);
      for (let k = 0; k < FRAME / QUANTUM; ++k) buffer.pull(out);
    }
    buffer.insert(48000 * 100, pcm);
    expect(buffer.stats().resets).toBe(1);
    buffer.insert(1 * FRAME, pcm); // an old frame of before the jump: too late now
    expect(buffer.stats().lateFrames).toBe(1);
  });

  it('outputs silence before anything arrives and while under its start delay', () => {
    const buffer = new PlayoutBuffer();
    const out = new Float32Array(QUANTUM).fill(1);
    buffer.pull(out);
    expect(out.every((v) => v === 0)).toBe(true);
    buffer.insert(0, new Float32Array(FRAME).fill(0.5));
    out.fill(1);
    buffer.pull(out); // 20 ms < the 80 ms start target
    expect(out.every((v) => v === 0)).toBe(true);
  });
});
