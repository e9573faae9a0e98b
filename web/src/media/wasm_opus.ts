// Opus in WebAssembly for browsers whose WebCodecs lack it: libopus as a standalone
// WebAssembly module with plain C exports, from the npm package @evan/opus (MIT). Chosen
// over opusscript (libopus via Emscripten's embind), which the page's Content Security
// Policy refuses since embind builds functions with eval; this module needs only
// 'wasm-unsafe-eval'. Its own JS loader reads the file with node's fs, so the few calls
// are bound here. Loaded only when needed, from its own asset, compiled asynchronously.
// Same settings as the native sender. Main thread.
import type { EncodedFrame } from '../protocol/media/media_packet';
import {
  NATIVE_OPUS_SETTINGS, OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE, type OnOpusPacket, type OpusEncoderSettings,
} from './opus_encoder';

// The module's exports that are used (libopus' API with pointers into its memory).
interface OpusExports {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(pointer: number): void;
  opus_encoder_get_size(channels: number): number;
  opus_encoder_init(state: number, rate: number, channels: number, application: number): number;
  opus_encoder_ctl_set(state: number, ctl: number, value: number): number;
  opus_encode(state: number, pcm: number, frameSamples: number, out: number, maxBytes: number): number;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(state: number, rate: number, channels: number): number;
  opus_decode(state: number, data: number, bytes: number, pcm: number, maxSamples: number, fec: number): number;
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
const MAX_PACKET_BYTES = 4000;
const MAX_FRAME_SAMPLES = 5760; // 120 ms

let loaded: Promise<OpusExports> | undefined;

// Loads the module once. `wasmBytes`: the module's bytes (tests in node read the file);
// in a browser they are fetched from the built asset.
export function loadWasmOpus(wasmBytes?: ArrayBuffer): Promise<OpusExports> {
  loaded ??= (async () => {
    const bytes = wasmBytes ?? await (await fetch((await import('@evan/opus/wasm/opus.wasm?url')).default)).arrayBuffer();
    const { instance } = await WebAssembly.instantiate(bytes, {
      wasi_snapshot_preview1: { fd_seek: () => 0, fd_write: () => 0, fd_close: () => 0, proc_exit: () => undefined },
      env: { emscripten_notify_memory_growth: () => undefined }, // views are made per call
    });
    return instance.exports as unknown as OpusExports;
  })();
  return loaded;
}

function check(code: number, what: string): number {
  if (code < 0) throw new Error(`the WebAssembly Opus ${what} failed (libopus error ${code})`);
  return code;
}

// One encoder or decoder state and its buffers in the module's memory.
class OpusState {
  readonly state: number;
  readonly pcm: number; // MAX_FRAME_SAMPLES 16-bit samples
  readonly data: number; // MAX_PACKET_BYTES

  constructor(readonly x: OpusExports, stateBytes: number) {
    this.state = x.malloc(stateBytes);
    this.pcm = x.malloc(MAX_FRAME_SAMPLES * 2);
    this.data = x.malloc(MAX_PACKET_BYTES);
  }

  free(): void {
    this.x.free(this.state);
    this.x.free(this.pcm);
    this.x.free(this.data);
  }
}

// The same interface as OpusFrameEncoder, synchronous.
export class WasmOpusEncoder {
  private settings: OpusEncoderSettings;
  failure: string | undefined;

  private constructor(private readonly s: OpusState, private readonly onPacket: OnOpusPacket,
    settings: OpusEncoderSettings) {
    this.settings = settings;
    check(s.x.opus_encoder_init(s.state, OPUS_SAMPLE_RATE, 1, APPLICATION_VOIP), 'encoder');
    this.ctl(SET_BITRATE, settings.bitrateBps);
    this.ctl(SET_VBR, 1);
    this.ctl(SET_COMPLEXITY, settings.complexity);
    this.ctl(SET_DTX, settings.dtx ? 1 : 0);
    this.ctl(SET_SIGNAL, SIGNAL_VOICE);
    this.applyFec();
  }

