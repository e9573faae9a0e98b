// Messages between the page and its two AudioWorklets (capture and playout), by port.
import type { PlayoutStats } from './playout_buffer';

export const CAPTURE_PROCESSOR = 'parley-capture';
export const PLAYOUT_PROCESSOR = 'parley-playout';

// capture -> page: one 20 ms frame of 48 kHz mono.
export interface CapturedFrame {
  type: 'frame';
  pcm: Float32Array<ArrayBuffer>;
}

// page -> playout
export type ToPlayout =
  | { type: 'frame'; timestamp: number; pcm: Float32Array<ArrayBuffer> } // a decoded frame, RTP timestamp
  | { type: 'record'; on: boolean }; // start (clearing) or stop recording what is played

// playout -> page
export type FromPlayout =
  | { type: 'stats'; stats: PlayoutStats } // every 250 ms
  | { type: 'recorded'; pcm: Float32Array<ArrayBuffer> }; // played-out samples while recording
