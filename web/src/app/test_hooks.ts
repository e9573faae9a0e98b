// The end-to-end test's window.parleyTest (only when the page URL has #test): what
// was played out, the live quality and the fingerprint the page shows. It exposes
// nothing the page does not already show, and no key.
import type { ClientController } from './client_controller';
import type { CallQuality } from './view_model';

export interface ParleyTestHooks {
  startRecording(): void; // also before the media runs: it then records from its start
  takeRecording(): number[]; // 48 kHz mono samples played out since startRecording()
  // The same samples as base64 of 16-bit little-endian PCM: Playwright moves a string
  // much faster than a long number[] (measured: ~10 s for 8 s of audio on a busy machine).
  takeRecordingPcm16(): string;
  quality(): CallQuality | null;
  fingerprint(): string | null; // the emoji string of data-testid="fingerprint-emoji"
}

declare global {
  interface Window {
    parleyTest?: ParleyTestHooks;
  }
}

// Samples clipped to [-1, 1] and scaled by 32767, as a WAV writer would.
export function pcm16Base64(samples: Float32Array): string {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; ++i) {
    view.setInt16(2 * i, Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), true);
  }
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function testHooks(controller: ClientController): ParleyTestHooks {
  return {
    startRecording: () => controller.startRecording(),
    takeRecording: () => Array.from(controller.takeRecording()),
    takeRecordingPcm16: () => pcm16Base64(controller.takeRecording()),
    quality: () => controller.quality(),
    fingerprint: () => controller.snapshot().call?.fingerprintEmoji ?? null,
  };
}
