// EncoderSequencer: a reconfiguration waits until the encoder gave back every frame (or
// stayed quiet for QUIET_MS: DTX frames it dropped), frames wait behind it in order, and
// packets carry the samples the encoder left out before them.
import { describe, expect, it } from 'vitest';
import { type EncoderStep, EncoderSequencer, QUIET_MS } from '../src/media/encoder_sequencer';

const frame = (ms: number): Float32Array<ArrayBuffer> => new Float32Array(ms * 48);
const describeSteps = (steps: EncoderStep<string>[]): string[] =>
  steps.map((s) => (s.kind === 'configure' ? `configure ${s.config}` : `encode ${s.timestampUs / 1000}+${s.frame.length / 48}`));

describe('EncoderSequencer', () => {
  it('configures at once, then passes frames straight through while nothing waits', () => {
    const seq = new EncoderSequencer<string>();
    expect(describeSteps(seq.configure('20ms', 0))).toEqual(['configure 20ms']);
    expect(describeSteps(seq.frame(frame(20), 0))).toEqual(['encode 0+20']);
    expect(describeSteps(seq.frame(frame(20), 20))).toEqual(['encode 20+20']);
    expect(seq.output(0, 20000, 21)).toEqual({ send: true, skippedSamples: 0, then: [] });
    expect(seq.waiting).toBe(false);
  });

  it('holds a new configuration and the frames behind it until every frame in the encoder came out', () => {
    const seq = new EncoderSequencer<string>();
    seq.configure('20ms', 0);
    seq.frame(frame(20), 0);
    seq.frame(frame(20), 20); // 0..40 ms inside the encoder
    expect(seq.output(0, 20000, 21).then).toEqual([]);
    expect(seq.configure('120ms', 22)).toEqual([]); // 20..40 ms still inside
    expect(seq.frame(frame(120), 40)).toEqual([]);
    expect(seq.waiting).toBe(true);
    const out = seq.output(20000, 20000, 41);
    expect(out.send).toBe(true);
    expect(describeSteps(out.then)).toEqual(['configure 120ms', 'encode 40+120']);
    // The next change waits for that 120 ms frame (a slow encoder, within QUIET_MS).
    expect(seq.configure('20ms', 45)).toEqual([]);
    expect(seq.frame(frame(20), 60)).toEqual([]);
    expect(seq.frame(frame(20), 80)).toEqual([]);
    expect(describeSteps(seq.output(40000, 120000, 90).then)).toEqual(['configure 20ms', 'encode 160+20', 'encode 180+20']);
  });

  it('keeps several changes in order, each one waiting for the frames before it', () => {
    const seq = new EncoderSequencer<string>();
    seq.configure('A', 0);
    seq.frame(frame(20), 0);
    seq.configure('B', 1);
    seq.frame(frame(60), 2);
    seq.configure('C', 3);
    seq.configure('D', 3); // C never had a frame: D replaces it
    seq.frame(frame(40), 4);
    expect(describeSteps(seq.output(0, 20000, 5).then)).toEqual(['configure B', 'encode 20+60']);
    expect(describeSteps(seq.output(20000, 60000, 6).then)).toEqual(['configure D', 'encode 80+40']);
    expect(seq.waiting).toBe(false);
  });

  it('lets a change go after QUIET_MS without packets (the encoder dropped DTX frames), not before', () => {
    const seq = new EncoderSequencer<string>();
    seq.configure('20ms', 0);
    seq.frame(frame(20), 0); // silence: DTX, no packet ever comes
    expect(seq.configure('40ms', 10)).toEqual([]);
    expect(seq.poll(QUIET_MS - 1)).toEqual([]);
    expect(describeSteps(seq.poll(QUIET_MS))).toEqual(['configure 40ms']);
  });

  it('reports the samples the encoder left out before a packet, and drops a packet older than one passed on', () => {
    const seq = new EncoderSequencer<string>();
    seq.configure('120ms', 0);
    for (let i = 0; i < 4; ++i) seq.frame(frame(120), i * 120);
    expect(seq.output(0, 120000, 1).skippedSamples).toBe(0);
    // 120..360 ms were DTX silence: no packets; the packet at 360 ms says 240 ms were left out.
    const after = seq.output(360000, 120000, 2);
    expect(after).toMatchObject({ send: true, skippedSamples: 240 * 48 });
    expect(seq.output(120000, 120000, 3)).toMatchObject({ send: false });
    expect(seq.droppedPackets).toBe(1);
  });
});
