// Keeps a WebCodecs AudioEncoder's packets in capture order across reconfigurations and
// says how much audio it left out (DTX). Pure: the adapter (opus_encoder.ts) passes `nowMs`.

// Why (measured in Chromium 156, tests/web_e2e/README.md): configure() on an AudioEncoder
// that still holds frames delivers the packets of both configurations interleaved (out of
// order) and can lose up to a frame of audio; configure() on an idle encoder is clean.
// With DTX, Chromium emits no packet at all for a silent frame. So a new configuration
// waits until every frame given to the encoder came out, or until the encoder was quiet
// for QUIET_MS (the missing packets were DTX frames); frames captured meanwhile wait with
// it, in order. Each packet passed on comes with the samples left out before it, so the
// media timestamps keep pace with the capture clock. Main thread.

export type EncoderStep<Config> =
  | { kind: 'configure'; config: Config }
  | { kind: 'encode'; frame: Float32Array<ArrayBuffer>; timestampUs: number };

export interface EncodedOutput<Config> {
  send: boolean; // false: the packet is older than one already passed on (drop it)
  skippedSamples: number; // 48 kHz samples the encoder left out before this packet (DTX)
  then: EncoderStep<Config>[]; // what became possible now (a waiting configuration)
}

// How long an encoder with frames inside may stay silent before they count as DTX frames
// it dropped (Chromium's encode takes a few ms; a loaded machine may take tens).
export const QUIET_MS = 100;

const SAMPLE_RATE = 48000;
const samplesToUs = (samples: number): number => (samples * 1e6) / SAMPLE_RATE;
const usToSamples = (us: number): number => Math.round((us * SAMPLE_RATE) / 1e6);

export class EncoderSequencer<Config> {
  private nextTimestampUs = 0; // where the next captured frame starts (capture clock, µs)
  private submittedEndUs = 0; // end of the last frame given to the encoder
  private outputEndUs = 0; // end of the last packet passed on
  private lastActivityMs = -Infinity; // the last frame given or packet out
  // What waits, in order: a configuration at the head waits for the encoder to empty;
  // frames behind it wait with it.
  private readonly queue: EncoderStep<Config>[] = [];
  droppedPackets = 0; // packets older than one already passed on (none seen when idle-gated)

  // A configuration for the frames from the next one on; the first one goes at once.
  configure(config: Config, nowMs: number): EncoderStep<Config>[] {
    const last = this.queue[this.queue.length - 1];
    if (last?.kind === 'configure') last.config = config; // never used: replace it
    else this.queue.push({ kind: 'configure', config });
    return this.release(nowMs);
  }

  // One captured frame (48 kHz samples): what to do now (nothing while it waits).
  frame(frame: Float32Array<ArrayBuffer>, nowMs: number): EncoderStep<Config>[] {
    this.queue.push({ kind: 'encode', frame, timestampUs: this.nextTimestampUs });
    this.nextTimestampUs += samplesToUs(frame.length);
    return this.release(nowMs);
  }

  // A packet out of the encoder (its chunk's timestamp and duration, µs).
  output(timestampUs: number, durationUs: number, nowMs: number): EncodedOutput<Config> {
    this.lastActivityMs = nowMs;
    if (timestampUs < this.outputEndUs) {
      ++this.droppedPackets;
      return { send: false, skippedSamples: 0, then: this.release(nowMs) };
    }
    const skippedSamples = usToSamples(timestampUs - this.outputEndUs);
    this.outputEndUs = timestampUs + durationUs;
    return { send: true, skippedSamples, then: this.release(nowMs) };
  }

  // Called now and then (every 20 ms): a configuration waiting on DTX frames goes.
  poll(nowMs: number): EncoderStep<Config>[] {
    return this.release(nowMs);
  }

  // True while a configuration or frames wait for the encoder to empty.
  get waiting(): boolean {
    return this.queue.length > 0;
  }

  private release(nowMs: number): EncoderStep<Config>[] {
    const steps: EncoderStep<Config>[] = [];
    while (this.queue.length > 0) {
      const step = this.queue[0]!;
      if (step.kind === 'configure') {
        const empty = this.outputEndUs >= this.submittedEndUs || nowMs - this.lastActivityMs >= QUIET_MS;
        if (!empty) break;
      } else {
        this.submittedEndUs = step.timestampUs + samplesToUs(step.frame.length);
        this.lastActivityMs = nowMs;
      }
      steps.push(step);
      this.queue.shift();
    }
    return steps;
  }
}
