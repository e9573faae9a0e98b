// The media WebSocket's redial delays: 250 ms doubling to 4 s, reset by an upgrade.
import { describe, expect, it } from 'vitest';
import { RedialBackoff } from '../src/transport/redial_backoff';

describe('RedialBackoff', () => {
  it('doubles from 250 ms to at most 4 s and starts again after an upgrade', () => {
    const backoff = new RedialBackoff();
    expect([1, 2, 3, 4, 5, 6, 7].map(() => backoff.onFailure())).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000]);
    backoff.onUpgraded();
    expect(backoff.onFailure()).toBe(250);
  });
});
