// The playout AudioWorklet: decoded frames from the page into the PlayoutBuffer, and
// its output into the device at the context's rate; statistics every 250 ms; a copy
// of what is played while the page records (the tests' hook). Thin: the work is
// PlayoutBuffer.
import { PlayoutBuffer } from './playout_buffer';
import { type FromPlayout, PLAYOUT_PROCESSOR, type ToPlayout } from './worklet_messages';

declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

const STATS_EVERY_SAMPLES = () => Math.round(sampleRate / 4);
const RECORD_CHUNK_SAMPLES = 2048; // ~43 ms: takeRecording() misses at most this much

class PlayoutProcessor extends AudioWorkletProcessor {
  private readonly buffer = new PlayoutBuffer({ outputRate: sampleRate });
  private block = new Float32Array(128);
  private sinceStats = 0;
  private recording = false;
  private recorded = new Float32Array(RECORD_CHUNK_SAMPLES);
  private recordedFill = 0;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<ToPlayout>) => {
      const m = event.data;
      if (m.type === 'frame') this.buffer.insert(m.timestamp, m.pcm);
      else if (m.type === 'record') {
        if (!m.on) this.flushRecording();
        this.recording = m.on;
        this.recordedFill = 0;
      }
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const output = outputs[0];
    const first = output?.[0];
    if (!output || !first) return true;
    if (this.block.length !== first.length) this.block = new Float32Array(first.length);
    this.buffer.pull(this.block);
    for (const channel of output) channel.set(this.block);
    if (this.recording) this.record(this.block);
    this.sinceStats += first.length;
    if (this.sinceStats >= STATS_EVERY_SAMPLES()) {
      this.sinceStats = 0;
      const message: FromPlayout = { type: 'stats', stats: this.buffer.stats() };
      this.port.postMessage(message);
    }
    return true;
  }

  private record(block: Float32Array): void {
    for (let i = 0; i < block.length; ++i) {
      this.recorded[this.recordedFill++] = block[i]!;
      if (this.recordedFill === RECORD_CHUNK_SAMPLES) this.flushRecording();
    }
  }

  private flushRecording(): void {
    if (this.recordedFill === 0) return;
    const pcm = this.recorded.slice(0, this.recordedFill);
    const message: FromPlayout = { type: 'recorded', pcm };
    this.port.postMessage(message, [pcm.buffer]);
    this.recordedFill = 0;
  }
}

registerProcessor(PLAYOUT_PROCESSOR, PlayoutProcessor);
