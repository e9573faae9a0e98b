// Microphone blocks (128 samples at the AudioContext's rate) to 20 ms frames of 48 kHz
// mono for the Opus encoder, resampling linearly when the context runs at another rate
// (44.1 kHz devices). Pure; runs inside the capture AudioWorklet.

export class FrameAssembler {
  private readonly step: number; // input samples per output sample
  private frame: Float32Array<ArrayBuffer>;
  private fill = 0;
  private position = 0; // read position in input samples, relative to `previous`
  private previous = 0; // the last input sample of the block before

  constructor(inputRate: number, private readonly frameSamples = 960, outputRate = 48000) {
    this.step = inputRate / outputRate;
    this.frame = new Float32Array(frameSamples);
  }

  // One block of input; returns the frames it completed (usually 0 or 1).
  push(block: Float32Array): Float32Array<ArrayBuffer>[] {
    const done: Float32Array<ArrayBuffer>[] = [];
    if (this.step === 1) {
      for (let i = 0; i < block.length; ++i) this.put(block[i]!, done);
      return done;
    }
    // Input index -1 is `previous`, 0..n-1 the block; interpolate at `position - 1`.
    while (this.position <= block.length) {
      const at = this.position - 1;
      const i = Math.floor(at);
      const a = i < 0 ? this.previous : block[i]!;
      const b = block[i + 1] ?? a;
      this.put(a + (b - a) * (at - i), done);
      this.position += this.step;
    }
    this.position -= block.length;
    this.previous = block[block.length - 1] ?? this.previous;
    return done;
  }

  private put(sample: number, done: Float32Array<ArrayBuffer>[]): void {
    this.frame[this.fill++] = sample;
    if (this.fill === this.frameSamples) {
      done.push(this.frame);
      this.frame = new Float32Array(this.frameSamples);
      this.fill = 0;
    }
  }
}
