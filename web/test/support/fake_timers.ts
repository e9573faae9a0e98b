// Simulated time for the signaling tests: timers fire only when the test advances.
import type { Timers } from '../../src/signal/signaling_client';

export class FakeTimers implements Timers {
  private clock = 0;
  private nextHandle = 1;
  private readonly due = new Map<number, { at: number; run: () => void }>();

  now(): number {
    return this.clock;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.due.set(handle, { at: this.clock + ms, run });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  get pending(): number {
    return this.due.size;
  }

  // Moves time forward by `ms`, firing due timers in time order.
  advance(ms: number): void {
    const until = this.clock + ms;
    for (;;) {
      let next: [number, { at: number; run: () => void }] | undefined;
      for (const entry of this.due) if (entry[1].at <= until && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.due.delete(next[0]);
      this.clock = next[1].at;
      next[1].run();
    }
    this.clock = until;
  }
}
