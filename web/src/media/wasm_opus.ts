// Opus in WebAssembly for browsers whose WebCodecs lack it: libopus 1.4 as built by the
// npm package opusscript (MIT; the pure-JS fallback discord.js relies on, ~2M installs a
// month; encoder and decoder in one 310 KB module). Loaded only when needed, from its
// own asset, compiled asynchronously (Chromium refuses synchronous compiles of more
// than 4 KB on the main thread). Same settings as the native sender. Main thread.
import type { EncodedFrame } from '../protocol/media/media_packet';
import { NATIVE_OPUS_SETTINGS, OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE, type OpusEncoderSettings } from './opus_encoder';

// What the Emscripten module exposes (opusscript's OpusScriptHandler, via embind).
interface OpusHandler {
  _encode(inputPointer: number, inputBytes: number, outputPointer: number, frameSamples: number): number;
  _decode(inputPointer: number, inputBytes: number, outputPointer: number): number;
  _encoder_ctl(ctl: number, value: number): number;
}
interface OpusNativeModule {
  ready: Promise<unknown>;
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  OpusScriptHandler: (new (rate: number, channels: number, application: number) => OpusHandler) &
    { destroy_handler(handler: OpusHandler): void };
}

const APPLICATION_VOIP = 2048;
const SET_BITRATE = 4002;
const SET_VBR = 4006;
const SET_COMPLEXITY = 4010;
const SET_INBAND_FEC = 4012;
const SET_PACKET_LOSS_PERC = 4014;
const SET_DTX = 4016;
const SET_SIGNAL = 4024;
const SIGNAL_VOICE = 3001;
const MAX_PACKET_BYTES = 1276 * 3;
const MAX_FRAME_SAMPLES = 2880; // 60 ms

let loaded: Promise<OpusNativeModule> | undefined;

// Loads the module once. `wasmBytes`: the module's bytes (tests in node read the file);
// in a browser they are fetched from the built asset.
export function loadWasmOpus(wasmBytes?: ArrayBuffer): Promise<OpusNativeModule> {
  loaded ??= (async () => {
    const bytes = wasmBytes ?? await (await fetch((await import('opusscript/build/opusscript_native_wasm.wasm?url')).default))
      .arrayBuffer();
    // Compiled asynchronously; the glue then instantiates it synchronously, since it
    // takes the module's exports from instantiateWasm's return value.
    const compiled = await WebAssembly.compile(bytes);
    const factory = (await import('opusscript/build/opusscript_native_wasm.js')).default;
    const module = factory({
      instantiateWasm: (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => unknown) =>
        done(new WebAssembly.Instance(compiled, imports)),
      print: () => undefined,
      printErr: () => undefined,
    }) as OpusNativeModule;
    await module.ready;
    return module;
  })();
  return loaded;
}

// One handler and its buffers in the module's heap. opusscript's ABI, as its index.js
// uses it: 16-bit samples go in as bytes, one byte per 16-bit heap slot, and come out so.
class Handler {
  readonly handler: OpusHandler;
  private readonly pcmPointer: number;
  private readonly opusPointer: number;

  constructor(private readonly m: OpusNativeModule) {
    this.handler = new m.OpusScriptHandler(OPUS_SAMPLE_RATE, 1, APPLICATION_VOIP);
    this.pcmPointer = m._malloc(MAX_FRAME_SAMPLES * 2 * 2);
    this.opusPointer = m._malloc(MAX_PACKET_BYTES);
  }

