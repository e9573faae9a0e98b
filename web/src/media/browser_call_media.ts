// The media of one connected browser call: microphone -> capture AudioWorklet -> Opus
// (WebCodecs) -> CallMediaCore (media payload, sealing) -> relay session -> media
// WebSocket; and back: WebSocket -> relay session -> CallMediaCore (open, copies) ->
// Opus decoder -> playout AudioWorklet (PlayoutBuffer) -> speakers. The peer's quality
// reports steer the encoder (bitrate, frame length via FrameGrouper, FEC, DTX). The app
// (web/src/app) calls only this module's API. Main thread; keys never leave the page
// and the server sees only sealed packets.
import type { CallKeys } from '../protocol/crypto/call_keys';
import type { MessageOf } from '../protocol/signal/messages';
import { loadSodium, sodium } from '../protocol/sodium';
import { MediaSocket } from '../transport/media_socket';
import { RelayClientSession, relayCredentials } from '../transport/relay_client_session';
import type { SenderSettings } from './bitrate_controller';
import { CallMediaCore } from './call_media_core';
import { FrameGrouper } from './frame_grouper';
import { OpusFrameDecoder } from './opus_decoder';
import {
  DTX_PACKET_MAX_BYTES, NATIVE_OPUS_SETTINGS, type OnOpusPacket, OpusFrameEncoder, type OpusEncoderSettings,
} from './opus_encoder';
import { WasmOpusDecoder, WasmOpusEncoder } from './wasm_opus';
import type { PlayoutStats } from './playout_buffer';
import {
  CAPTURE_PROCESSOR, type CapturedFrame, type FromPlayout, PLAYOUT_PROCESSOR, type ToPlayout,
} from './worklet_messages';

export type RelayMessage = MessageOf<'relay'>;

export interface BrowserCallMediaOptions {
  mediaSocketUrl: string; // wss://host/ws/.../m/<base64url ticket>
  relay: RelayMessage; // the `relay` signaling message (ticket, hop_key, bind_key, ...)
  callKeys: CallKeys; // result of the end-to-end key agreement
  isCaller: boolean;
  microphone: MediaStream; // getUserMedia({audio:{echoCancellation:true,noiseSuppression:true,autoGainControl:true}})
  audioContext: AudioContext; // created by the app on a user gesture, 48 kHz
  // performance.now() when the `relay` message arrived (binds count their elapsed time
  // from it; the relay accepts +-30 s). Default: when start() is called.
  relayReceivedAtMs?: number;
  // Which Opus: WebCodecs where the browser has it, else WebAssembly ('auto', the
  // default); the others force one (tests).
  opus?: OpusImplementation;
}

export type OpusImplementation = 'auto' | 'webcodecs' | 'wasm';

interface FrameEncoder {
  encode(frame: Float32Array<ArrayBuffer>): void;
  apply(change: Partial<OpusEncoderSettings>): void;
  poll?(): void; // every tick: lets a reconfiguration that waits go (WebCodecs)
  close(): void;
}
interface FrameDecoder {
  decode(frame: { timestamp: number; payload: Uint8Array }): void;
  close(): void;
}
type OnFrame = (timestamp: number, pcm: Float32Array) => void;

// What the encoder takes from the bitrate controller's settings.
function encoderSettings(s: SenderSettings): OpusEncoderSettings {
  return {
    ...NATIVE_OPUS_SETTINGS, bitrateBps: s.opusBitrateBps, fec: s.protection.fec,
    expectedLossPercent: s.protection.fecExpectedLossPercent, frameMs: s.frameMs, dtx: s.dtx,
    maxPacketBytes: s.maxOpusBytes,
  };
}

// WebCodecs first; its errors say what is missing. The WebAssembly build is loaded only
// when WebCodecs cannot do Opus (or when asked for).
async function makeCodecs(which: OpusImplementation, settings: OpusEncoderSettings, onPacket: OnOpusPacket,
  onFrame: OnFrame): Promise<{ encoder: FrameEncoder; decoder: FrameDecoder; implementation: 'webcodecs' | 'wasm' }> {
  if (which !== 'wasm') {
    try {
      return { encoder: await OpusFrameEncoder.create(onPacket, settings), decoder: await OpusFrameDecoder.create(onFrame),
        implementation: 'webcodecs' };
    } catch (e) {
      if (which === 'webcodecs') throw e;
    }
  }
  try {
    return { encoder: await WasmOpusEncoder.create(onPacket, settings), decoder: await WasmOpusDecoder.create(onFrame),
      implementation: 'wasm' };
  } catch (e) {
    throw new Error(`This browser has no Opus codec for calls (WebCodecs lacks it and the WebAssembly one did not ` +
      `load: ${(e as Error).message}); use a current Chrome, Edge, Firefox or Safari.`);
  }
}

