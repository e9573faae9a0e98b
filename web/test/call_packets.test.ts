// A call's two streams: media and control packets open on the right side, media is
// tried first, unknown control types are passed on, anything else is dropped.
import { beforeAll, describe, expect, it } from 'vitest';
import { CallPackets } from '../src/protocol/call/call_packets';
import { deriveCallKeys } from '../src/protocol/crypto/call_keys';
import { loadSodium } from '../src/protocol/sodium';

beforeAll(async () => {
  await loadSodium();
});

const prk = new Uint8Array(32).fill(0x42);
const packet = { sequence: 1, primary: { timestamp: 960, payload: Uint8Array.of(1, 2, 3) }, redundant: [] };
const report = { expected: 50, received: 49, sentMs: 1001, echoMs: 0, echoDelayMs: 0 };

describe('CallPackets', () => {
  it('carries media and reports between caller and callee', () => {
    const caller = new CallPackets(deriveCallKeys(prk, 'caller'), 0);
    const callee = new CallPackets(deriveCallKeys(prk, 'callee'), 0);
    expect(callee.open(caller.sealMedia(packet, 0))).toEqual({ kind: 'media', packet, counter: 0n });
    expect(caller.open(callee.sealReport(report, 0))).toEqual({ kind: 'report', report });
    const probe = { path: 2, sequence: 7, sentMs: 1234 };
    expect(callee.open(caller.sealProbe(probe, 0))).toEqual({ kind: 'probe', probe });
    const reply = { path: 2, sequence: 7, echoMs: 1234, replyDelayMs: 3 };
    expect(caller.open(callee.sealProbeReply(reply, 0))).toEqual({ kind: 'probe_reply', reply });
    const future = Uint8Array.of(0x7f, 1, 2);
    expect(callee.open(caller.sealControl(future, 0))).toEqual({ kind: 'control', content: future });
    expect(callee.open(caller.sealControl(Uint8Array.of(0x02, 1), 0))).toEqual({ kind: 'dropped', reason: 'probe is 2 bytes, expected 10' });
  });

  it('drops its own packets reflected back, replays and garbage', () => {
    const caller = new CallPackets(deriveCallKeys(prk, 'caller'), 0);
    const callee = new CallPackets(deriveCallKeys(prk, 'callee'), 0);
    const sealed = caller.sealMedia(packet, 0);
    expect(caller.open(sealed).kind).toBe('dropped');
    expect(callee.open(sealed).kind).toBe('media');
    expect(callee.open(sealed)).toEqual({ kind: 'dropped', reason: 'replayed packet' });
    expect(callee.open(new Uint8Array(64).fill(0x41)).kind).toBe('dropped');
    // Same sizes on the wire for media and control of similar length.
    expect(caller.sealReport(report, 0).length).toBe(caller.sealMedia(packet, 0).length);
  });
});
