// The capture worklet's 20 ms frames joined into the frame length the bitrate
// controller chose (20, 40, 60 or 120 ms) for one Opus packet. A new length takes
// effect between packets, never inside one. Pure; main thread.

export const CAPTURE_FRAME_MS = 20;

export class FrameGrouper {
  private readonly parts: Float32Array[] = [];
  private frameMs: number;
  private pendingFrameMs: number | undefined;

  constructor(frameMs = CAPTURE_FRAME_MS) {
    this.frameMs = FrameGrouper.checked(frameMs);
  }

  // The length of the packet being filled (ms).
  get currentFrameMs(): number {
    return this.frameMs;
  }

  // From the next packet on (at once if none is being filled). A multiple of 20 ms.
  setFrameMs(frameMs: number): void {
    FrameGrouper.checked(frameMs);
    if (this.parts.length === 0) {
      this.frameMs = frameMs;
      this.pendingFrameMs = undefined;
    } else {
      this.pendingFrameMs = frameMs;
    }
  }

  // One captured 20 ms frame; returns a whole packet's samples once it is complete.
  push(frame: Float32Array): Float32Array<ArrayBuffer> | undefined {
    this.parts.push(frame);
    if (this.parts.length * CAPTURE_FRAME_MS < this.frameMs) return undefined;
    const out = new Float32Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    this.parts.length = 0;
    if (this.pendingFrameMs !== undefined) {
      this.frameMs = this.pendingFrameMs;
      this.pendingFrameMs = undefined;
    }
    return out;
  }

  private static checked(frameMs: number): number {
    if (!Number.isInteger(frameMs / CAPTURE_FRAME_MS) || frameMs < CAPTURE_FRAME_MS || frameMs > 120) {
      throw new Error(`a frame length of ${frameMs} ms is not a multiple of 20 ms up to 120 ms`);
    }
    return frameMs;
  }
}
