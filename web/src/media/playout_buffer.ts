// The receive jitter buffer: decoded frames in (by RTP timestamp, as they arrive),
// audio out at the output device's rate. A small NetEq: an arrival-delay histogram sets
// the target delay, the playout rate follows it (gently in speech, fast in silence;
// the same resampling absorbs clock drift and a 44.1 kHz device), lost frames are
// concealed by repeating the last pitch period with a fade, and underruns wait rather
// than skip. Pure: the clock is the count of samples pulled, as NetEq's TickTimer.
// Runs inside the playout AudioWorklet; tested in Vitest in simulated time.
import { ArrivalDelayHistogram, DEFAULT_ARRIVAL_DELAY_OPTIONS, type ArrivalDelayOptions } from './arrival_delay_histogram';

export interface PlayoutBufferOptions {
  inputRate: number; // frames' sample rate (Opus decodes at 48 kHz)
  outputRate: number; // the AudioContext's rate
  minTargetMs: number; // floor on the target delay
  maxTargetMs: number; // ceiling on the target and on what is kept
  startTargetMs: number; // before enough arrivals are seen
  deadbandMs: number; // |level - target| below this: play at the nominal rate
  maxSpeechRateChange: number; // fraction: how far the rate may move while speech plays
  maxSilenceRateChange: number; // ... and in near-silence, where resampling is inaudible
  rateGainPerMs: number; // rate change per ms of excess level
  silenceRms: number; // below this, output counts as near-silence
  concealFadePerSample: number; // gain multiplier per concealed sample
  arrival: ArrivalDelayOptions;
}

export const DEFAULT_PLAYOUT_OPTIONS: PlayoutBufferOptions = {
  inputRate: 48000,
  outputRate: 48000,
  minTargetMs: 40,
  maxTargetMs: 600,
  startTargetMs: 80,
  deadbandMs: 5,
  maxSpeechRateChange: 0.06,
  maxSilenceRateChange: 0.25,
  rateGainPerMs: 0.002,
  silenceRms: 0.003,
  concealFadePerSample: 0.9996, // -20 dB after ~120 ms
  arrival: DEFAULT_ARRIVAL_DELAY_OPTIONS,
};

export interface PlayoutStats {
  targetMs: number;
  levelMs: number; // smoothed audio buffered ahead of the playout position
  framesInserted: number;
  lateFrames: number; // arrived after their playout time (late loss)
  duplicateFrames: number;
  concealedMs: number; // audio made up for missing frames (loss or underrun)
  underrunMs: number; // part of concealedMs during which nothing was buffered (waited)
  playedMs: number; // output produced since the start, silence before the first frame included
  resets: number; // the stream jumped (timestamps far off): started again
  rate: number; // the current playout rate (1 = nominal)
}

const CROSSFADE_SAMPLES = 96; // 2 ms at 48 kHz: concealment back into real audio

interface Frame {
  start: number; // unwrapped timestamp of the first sample
  pcm: Float32Array;
}

// Invariants: `position` only moves forward; frames that end before it are gone;
// nothing buffered is older than the position or further ahead than maxTargetMs + 2 s.
export class PlayoutBuffer {
  private readonly options: PlayoutBufferOptions;
  private readonly histogram: ArrivalDelayHistogram;
  private readonly frames = new Map<number, Frame>();
  private position = 0; // read position, unwrapped input samples (fractional)
  private started = false;
  private anyFrame = false;
  private lastRawTimestamp = 0;
  private lastUnwrapped = 0;
  private newestEnd = 0;
  private frameSamples = 960;
  private clockInput = 0; // the pull clock, in input samples
  private filteredLevel = 0;
  private rate = 1;
  // Concealment: the last real audio, and where we are in repeating it.
  private readonly history: Float32Array;
  private historyFill = 0;
  private historyWrite = 0; // next slot of the ring
  private concealing = false;
  private concealPeriod = 480;
  private concealPhase = 0;
  private concealGain = 1;
  private crossfadeLeft = 0;
  private lastOutput = 0;
  private cached: Frame | undefined;
  private readonly statsValue: PlayoutStats = {
    targetMs: 0, levelMs: 0, framesInserted: 0, lateFrames: 0, duplicateFrames: 0, concealedMs: 0, underrunMs: 0,
    playedMs: 0, resets: 0, rate: 1,
  };

  constructor(options: Partial<PlayoutBufferOptions> = {}) {
    this.options = { ...DEFAULT_PLAYOUT_OPTIONS, ...options };
    this.histogram = new ArrivalDelayHistogram(this.options.arrival);
    this.history = new Float32Array(Math.round(this.options.inputRate * 0.03)); // 30 ms
  }

