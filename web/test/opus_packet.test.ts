// Opus packet durations from the TOC (RFC 6716 §3.1-3.2), and the WebAssembly decoder
// playing data saving's 120 ms packets (several frames in one packet) whole.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { opusPacketSamples } from '../src/media/opus_packet';
import { loadWasmOpus, WasmOpusDecoder } from '../src/media/wasm_opus';

const wasmPath = createRequire(import.meta.url).resolve('@evan/opus/wasm/opus.wasm');
const wasmBytes = (): ArrayBuffer => {
  const b = readFileSync(wasmPath);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

describe('opusPacketSamples', () => {
  it('reads the frame size and count', () => {
    expect(opusPacketSamples(Uint8Array.of(1 << 3, 0xaa))).toBe(960); // SILK NB 20 ms, code 0
    expect(opusPacketSamples(Uint8Array.of((3 << 3) | 1, 0xaa))).toBe(5760); // SILK NB 60 ms x 2
    expect(opusPacketSamples(Uint8Array.of((11 << 3) | 3, 2, 1, 1))).toBe(5760); // SILK WB 60 ms, code 3 x 2
    expect(opusPacketSamples(Uint8Array.of((9 << 3) | 3, 3, 1, 1, 1))).toBe(2880); // SILK WB 20 ms x 3
    expect(opusPacketSamples(Uint8Array.of((13 << 3) | 2, 1, 1))).toBe(1920); // hybrid 20 ms x 2
    expect(opusPacketSamples(Uint8Array.of(16 << 3))).toBe(120); // CELT 2.5 ms
    expect(opusPacketSamples(Uint8Array.of((31 << 3) | 3, 6))).toBe(5760); // CELT 20 ms x 6
  });

  it('says 0 for what it cannot tell or Opus forbids', () => {
    expect(opusPacketSamples(new Uint8Array(0))).toBe(0);
    expect(opusPacketSamples(Uint8Array.of((1 << 3) | 3))).toBe(0); // code 3 without its count
    expect(opusPacketSamples(Uint8Array.of((3 << 3) | 3, 3))).toBe(0); // 180 ms
    expect(opusPacketSamples(Uint8Array.of((31 << 3) | 3, 0))).toBe(0); // no frames
  });
});

describe('WebAssembly Opus decoder', () => {
  it('plays 120 ms packets at data saving\'s 6 kbit/s whole', async () => {
    // The sender side here is libopus from the same module, set as native data saving.
    const x = await loadWasmOpus(wasmBytes());
    const state = x.malloc(x.opus_encoder_get_size(1));
    expect(x.opus_encoder_init(state, 48000, 1, 2048)).toBe(0);
    expect(x.opus_encoder_ctl_set(state, 4002, 6000)).toBe(0); // bitrate
    const pcm = x.malloc(5760 * 2);
    const out = x.malloc(200);
    const packets: Uint8Array[] = [];
    for (let p = 0; p < 10; ++p) {
      const samples = new Int16Array(x.memory.buffer, pcm, 5760);
      for (let i = 0; i < 5760; ++i) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 180 * (p * 5760 + i)) / 48000));
      const bytes = x.opus_encode(state, pcm, 5760, out, 96); // native's cap: 128-byte bucket
      expect(bytes).toBeGreaterThan(2);
      packets.push(new Uint8Array(x.memory.buffer, out, bytes).slice());
    }
    x.free(state);
    x.free(pcm);
    x.free(out);
    for (const p of packets) expect(opusPacketSamples(p)).toBe(5760);

    const decoded: { timestamp: number; length: number; rms: number }[] = [];
    const decoder = await WasmOpusDecoder.create((timestamp, samples) => {
      let sum = 0;
      for (const v of samples) sum += v * v;
      decoded.push({ timestamp, length: samples.length, rms: Math.sqrt(sum / samples.length) });
    }, wasmBytes());
    packets.forEach((payload, i) => decoder.decode({ timestamp: 1000 + i * 5760, payload }));
    expect(decoder.failures).toBe(0);
    expect(decoded.map((d) => d.timestamp)).toEqual(packets.map((_, i) => 1000 + i * 5760));
    expect(decoded.every((d) => d.length === 5760)).toBe(true);
    // Audio, not silence: the tone's level (0.17 RMS) within a factor of 3 once running.
    for (const d of decoded.slice(2)) {
      expect(d.rms).toBeGreaterThan(0.06);
      expect(d.rms).toBeLessThan(0.5);
    }
    decoder.close();
  });
});