  encode(frame: Float32Array): Uint8Array {
    const pcm = new Int16Array(frame.length);
    for (let i = 0; i < frame.length; ++i) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(frame[i]! * 32767)));
    const bytes = new Uint8Array(pcm.buffer);
    this.m.HEAPU16.set(bytes, this.pcmPointer >> 1);
    const length = this.handler._encode(this.pcmPointer, bytes.length, this.opusPointer, frame.length);
    if (length < 0) throw new Error(`the WebAssembly Opus encoder failed (error ${length})`);
    return this.m.HEAPU8.slice(this.opusPointer, this.opusPointer + length);
  }

  decode(packet: Uint8Array): Float32Array<ArrayBuffer> {
    if (packet.length > MAX_PACKET_BYTES) throw new Error('Opus packet too large');
    this.m.HEAPU8.set(packet, this.opusPointer);
    const samples = this.handler._decode(this.opusPointer, packet.length, this.pcmPointer);
    if (samples < 0) throw new Error(`the WebAssembly Opus decoder refused a packet (error ${samples})`);
    const slots = this.m.HEAPU16.subarray(this.pcmPointer >> 1, (this.pcmPointer >> 1) + samples * 2);
    const bytes = Uint8Array.from(slots, (v) => v & 0xff);
    const pcm = new Int16Array(bytes.buffer);
    return Float32Array.from(pcm, (v) => v / 32768);
  }

  ctl(ctl: number, value: number): void {
    this.handler._encoder_ctl(ctl, value);
  }

  close(): void {
    this.m.OpusScriptHandler.destroy_handler(this.handler);
    this.m._free(this.pcmPointer);
    this.m._free(this.opusPointer);
  }
}

// The same interface as OpusFrameEncoder, synchronous.
export class WasmOpusEncoder {
  private settings: OpusEncoderSettings;
  failure: string | undefined;

  private constructor(private readonly handler: Handler, private readonly onPacket: (packet: Uint8Array) => void,
    settings: OpusEncoderSettings) {
    this.settings = settings;
    handler.ctl(SET_BITRATE, settings.bitrateBps);
    handler.ctl(SET_VBR, 1);
    handler.ctl(SET_COMPLEXITY, settings.complexity);
    handler.ctl(SET_DTX, 0);
    handler.ctl(SET_SIGNAL, SIGNAL_VOICE);
    this.applyFec();
  }

  static async create(onPacket: (packet: Uint8Array) => void, settings: OpusEncoderSettings = NATIVE_OPUS_SETTINGS,
    wasmBytes?: ArrayBuffer): Promise<WasmOpusEncoder> {
    return new WasmOpusEncoder(new Handler(await loadWasmOpus(wasmBytes)), onPacket, settings);
  }

  encode(frame: Float32Array): void {
    if (this.failure !== undefined) return;
    if (frame.length !== OPUS_FRAME_SAMPLES) throw new Error('the Opus encoder takes 20 ms frames');
    try {
      this.onPacket(this.handler.encode(frame));
    } catch (e) {
      this.failure = `The browser's Opus encoder failed (${(e as Error).message}); hang up and call again.`;
    }
  }

  setFec(fec: boolean, expectedLossPercent: number): void {
    this.settings = { ...this.settings, fec, expectedLossPercent };
    this.applyFec();
  }

  close(): void {
    this.handler.close();
  }

  private applyFec(): void {
    this.handler.ctl(SET_INBAND_FEC, this.settings.fec ? 1 : 0);
    this.handler.ctl(SET_PACKET_LOSS_PERC, this.settings.fec ? this.settings.expectedLossPercent : 0);
  }
}

// The same interface as OpusFrameDecoder, synchronous.
export class WasmOpusDecoder {
  failures = 0;

  private constructor(private readonly handler: Handler,
    private readonly onFrame: (timestamp: number, pcm: Float32Array) => void) {}

  static async create(onFrame: (timestamp: number, pcm: Float32Array) => void,
    wasmBytes?: ArrayBuffer): Promise<WasmOpusDecoder> {
    return new WasmOpusDecoder(new Handler(await loadWasmOpus(wasmBytes)), onFrame);
  }

  decode(frame: EncodedFrame): void {
    let pcm: Float32Array;
    try {
      pcm = this.handler.decode(frame.payload);
    } catch {
      ++this.failures;
      return;
    }
    this.onFrame(frame.timestamp, pcm);
  }

  close(): void {
    this.handler.close();
  }
}
