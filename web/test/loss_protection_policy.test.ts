// The browser's LossProtectionPolicy steps down as native's does: calm counts from the
// first clean report, so copies (and their 60 ms frames) end 5 calm reports after 15 %
// loss and FEC 5 later, while bursts every other report keep the level.
import { describe, expect, it } from 'vitest';
import { LossProtectionPolicy } from '../src/media/loss_protection_policy';

describe('LossProtectionPolicy (web)', () => {
  it('counts calm from the first clean report, as native does', () => {
    const policy = new LossProtectionPolicy();
    for (let i = 0; i < 10; ++i) policy.onLossReport(0.15);
    expect(policy.current.redundantDistances).toEqual([1, 2]);
    for (let i = 0; i < 4; ++i) policy.onLossReport(0);
    expect(policy.current.redundantDistances).toEqual([1, 2]);
    policy.onLossReport(0);
    expect(policy.current.redundantDistances).toEqual([]);
    expect(policy.current.fec).toBe(true); // the smoothed loss still asks for FEC
    for (let i = 0; i < 4; ++i) policy.onLossReport(0);
    policy.onLossReport(0.02); // FEC's level: starts the count over
    for (let i = 0; i < 4; ++i) policy.onLossReport(0);
    expect(policy.current.fec).toBe(true);
    policy.onLossReport(0);
    expect(policy.current.fec).toBe(false);
    for (let i = 0; i < 10; ++i) policy.onLossReport(i % 2 === 0 ? 0.1 : 0);
    expect(policy.current.redundantDistances).toEqual([1, 2]);
  });
});
