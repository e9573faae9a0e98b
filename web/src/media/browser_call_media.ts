// The media of one connected browser call: capture -> Opus (WebCodecs) -> seal -> relay
// data frame on the media WebSocket, and back -> open -> decode -> jitter buffer
// AudioWorklet -> playout. The app (web/src/app) calls only this module's API.
import type { CallKeys } from '../protocol/crypto/call_keys';
import type { MessageOf } from '../protocol/signal/messages';

export type RelayMessage = MessageOf<'relay'>;

export interface BrowserCallMediaOptions {
  mediaSocketUrl: string; // wss://host/ws/.../m/<base64url ticket>
  relay: RelayMessage; // the `relay` signaling message (ticket, hop_key, bind_key, ...)
  callKeys: CallKeys; // result of the end-to-end key agreement
  isCaller: boolean;
  microphone: MediaStream; // getUserMedia({audio:{echoCancellation:true,noiseSuppression:true,autoGainControl:true}})
  audioContext: AudioContext; // created by the app on a user gesture, 48 kHz
}

export interface CallQuality {
  path: 'relay-tls';
  connected: boolean; // the relay acknowledged our bind on the media WebSocket
  rttMs?: number; // from the peer's receiver reports
  lossPercent: number; // of the packets the peer expected from us, last report
  jitterBufferMs: number; // current playout delay target
  sendKbps: number;
  receiveKbps: number;
}

export class BrowserCallMedia {
  // Called when nothing authentic has arrived from the peer for a while (ms since last).
  onPeerSilent?: (silentForMs: number) => void;

  private constructor() {}

  // Opens the media WebSocket, binds the ticket, starts capture and playout. Rejects
  // with one clear sentence if the browser lacks what media needs (WebCodecs Opus or
  // its WebAssembly fallback, AudioWorklet).
  static start(options: BrowserCallMediaOptions): Promise<BrowserCallMedia> {
    void options;
    return Promise.reject(new Error('browser call media is not implemented yet'));
  }

  setMuted(muted: boolean): void {
    void muted;
    throw new Error('not yet');
  }

  quality(): CallQuality {
    throw new Error('not yet');
  }

  // Closes the socket, stops capture and playout. Safe to call twice.
  stop(): void {
    throw new Error('not yet');
  }

  // Test hook: what was actually played out, 48 kHz mono, from startRecording() on.
  startRecording(): void {
    throw new Error('not yet');
  }

  takeRecording(): Float32Array {
    throw new Error('not yet');
  }
}
