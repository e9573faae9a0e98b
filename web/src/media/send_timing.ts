// How late the browser itself hands its media packets to the socket, against their
// media clock: a stall of the page's main thread, of capture or of the encoder holds
// packets back and then sends them in a burst, which the peer measures as one-way delay
// growth and reports as a queue. Measured as the peer measures arrivals (send time less
// the end of the packet's frame, above the lowest of the last 10 s), so the part of a
// reported queue that is our own lateness can be taken off. Pure: ms, monotonic.

import { BASE_DELAY_WINDOW_MS, unwrapTimestamp } from './arrival_timing';

// Kept a little longer than the peer's baseline window, for the report windows before it.
const KEEP_MS = BASE_DELAY_WINDOW_MS + 3000;

interface SentPacket {
  atMs: number;
  latenessMs: number; // send time less the end of its frame on the media clock (+ a constant)
}

// Single-threaded; `sentMs` must not go back.
export class SendTiming {
  private lastTimestamp: number | undefined; // unwrapped, 48 kHz samples
  private readonly sent: SentPacket[] = [];

  // A media packet whose primary frame starts at RTP `timestamp` (u32) and codes
  // `frameSamples` (48 kHz), handed to the socket at `sentMs`.
  onSent(timestamp: number, frameSamples: number, sentMs: number): void {
    const unwrapped = unwrapTimestamp(this.lastTimestamp, timestamp);
    this.lastTimestamp = unwrapped;
    this.sent.push({ atMs: sentMs, latenessMs: sentMs - (unwrapped + frameSamples) / 48 });
    while (this.sent[0]!.atMs < sentMs - KEEP_MS) this.sent.shift();
  }

  // The mean lateness (ms) above the lowest of the 10 s before `toMs` of the packets sent
  // in [fromMs, toMs): what the peer's queue estimate for them holds of our own delay.
  // 0 if none were sent then.
  excessMs(fromMs: number, toMs: number): number {
    let base = Infinity;
    let sum = 0;
    let count = 0;
    for (const p of this.sent) {
      if (p.atMs >= toMs) break;
      if (p.atMs < toMs - BASE_DELAY_WINDOW_MS) continue;
      base = Math.min(base, p.latenessMs);
      if (p.atMs >= fromMs) {
        sum += p.latenessMs;
        ++count;
      }
    }
    return count === 0 ? 0 : Math.max(0, sum / count - base);
  }
}
