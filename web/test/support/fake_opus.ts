// Stand-in Opus packets for the media core's tests: a real TOC byte (RFC 6716 §3.1), so a
// receiver reads each packet's frame length as it does from real ones, then filler.

// SILK narrowband configurations 0-3 code one frame of 10, 20, 40 or 60 ms; 120 ms is
// two 60 ms frames (code 1).
function toc(frameMs: number): number {
  if (frameMs === 120) return (3 << 3) | 1;
  const config = [10, 20, 40, 60].indexOf(frameMs);
  if (config < 0) throw new Error(`no Opus frame of ${frameMs} ms`);
  return config << 3;
}

// `length` bytes (at least 1) coding `frameMs`; the filler depends on `seed`.
export function fakeOpus(frameMs: number, length: number, seed: number): Uint8Array {
  const packet = Uint8Array.from({ length: Math.max(1, length) }, (_, k) => (seed + k) & 0xff);
  packet[0] = toc(frameMs);
  return packet;
}