  stats(): PlayoutStats {
    return { ...this.statsValue, targetMs: this.targetSamples() * 1000 / this.options.inputRate,
      levelMs: this.filteredLevel * 1000 / this.options.inputRate, rate: this.rate };
  }

  // A decoded frame whose first sample has RTP timestamp `timestamp` (u32, wraps).
  // Arrival time is now on the pull clock.
  insert(timestamp: number, pcm: Float32Array): void {
    if (pcm.length === 0) return;
    const unwrapped = this.unwrap(timestamp >>> 0);
    const inputRate = this.options.inputRate;
    if (this.anyFrame && unwrapped - this.position > inputRate * 2 + this.maxSamples()) {
      this.reset(unwrapped); // the peer's stream jumped ahead: start over from this frame
    }
    if (!this.anyFrame) {
      this.anyFrame = true;
      this.position = unwrapped;
      this.newestEnd = unwrapped;
    }
    ++this.statsValue.framesInserted;
    if (unwrapped + pcm.length <= this.position) {
      ++this.statsValue.lateFrames;
      this.histogram.observe(unwrapped, this.clockInput);
      return;
    }
    if (this.frames.has(unwrapped)) {
      ++this.statsValue.duplicateFrames;
      return;
    }
    this.histogram.observe(unwrapped, this.clockInput);
    this.frameSamples = pcm.length;
    this.frames.set(unwrapped, { start: unwrapped, pcm });
    this.newestEnd = Math.max(this.newestEnd, unwrapped + pcm.length);
    // Never hold more than the ceiling: drop the playout position forward if so.
    const excess = this.newestEnd - this.position - this.maxSamples();
    if (excess > 0) this.position += excess;
    this.dropPlayed();
  }

  // Fills `out` (output-rate samples) with the next audio to play.
  pull(out: Float32Array): void {
    const o = this.options;
    const nominalStep = o.inputRate / o.outputRate;
    this.clockInput += out.length * nominalStep;
    this.statsValue.playedMs += out.length * 1000 / o.outputRate;
    if (!this.started) {
      if (this.anyFrame && this.newestEnd - this.position >= Math.min(this.targetSamples(), this.maxSamples())) {
        this.started = true;
        this.filteredLevel = this.newestEnd - this.position;
      } else {
        out.fill(0);
        return;
      }
    }
    const level = Math.max(0, this.newestEnd - this.position);
    // Smoothed over three frames (60 ms at 20 ms): the level is a sawtooth of one frame's
    // height, and data saving's 120 ms packets would otherwise swing the rate with it.
    const smoothingS = Math.max(0.06, (3 * this.frameSamples) / o.inputRate);
    this.filteredLevel += (level - this.filteredLevel) * Math.min(1, out.length / (o.outputRate * smoothingS));
    this.rate = this.chooseRate();
    const step = nominalStep * this.rate;
    let sumSquares = 0;
    for (let i = 0; i < out.length; ++i) {
      const value = this.nextSample(step);
      out[i] = value;
      sumSquares += value * value;
    }
    this.lastOutput = Math.sqrt(sumSquares / out.length);
    this.dropPlayed();
  }

  private maxSamples(): number {
    return this.options.maxTargetMs * this.options.inputRate / 1000;
  }

  private targetSamples(): number {
    const o = this.options;
    const perMs = o.inputRate / 1000;
    const wanted = this.histogram.frames < 10 ? o.startTargetMs * perMs
      : this.histogram.quantileDelaySamples() + this.frameSamples;
    return Math.min(o.maxTargetMs * perMs, Math.max(o.minTargetMs * perMs, wanted));
  }

  private chooseRate(): number {
    const o = this.options;
    const excessMs = (this.filteredLevel - this.targetSamples()) * 1000 / o.inputRate;
    if (Math.abs(excessMs) < o.deadbandMs) return 1;
    const limit = this.lastOutput < o.silenceRms ? o.maxSilenceRateChange : o.maxSpeechRateChange;
    const beyond = excessMs - Math.sign(excessMs) * o.deadbandMs;
    return 1 + Math.max(-limit, Math.min(limit, beyond * o.rateGainPerMs));
  }

