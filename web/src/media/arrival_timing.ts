// Arrival timing of the media we receive, per report interval, for the quality report:
// RFC 3550 §6.4.1 interarrival jitter, the queueing delay (mean relative one-way delay
// over the lowest of the last 10 s) and the sealed bytes that arrived. The TS
// port of the arrival half of src/parley/call/receive_statistics.cc. Pure: the caller
// gives arrival times (ms, monotonic), and says when it does not know one (a packet
// handed over late by a stalled main thread: counted, not timed).

export interface ArrivalInterval {
  jitterMs: number;
  queueDelayMs: number;
  bytes: number; // sealed bytes of media packets that arrived
}

// The baseline is the lowest delay of the last 10 s of arrivals, not of 10 intervals:
// in trouble reports come every 250 ms, and ten of those let a standing queue become
// the baseline in 2.5 s (as native's ReceiveStatistics::kBaseDelayWindow).
export const BASE_DELAY_WINDOW_MS = 10000;

// `timestamp` (u32, wraps) unwrapped against the previous unwrapped one: the nearest
// value with these low 32 bits (a signed 32-bit step).
export function unwrapTimestamp(last: number | undefined, timestamp: number): number {
  if (last === undefined) return timestamp >>> 0;
  return last + ((((timestamp >>> 0) - (last >>> 0)) | 0));
}

export class ArrivalTiming {
  private lastTimestamp: number | undefined; // unwrapped, 48 kHz samples
  private lastRelativeMs = 0;
  private lastTimestampTimed = false; // lastRelativeMs belongs to the last packet
  private frameSamples = 0;
  private jitterMs = 0;
  private bytes = 0;
  private delaySumMs = 0;
  private delayCount = 0;
  private intervalMinMs: number | undefined;
  private lastArrivalMs: number | undefined;
  // Interval minima within BASE_DELAY_WINDOW_MS of the newest, with their interval's last arrival.
  private readonly minima: { atMs: number; delayMs: number }[] = [];

  // A media packet whose primary frame starts at RTP `timestamp` (u32) and codes
  // `frameSamples` (from its Opus TOC; 0 if unreadable: the last one's is kept). Its own
  // length, not the timestamp step from the packet before: that step is the previous
  // frame plus any DTX gap, and after a pause or a shorter frame it put one capture end
  // too late, whose too-low delay became the 10 s baseline (a phantom queue). `timed`
  // false: it arrived at some unknown time before `arrivalMs` (its bytes count, its
  // delay does not).
  onArrival(timestamp: number, frameSamples: number, sealedBytes: number, arrivalMs: number, timed = true): void {
    this.bytes += sealedBytes;
    this.lastArrivalMs = arrivalMs;
    if (frameSamples > 0) this.frameSamples = frameSamples;
    const unwrapped = unwrapTimestamp(this.lastTimestamp, timestamp);
    if (!timed) {
      this.lastTimestamp = unwrapped;
      this.lastTimestampTimed = false;
      return;
    }
    // A packet leaves when its frame's last sample is captured: measure from there.
    const relativeMs = arrivalMs - (unwrapped + this.frameSamples) / 48;
    if (this.lastTimestamp !== undefined && this.lastTimestampTimed) {
      this.jitterMs += (Math.abs(relativeMs - this.lastRelativeMs) - this.jitterMs) / 16;
    }
    this.lastTimestamp = unwrapped;
    this.lastTimestampTimed = true;
    this.lastRelativeMs = relativeMs;
    this.delaySumMs += relativeMs;
    ++this.delayCount;
    this.intervalMinMs = this.intervalMinMs === undefined ? relativeMs : Math.min(this.intervalMinMs, relativeMs);
  }

  // The figures since the last call, and starts a new interval.
  takeInterval(): ArrivalInterval {
    const out: ArrivalInterval = { jitterMs: this.jitterMs, queueDelayMs: 0, bytes: this.bytes };
    if (this.intervalMinMs !== undefined && this.lastArrivalMs !== undefined) {
      this.minima.push({ atMs: this.lastArrivalMs, delayMs: this.intervalMinMs });
      while (this.minima[0]!.atMs < this.lastArrivalMs - BASE_DELAY_WINDOW_MS) this.minima.shift();
      const base = Math.min(...this.minima.map((m) => m.delayMs));
      out.queueDelayMs = Math.max(0, this.delaySumMs / this.delayCount - base);
    }
    this.bytes = 0;
    this.delaySumMs = 0;
    this.delayCount = 0;
    this.intervalMinMs = undefined;
    return out;
  }
}