  static async create(onPacket: OnOpusPacket, settings: OpusEncoderSettings = NATIVE_OPUS_SETTINGS,
    wasmBytes?: ArrayBuffer): Promise<WasmOpusEncoder> {
    const x = await loadWasmOpus(wasmBytes);
    return new WasmOpusEncoder(new OpusState(x, x.opus_encoder_get_size(1)), onPacket, settings);
  }

  // One frame of 48 kHz mono (-1..1): 20, 40, 60 or 120 ms.
  encode(frame: Float32Array): void {
    if (this.failure !== undefined) return;
    if (![1, 2, 3, 6].includes(frame.length / OPUS_FRAME_SAMPLES)) {
      throw new Error('the Opus encoder takes frames of 20, 40, 60 or 120 ms');
    }
    const x = this.s.x;
    const pcm = new Int16Array(x.memory.buffer, this.s.pcm, frame.length);
    for (let i = 0; i < frame.length; ++i) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(frame[i]! * 32767)));
    const cap = this.settings.maxPacketBytes > 0 ? Math.min(this.settings.maxPacketBytes, MAX_PACKET_BYTES) : MAX_PACKET_BYTES;
    const length = x.opus_encode(this.s.state, this.s.pcm, frame.length, this.s.data, cap);
    if (length < 0) {
      this.failure = `The browser's Opus encoder failed (libopus error ${length}); hang up and call again.`;
      return;
    }
    this.onPacket(new Uint8Array(x.memory.buffer, this.s.data, length).slice(), frame.length);
  }

  // New settings for the following frames (the frame length is the next frame's own).
  apply(change: Partial<OpusEncoderSettings>): void {
    const was = this.settings;
    this.settings = { ...was, ...change };
    if (this.settings.bitrateBps !== was.bitrateBps) this.ctl(SET_BITRATE, this.settings.bitrateBps);
    if (this.settings.dtx !== was.dtx) this.ctl(SET_DTX, this.settings.dtx ? 1 : 0);
    if (this.settings.complexity !== was.complexity) this.ctl(SET_COMPLEXITY, this.settings.complexity);
    if (this.settings.fec !== was.fec || this.settings.expectedLossPercent !== was.expectedLossPercent) this.applyFec();
  }

  close(): void {
    this.s.free();
  }

  private ctl(ctl: number, value: number): void {
    check(this.s.x.opus_encoder_ctl_set(this.s.state, ctl, value), 'encoder setting');
  }

  private applyFec(): void {
    this.ctl(SET_INBAND_FEC, this.settings.fec ? 1 : 0);
    this.ctl(SET_PACKET_LOSS_PERC, this.settings.fec ? this.settings.expectedLossPercent : 0);
  }
}

// The same interface as OpusFrameDecoder, synchronous.
export class WasmOpusDecoder {
  failures = 0;

  private constructor(private readonly s: OpusState,
    private readonly onFrame: (timestamp: number, pcm: Float32Array) => void) {
    check(s.x.opus_decoder_init(s.state, OPUS_SAMPLE_RATE, 1), 'decoder');
  }

  static async create(onFrame: (timestamp: number, pcm: Float32Array) => void,
    wasmBytes?: ArrayBuffer): Promise<WasmOpusDecoder> {
    const x = await loadWasmOpus(wasmBytes);
    return new WasmOpusDecoder(new OpusState(x, x.opus_decoder_get_size(1)), onFrame);
  }

  decode(frame: EncodedFrame): void {
    const x = this.s.x;
    if (frame.payload.length > MAX_PACKET_BYTES) {
      ++this.failures;
      return;
    }
    new Uint8Array(x.memory.buffer, this.s.data, frame.payload.length).set(frame.payload);
    const samples = x.opus_decode(this.s.state, this.s.data, frame.payload.length, this.s.pcm, MAX_FRAME_SAMPLES, 0);
    if (samples < 0) {
      ++this.failures;
      return;
    }
    const pcm = new Int16Array(x.memory.buffer, this.s.pcm, samples);
    this.onFrame(frame.timestamp, Float32Array.from(pcm, (v) => v / 32768));
  }

  close(): void {
    this.s.free();
  }
}