  // One output sample at the read position (linear interpolation), then advance by
  // `step`, except during an underrun, which waits for audio rather than skipping it.
  private nextSample(step: number): number {
    const base = Math.floor(this.position);
    const a = this.sampleAt(base);
    const b = this.sampleAt(base + 1);
    if (a === undefined) {
      const waiting = this.newestEnd <= base; // nothing ahead: underrun
      const value = this.conceal();
      const ms = 1000 / this.options.outputRate;
      this.statsValue.concealedMs += ms;
      if (waiting) {
        this.statsValue.underrunMs += ms;
        return value;
      }
      this.position += step;
      return value;
    }
    const frac = this.position - base;
    let value = b === undefined ? a : a + (b - a) * frac;
    if (this.concealing) {
      this.concealing = false;
      this.crossfadeLeft = CROSSFADE_SAMPLES;
    }
    if (this.crossfadeLeft > 0) {
      const w = this.crossfadeLeft / CROSSFADE_SAMPLES;
      value = value * (1 - w) + this.concealSample() * w;
      --this.crossfadeLeft;
    }
    this.remember(a, base);
    this.position += step;
    return value;
  }

  private lastRemembered = -1;

  // Keeps the last 30 ms of real audio (by input sample) in a ring, for concealment.
  private remember(value: number, at: number): void {
    if (at === this.lastRemembered) return;
    this.lastRemembered = at;
    this.history[this.historyWrite] = value;
    this.historyWrite = (this.historyWrite + 1) % this.history.length;
    if (this.historyFill < this.history.length) ++this.historyFill;
  }

  // The remembered audio, oldest first (a copy; only when a concealment starts).
  private rememberedAudio(): Float32Array {
    const n = this.historyFill;
    const out = new Float32Array(n);
    const h = this.history;
    for (let i = 0; i < n; ++i) out[i] = h[(this.historyWrite - n + i + h.length) % h.length]!;
    return out;
  }

  private conceal(): number {
    if (!this.concealing) {
      this.concealing = true;
      this.concealPeriod = this.estimatePeriod();
      this.concealPhase = 0;
      this.concealGain = 1;
    }
    const value = this.concealSample();
    this.concealGain *= this.options.concealFadePerSample;
    ++this.concealPhase;
    return value;
  }

  // The repeated last period at the current fade (also what the crossfade fades out of).
  private concealSample(): number {
    if (this.historyFill < this.concealPeriod) return 0;
    const h = this.history;
    const at = this.historyWrite - this.concealPeriod + (this.concealPhase % this.concealPeriod);
    return h[(at + h.length) % h.length]! * this.concealGain;
  }

  // The pitch period of the remembered audio by autocorrelation (2.5..15 ms), so the
  // repetition sounds like the voice rather than a buzz at an arbitrary rate.
  private estimatePeriod(): number {
    const rate = this.options.inputRate;
    const minLag = Math.round(rate * 0.0025);
    const maxLag = Math.min(Math.round(rate * 0.015), this.historyFill >> 1);
    if (maxLag <= minLag) return Math.max(1, Math.min(this.historyFill, minLag));
    const h = this.rememberedAudio();
    const n = h.length;
    const windowLength = Math.min(n - maxLag, Math.round(rate * 0.01));
    let best = minLag;
    let bestScore = -Infinity;
    for (let lag = minLag; lag <= maxLag; lag += 2) {
      let dot = 0;
      let energy = 1e-9;
      for (let i = n - windowLength; i < n; i += 2) {
        const x = h[i - lag]!;
        dot += h[i]! * x;
        energy += x * x;
      }
      const score = dot / Math.sqrt(energy);
      if (score > bestScore) {
        bestScore = score;
        best = lag;
      }
    }
    return best;
  }

  private sampleAt(t: number): number | undefined {
    const c = this.cached;
    if (c && t >= c.start && t < c.start + c.pcm.length) return c.pcm[t - c.start];
    for (const f of this.frames.values()) {
      if (t >= f.start && t < f.start + f.pcm.length) {
        this.cached = f;
        return f.pcm[t - f.start];
      }
    }
    return undefined;
  }

  private dropPlayed(): void {
    const at = Math.floor(this.position);
    for (const [key, f] of this.frames) {
      if (f.start + f.pcm.length <= at) {
        this.frames.delete(key);
        if (this.cached === f) this.cached = undefined;
      }
    }
  }

  private unwrap(timestamp: number): number {
    if (!this.anyFrame) {
      this.lastRawTimestamp = timestamp;
      this.lastUnwrapped = timestamp;
      return timestamp;
    }
    const delta = ((timestamp - this.lastRawTimestamp) << 0); // signed 32-bit difference
    const unwrapped = this.lastUnwrapped + delta;
    if (delta > 0) {
      this.lastRawTimestamp = timestamp;
      this.lastUnwrapped = unwrapped;
    }
    return unwrapped;
  }

  private reset(unwrapped: number): void {
    this.frames.clear();
    this.cached = undefined;
    this.started = false;
    this.position = unwrapped;
    this.newestEnd = unwrapped;
    ++this.statsValue.resets;
  }
}