export interface CallQuality {
  path: 'relay-tls';
  connected: boolean; // the relay acknowledged our bind on the media WebSocket
  rttMs?: number; // from the receiver reports
  lossPercent: number; // of the media we receive, last report interval (before recovery)
  jitterBufferMs: number; // audio buffered for playout now
  sendKbps: number; // sealed packets sent, last interval
  receiveKbps: number; // sealed packets received, last interval
  targetKbps: number; // the bitrate controller's wire budget
  opusKbps: number; // what the encoder is set to
  frameMs: number; // the Opus frame length sent
  // Since the call started, sealed packets (media, reports, replies) handed to the media
  // socket and their bytes: a test's measure of the wire rate (+28 bytes a packet of UDP/IPv4
  // past the relay, as the budget counts).
  sealedPacketsSent: number;
  sealedBytesSent: number;
  // Times the page's main thread was held up 50 ms or more during the call, and how much
  // of the queue the peer last reported was the page's own sending lateness (ms), not
  // counted as a queue (CallMediaCore).
  mainThreadStalls: number;
  ownSendDelayMs: number;
}

const TICK_MS = 20;
const PEER_SILENT_AFTER_MS = 5000;
const BYE_COPIES = 3; // as native: one may be lost between the front and the relay

async function addWorklets(context: AudioContext): Promise<void> {
  if (!context.audioWorklet) {
    throw new Error('This browser has no AudioWorklet, which calls need; use a current browser on a page opened over https.');
  }
  const [capture, playout] = await Promise.all([import('./capture_worklet.ts?worker&url'),
    import('./playout_worklet.ts?worker&url')]);
  await context.audioWorklet.addModule(capture.default);
  await context.audioWorklet.addModule(playout.default);
}

export class BrowserCallMedia {
  // Called about once a second while nothing authentic has arrived from the peer for
  // 5 s or more (ms since the last authentic packet, or since the start).
  onPeerSilent?: (silentForMs: number) => void;
  // Called once when the peer's bye arrives (it hung up on the media path).
  onPeerBye?: () => void;
  private byeReported = false;

  private muted = false;
  private stopped = false;
  private playoutStats: PlayoutStats | undefined;
  private recording: Float32Array[] | undefined;
  private lastSilentReportMs = 0;
  private sealedPacketsSent = 0;
  private sealedBytesSent = 0;
  private readonly tickTimer: ReturnType<typeof setInterval>;
  private readonly startedMs: number;
  private readonly grouper: FrameGrouper;

  private constructor(
    private readonly core: CallMediaCore,
    private readonly socket: MediaSocket,
    private readonly encoder: FrameEncoder,
    private readonly decoder: FrameDecoder,
    readonly opusImplementation: 'webcodecs' | 'wasm',
    private readonly source: MediaStreamAudioSourceNode,
    private readonly capture: AudioWorkletNode,
    private readonly mute: GainNode,
    private readonly playout: AudioWorkletNode,
  ) {
    this.startedMs = performance.now();
    this.grouper = new FrameGrouper(core.sender.frameMs);
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
  }

  // Opens the media WebSocket, binds the ticket, starts capture and playout. Call only
  // after the call was accepted (no media before accept). Rejects with one clear
  // sentence if the browser lacks what media needs (WebCodecs Opus, AudioWorklet).
  static async start(options: BrowserCallMediaOptions): Promise<BrowserCallMedia> {
    await loadSodium();
    const context = options.audioContext;
    const relay = options.relay;
    const credentials = relayCredentials(relay.ticket, relay.hop_key, relay.bind_key);
    const now = performance.now();
    const random = sodium().randombytes_buf(6);
    const view = new DataView(random.buffer, random.byteOffset, random.byteLength);
    const core = new CallMediaCore(options.callKeys, now, { firstTimestamp: view.getUint32(0), firstSequence: view.getUint16(4) });

    await addWorklets(context);
    if (context.state === 'suspended') await context.resume();

    let media: BrowserCallMedia | undefined;
    const playout = new AudioWorkletNode(context, PLAYOUT_PROCESSOR, {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1],
    });
    let socket: MediaSocket | undefined;
    const codecs = await makeCodecs(options.opus ?? 'auto', encoderSettings(core.sender), (packet, frameSamples, skippedSamples = 0) => {
      // Frames the encoder left out (DTX) still pass on the media clock.
      if (skippedSamples > 0) core.skipFrame(skippedSamples);
      if (core.sender.dtx && packet.length <= DTX_PACKET_MAX_BYTES) core.skipFrame(frameSamples);
      else if (media) {
        // A report that was due goes right before the media packet (CallMediaCore.sealFrame).
        for (const sealed of core.sealFrame(packet, performance.now(), frameSamples)) media.send(sealed);
      }
    }, (timestamp, pcm) => {
      const message: ToPlayout = { type: 'frame', timestamp, pcm: pcm as Float32Array<ArrayBuffer> };
      playout.port.postMessage(message, [message.pcm.buffer]);
    });
    const session = new RelayClientSession(credentials, options.relayReceivedAtMs ?? now);
    socket = new MediaSocket(options.mediaSocketUrl, session, {
      onSealed: (sealed) => media?.onSealed(sealed),
    });

