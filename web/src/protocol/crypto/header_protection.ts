// Counter masking as QUIC does it (RFC 9001 §5.4.4) and the AEAD nonce layout.
// docs/protocol.md, "Sealed packet".
import { type Bytes, concat, u64be } from '../bytes';
import { sodium } from '../sodium';

export const HEADER_SAMPLE_SIZE = 16;

// The raw Emscripten module under libsodium-wrappers. Needed because the wrapper's
// crypto_stream_chacha20_ietf_xor_ic refuses block counters >= 2^31 ("nonce_increment
// must be an unsigned integer": it checks (0|ic) === ic), while the protocol's
// counter is any u32 (half of all samples); the C function takes the full uint32_t.
interface RawSodium {
  _malloc(size: number): number;
  _free(address: number): void;
  HEAPU8: Uint8Array;
  _crypto_stream_chacha20_ietf_xor_ic(c: number, m: number, mlenLow: number, mlenHigh: number, n: number,
    ic: number, k: number): number;
}

// mask = ChaCha20(headerKey, block counter = u32le(sample[0..4]), nonce = sample[4..16])
// applied to 8 zero bytes.
export function headerMask(headerKey: Bytes, sample: Bytes): Bytes {
  if (headerKey.length !== 32 || sample.length < HEADER_SAMPLE_SIZE) throw new Error('header mask needs a 32-byte key and a 16-byte sample');
  const blockCounter = sample[0]! | (sample[1]! << 8) | (sample[2]! << 16) | (sample[3]! << 24); // as int32 bits
  const raw = (sodium() as unknown as { libsodium: RawSodium }).libsodium;
  // One allocation: 8 bytes in/out, 12 nonce, 32 key.
  const base = raw._malloc(8 + 12 + 32);
  if (!base) throw new Error('libsodium could not allocate memory');
  try {
    raw.HEAPU8.fill(0, base, base + 8);
    raw.HEAPU8.set(sample.subarray(4, 16), base + 8);
    raw.HEAPU8.set(headerKey, base + 20);
    if (raw._crypto_stream_chacha20_ietf_xor_ic(base, base, 8, 0, base + 8, blockCounter, base + 20) !== 0) {
      throw new Error('ChaCha20 failed');
    }
    return raw.HEAPU8.slice(base, base + 8);
  } finally {
    raw.HEAPU8.fill(0, base, base + 52); // the header key
    raw._free(base);
  }
}

// nonce = noncePrefix (16) || u64be(counter)
export function packetNonce(noncePrefix: Bytes, counter: bigint): Bytes {
  return concat(noncePrefix, u64be(counter));
}
