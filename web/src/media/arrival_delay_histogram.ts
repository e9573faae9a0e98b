// How late packets arrive, as NetEq's delay manager measures it: each frame's delay
// relative to the fastest frame of the last 2 s, in a forgetting histogram whose
// quantile is the playout delay that would have caught that share of frames. Pure;
// time is the caller's sample clock (48 kHz samples), never read here.

export interface ArrivalDelayOptions {
  bucketSamples: number; // histogram resolution
  maxDelaySamples: number; // delays above go into the last bucket
  forgetFactor: number; // per frame, 0..1: older observations fade by this
  quantile: number; // 0..1: share of frames the target should catch in time
  referenceWindowSamples: number; // how far back the "fastest frame" reference looks
}

export const DEFAULT_ARRIVAL_DELAY_OPTIONS: ArrivalDelayOptions = {
  bucketSamples: 240, // 5 ms
  maxDelaySamples: 48000, // 1 s
  forgetFactor: 0.995, // half-life ~140 frames (~2.8 s at 50 frames/s)
  quantile: 0.95,
  referenceWindowSamples: 96000, // 2 s
};

// Invariant: the bucket weights sum to 1 once anything was observed.
export class ArrivalDelayHistogram {
  private readonly buckets: Float64Array;
  private readonly recent: { arrival: number; transit: number }[] = [];
  private observed = 0;

  constructor(private readonly options: ArrivalDelayOptions = DEFAULT_ARRIVAL_DELAY_OPTIONS) {
    this.buckets = new Float64Array(Math.ceil(options.maxDelaySamples / options.bucketSamples) + 1);
  }

  get frames(): number {
    return this.observed;
  }

  // A frame whose first sample is `timestampSamples` (unwrapped) arrived at
  // `arrivalSamples` on the receiver's clock. Returns its relative delay in samples.
  observe(timestampSamples: number, arrivalSamples: number): number {
    const transit = arrivalSamples - timestampSamples;
    const window = this.options.referenceWindowSamples;
    while (this.recent.length > 0 && arrivalSamples - this.recent[0]!.arrival > window) this.recent.shift();
    this.recent.push({ arrival: arrivalSamples, transit });
    let fastest = transit;
    for (const r of this.recent) fastest = Math.min(fastest, r.transit);
    const delay = transit - fastest;
    const index = Math.min(this.buckets.length - 1, Math.floor(delay / this.options.bucketSamples));
    if (this.observed === 0) {
      this.buckets[index] = 1;
    } else {
      const keep = this.options.forgetFactor;
      for (let i = 0; i < this.buckets.length; ++i) this.buckets[i]! *= keep;
      this.buckets[index]! += 1 - keep;
    }
    ++this.observed;
    return delay;
  }

  // The smallest delay (samples, bucket upper edge) that catches `quantile` of frames;
  // 0 before any observation.
  quantileDelaySamples(): number {
    if (this.observed === 0) return 0;
    let sum = 0;
    for (let i = 0; i < this.buckets.length; ++i) {
      sum += this.buckets[i]!;
      if (sum >= this.options.quantile - 1e-9) return (i + 1) * this.options.bucketSamples;
    }
    return this.buckets.length * this.options.bucketSamples;
  }
}
