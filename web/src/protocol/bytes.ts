// Byte helpers shared by the protocol modules: concatenation, hex, big-endian integers.

export type Bytes = Uint8Array;

export function concat(...parts: readonly Bytes[]): Bytes {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function utf8(text: string): Bytes {
  return new TextEncoder().encode(text);
}

// Lower-case hex. Not constant-time: public values only.
export function toHex(bytes: Bytes): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

// Upper or lower case, no separators, even length; throws on anything else.
export function fromHex(text: string): Bytes {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error('hex text must be an even number of hex digits');
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; ++i) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// Public values only (not constant-time); secrets use sodium.memcmp.
export function equalBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) return false;
  return true;
}

export function u64be(value: bigint): Bytes {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value));
  return out;
}

export function readU64be(bytes: Bytes, at = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at);
}

export function readU32be(bytes: Bytes, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
}

export function writeU32be(out: Bytes, at: number, value: number): void {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(at, value >>> 0);
}

// lp(s) = u8(len(s)) || s, for a name of 1..255 bytes (docs/protocol.md, "Call security").
export function lengthPrefixed(name: string): Bytes {
  const bytes = utf8(name);
  if (bytes.length < 1 || bytes.length > 255) throw new Error('call party names and device ids must be 1 to 255 bytes');
  return concat(Uint8Array.of(bytes.length), bytes);
}
