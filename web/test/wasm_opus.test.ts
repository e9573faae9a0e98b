// The WebAssembly Opus fallback (libopus from @evan/opus) round-trips speech-like audio in
// node: what the decoder gives back is the tone that went in, Opus' delay aside.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { WasmOpusDecoder, WasmOpusEncoder } from '../src/media/wasm_opus';

const wasmPath = createRequire(import.meta.url).resolve('@evan/opus/wasm/opus.wasm');
const wasmBytes = (): ArrayBuffer => {
  const b = readFileSync(wasmPath);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

const tone = (t: number): number => 0.4 * Math.sin((2 * Math.PI * 220 * t) / 48000) + 0.2 * Math.sin((2 * Math.PI * 660 * t) / 48000);

describe('WebAssembly Opus', () => {
  it('encodes 20 ms frames at about 24 kbit/s and decodes them back to the same audio', async () => {
    const packets: Uint8Array[] = [];
    const encoder = await WasmOpusEncoder.create((p) => packets.push(p), undefined, wasmBytes());
    for (let i = 0; i < 100; ++i) encoder.encode(Float32Array.from({ length: 960 }, (_, k) => tone(i * 960 + k)));
    expect(packets.length).toBe(100);
    const bytes = packets.reduce((n, p) => n + p.length, 0);
    expect((bytes * 8) / 2 / 1000).toBeGreaterThan(12); // kbit/s over 2 s
    expect((bytes * 8) / 2 / 1000).toBeLessThan(40);

    const decoded: Float32Array[] = [];
    const decoder = await WasmOpusDecoder.create((timestamp, pcm) => {
      expect(timestamp).toBe(decoded.length * 960);
      decoded.push(pcm);
    }, wasmBytes());
    packets.forEach((payload, i) => decoder.decode({ timestamp: i * 960, payload }));
    expect(decoded.every((d) => d.length === 960)).toBe(true);
    const out = new Float32Array(96000);
    decoded.forEach((d, i) => out.set(d, i * 960));
    // Best correlation over Opus' algorithmic delay (a few ms), on the second second.
    let best = 0;
    for (let lag = 0; lag < 600; ++lag) {
      let dot = 0;
      let ea = 0;
      let eb = 0;
      for (let k = 48000; k < 96000 - 960; k += 7) {
        const a = out[k]!;
        const b = tone(k - lag);
        dot += a * b;
        ea += a * a;
        eb += b * b;
      }
      best = Math.max(best, dot / Math.sqrt(ea * eb));
    }
    expect(best).toBeGreaterThan(0.9);
    decoder.decode({ timestamp: 0, payload: Uint8Array.of(0xff, 0xff, 0xff) });
    expect(decoder.failures + decoded.length).toBeGreaterThanOrEqual(100);
    encoder.close();
    decoder.close();
  });
});