    const source = context.createMediaStreamSource(options.microphone);
    const capture = new AudioWorkletNode(context, CAPTURE_PROCESSOR, {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1, channelCountMode: 'explicit',
    });
    // The capture node makes no sound; a silent gain keeps it pulled by the graph.
    const mute = context.createGain();
    mute.gain.value = 0;
    source.connect(capture);
    capture.connect(mute);
    mute.connect(context.destination);
    playout.connect(context.destination);

    media = new BrowserCallMedia(core, socket, codecs.encoder, codecs.decoder, codecs.implementation, source, capture,
      mute, playout);
    const created = media;
    capture.port.onmessage = (event: MessageEvent<CapturedFrame>) => created.onCaptured(event.data.pcm);
    playout.port.onmessage = (event: MessageEvent<FromPlayout>) => created.onPlayout(event.data);
    return media;
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
  }

  quality(): CallQuality {
    const f = this.core.figures;
    const q: CallQuality = {
      path: 'relay-tls',
      connected: this.socket.state === 'ready',
      lossPercent: Math.round(f.receiveLossFraction * 1000) / 10,
      jitterBufferMs: Math.round(this.playoutStats?.levelMs ?? 0),
      sendKbps: Math.round(f.sendKbps * 10) / 10,
      receiveKbps: Math.round(f.receiveKbps * 10) / 10,
      targetKbps: Math.round(f.targetWireKbps * 10) / 10,
      opusKbps: this.core.sender.opusBitrateBps / 1000,
      frameMs: this.core.sender.frameMs,
      sealedPacketsSent: this.sealedPacketsSent,
      sealedBytesSent: this.sealedBytesSent,
      mainThreadStalls: f.mainThreadStalls,
      ownSendDelayMs: Math.round(f.ownSendDelayMs ?? 0),
    };
    if (f.rttMs !== undefined) q.rttMs = f.rttMs;
    return q;
  }

  // The playout buffer's own figures (target, concealment, late frames), for tests and
  // a details view; undefined until the worklet first reports.
  playoutDetails(): PlayoutStats | undefined {
    return this.playoutStats;
  }

  // Closes the socket, stops capture and playout. Safe to call twice. The microphone
  // stream stays the app's to stop.
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.tickTimer);
    // The call ends here however it ended: the peer's media path learns it even when
    // its signaling connection is away (the server keeps such calls; protocol.md).
    if (!this.core.peerSaidBye && this.socket.state === 'ready') {
      for (let i = 0; i < BYE_COPIES; ++i) this.socket.send(this.core.sealBye(performance.now()));
    }
    this.socket.close();
    this.source.disconnect();
    this.capture.disconnect();
    this.capture.port.onmessage = null;
    this.mute.disconnect();
    this.playout.disconnect();
    this.playout.port.onmessage = null;
    this.encoder.close();
    this.decoder.close();
  }

  // Test hook: what was actually played out (after the jitter buffer), 48 kHz mono
  // (the AudioContext's rate), from startRecording() on.
  startRecording(): void {
    this.recording = [];
    const message: ToPlayout = { type: 'record', on: true };
    this.playout.port.postMessage(message);
  }

  // What arrived from the worklet so far (up to ~43 ms behind), and stops recording.
  takeRecording(): Float32Array {
    const chunks = this.recording ?? [];
    this.recording = undefined;
    const message: ToPlayout = { type: 'record', on: false };
    this.playout.port.postMessage(message);
    const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private send(sealed: Uint8Array): void {
    ++this.sealedPacketsSent;
    this.sealedBytesSent += sealed.length;
    this.socket.send(sealed);
  }

  private onCaptured(pcm: Float32Array<ArrayBuffer>): void {
    if (this.stopped) return;
    if (this.muted) pcm.fill(0);
    const frame = this.grouper.push(pcm);
    if (frame) this.encoder.encode(frame);
  }

  private onSealed(sealed: Uint8Array): void {
    if (this.stopped) return;
    const arrived = this.core.onSealed(sealed, performance.now());
    if (arrived.reply) this.send(arrived.reply);
    for (const frame of arrived.decode) this.decoder.decode(frame);
    if (this.core.peerSaidBye && !this.byeReported) {
      this.byeReported = true;
      this.onPeerBye?.();
    }
  }

  private onPlayout(message: FromPlayout): void {
    if (message.type === 'stats') this.playoutStats = message.stats;
    else if (this.recording) this.recording.push(message.pcm);
  }

  private tick(): void {
    const now = performance.now();
    if (this.playoutStats) this.core.noteJitterBufferMs(this.playoutStats.levelMs);
    for (const report of this.core.tick(now)) this.send(report);
    const change = this.core.takeSenderChange();
    if (change) {
      // The frame length from the next packet on: the grouper hands the encoder whole
      // frames of it, and the encoder is configured for each frame's own length.
      this.encoder.apply(encoderSettings(change));
      this.grouper.setFrameMs(change.frameMs);
    }
    this.encoder.poll?.();
    const silentFor = now - (this.core.figures.lastAuthenticMs ?? this.startedMs);
    if (silentFor >= PEER_SILENT_AFTER_MS && now - this.lastSilentReportMs >= 1000) {
      this.lastSilentReportMs = now;
      this.onPeerSilent?.(silentFor);
    }
  }
}
