// When to redial the media WebSocket: 250 ms after a failure, doubling to 4 s at most,
// reset by a successful upgrade (docs/protocol.md, "Media over TLS", Client behaviour;
// as net/tls_media_channel). Pure.

export interface RedialBackoffOptions {
  firstMs: number;
  maxMs: number;
}

export const DEFAULT_REDIAL_BACKOFF: RedialBackoffOptions = { firstMs: 250, maxMs: 4000 };

export class RedialBackoff {
  private nextDelayMs: number;

  constructor(private readonly options: RedialBackoffOptions = DEFAULT_REDIAL_BACKOFF) {
    this.nextDelayMs = options.firstMs;
  }

  // The wait before the next attempt, after a failed or lost connection.
  onFailure(): number {
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.options.maxMs, this.nextDelayMs * 2);
    return delay;
  }

  // A connection upgraded: the next failure waits the first delay again.
  onUpgraded(): void {
    this.nextDelayMs = this.options.firstMs;
  }
}
