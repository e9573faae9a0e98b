// The end-to-end test's window.parleyTest (only when the page URL has #test): what
// was played out, the live quality and the fingerprint the page shows. It exposes
// nothing the page does not already show, and no key.
import type { ClientController } from './client_controller';
import type { CallQuality } from './view_model';

export interface ParleyTestHooks {
  startRecording(): void; // also before the media runs: it then records from its start
  takeRecording(): number[]; // 48 kHz mono samples played out since startRecording()
  quality(): CallQuality | null;
  fingerprint(): string | null; // the emoji string of data-testid="fingerprint-emoji"
}

declare global {
  interface Window {
    parleyTest?: ParleyTestHooks;
  }
}

export function testHooks(controller: ClientController): ParleyTestHooks {
  return {
    startRecording: () => controller.startRecording(),
    takeRecording: () => Array.from(controller.takeRecording()),
    quality: () => controller.quality(),
    fingerprint: () => controller.snapshot().call?.fingerprintEmoji ?? null,
  };
}
