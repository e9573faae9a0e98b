// How big sealed packets are on the wire (hides the sizes of variable-bitrate speech)
// and the ISO/IEC 7816-4 padding itself. docs/protocol.md, "Padding".
import type { Bytes } from '../bytes';

export const SEALED_HEADER_SIZE = 8; // masked counter
export const SEALED_TAG_SIZE = 16;
export const SEAL_OVERHEAD = SEALED_HEADER_SIZE + 1 + SEALED_TAG_SIZE; // 25
export const MIN_SEALED_SIZE = SEAL_OVERHEAD;
export const MAX_SEALED_SIZE = 1200;
export const MAX_CONTENT_SIZE = MAX_SEALED_SIZE - SEAL_OVERHEAD; // 1175
export const PADDING_BUCKETS: readonly number[] = [64, 96, 128, 192, 256, 384, 512, 768, 1024, 1200];

export type PaddingPolicy =
  | { mode: 'off' } // only the 0x80 marker: sizes leak content lengths
  | { mode: 'buckets' } // the smallest bucket that fits (the default)
  | { mode: 'constant'; size: number }; // every packet exactly `size` bytes

// "off", "buckets", "constant:SIZE": the config form the native client reads.
export function parsePaddingPolicy(text: string): PaddingPolicy {
  if (text === 'off') return { mode: 'off' };
  if (text === 'buckets') return { mode: 'buckets' };
  const m = /^constant:([0-9]+)$/.exec(text);
  if (m) {
    const size = Number(m[1]);
    if (size < MIN_SEALED_SIZE || size > MAX_SEALED_SIZE) {
      throw new Error(`constant packet size must be between ${MIN_SEALED_SIZE} and ${MAX_SEALED_SIZE} bytes`);
    }
    return { mode: 'constant', size };
  }
  throw new Error(`padding must be "off", "buckets" or "constant:SIZE" (e.g. constant:256), not "${text}"`);
}

// The wire size of a packet carrying `contentSize` bytes; throws if it cannot be sent.
export function sealedSize(policy: PaddingPolicy, contentSize: number): number {
  if (contentSize > MAX_CONTENT_SIZE) {
    throw new Error(`packet content of ${contentSize} bytes exceeds the maximum of ${MAX_CONTENT_SIZE}`);
  }
  const minimum = contentSize + SEAL_OVERHEAD;
  switch (policy.mode) {
    case 'off':
      return minimum;
    case 'buckets':
      return PADDING_BUCKETS.find((b) => b >= minimum)!;
    case 'constant':
      if (minimum <= policy.size) return policy.size;
      throw new Error(`packet content of ${contentSize} bytes does not fit the constant size ${policy.size}; lower the bitrate or raise the size`);
  }
}

// content || 0x80 || 0x00*, exactly `paddedSize` (> content.length) bytes.
export function pad(content: Bytes, paddedSize: number): Bytes {
  if (paddedSize <= content.length) throw new Error('padding needs at least one byte');
  const out = new Uint8Array(paddedSize);
  out.set(content);
  out[content.length] = 0x80;
  return out;
}

// The content length of a padded plaintext; throws if the last non-zero byte is not
// the 0x80 marker. (Authenticated data only, so no constant-time loop here.)
export function unpaddedSize(padded: Bytes): number {
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0) --i;
  if (i < 0 || padded[i] !== 0x80) throw new Error('bad padding (no 0x80 marker followed by zeros)');
  return i;
}
