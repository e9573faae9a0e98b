// How long to wait before the next reconnect attempt: exponential from 1 s to 30 s
// with ±20 % jitter, so many clients cut off at once do not come back at once.

export class ReconnectBackoff {
  private attempts = 0;

  // `random` returns [0, 1); injected so tests are deterministic.
  constructor(private readonly random: () => number = Math.random, private readonly firstMs = 1000,
    private readonly maxMs = 30000) {}

  // The delay before the next attempt, in milliseconds; each call counts one attempt.
  nextDelayMs(): number {
    const base = Math.min(this.maxMs, this.firstMs * 2 ** Math.min(this.attempts, 16));
    this.attempts += 1;
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  // A connection worked (logged in): start again from the first delay.
  reset(): void {
    this.attempts = 0;
  }
}
