// The media payload one packet carries before sealing: the newest Opus frame and up to
// two older copies. docs/protocol.md, "Media payload"; same errors as media_packet.cc.
import type { Bytes } from '../bytes';

export const MAX_REDUNDANT_FRAMES = 2;
export const MAX_REDUNDANT_OFFSET_SAMPLES = 48000; // 1 s at 48 kHz
const HEADER_BYTES = 7;
const MAX_VARINT_BYTES = 5;

export interface EncodedFrame {
  timestamp: number; // u32, first sample in 48 kHz samples; wraps
  payload: Bytes; // one Opus packet, never empty
}

export interface MediaPacket {
  sequence: number; // u16, +1 per packet sent; wraps
  primary: EncodedFrame;
  redundant: EncodedFrame[]; // oldest first, at most MAX_REDUNDANT_FRAMES
}

function putVarint(out: number[], value: number): void {
  let v = value >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

// Throws on a packet ParseMediaPacket would refuse (a programming error here).
export function serializeMediaPacket(packet: MediaPacket): Bytes {
  if (packet.primary.payload.length === 0) throw new Error('media packet without a primary frame');
  if (packet.redundant.length > MAX_REDUNDANT_FRAMES) throw new Error('too many redundant frames');
  const ts = packet.primary.timestamp >>> 0;
  const out: number[] = [(packet.sequence >> 8) & 0xff, packet.sequence & 0xff, ts >>> 24, (ts >>> 16) & 0xff,
    (ts >>> 8) & 0xff, ts & 0xff, packet.redundant.length];
  let previousOffset = 0x100000000;
  for (const r of packet.redundant) {
    const offset = (ts - r.timestamp) >>> 0; // modulo 2^32: timestamps wrap
    if (offset === 0 || offset > MAX_REDUNDANT_OFFSET_SAMPLES || offset >= previousOffset) {
      throw new Error('redundant frames must be strictly older than the primary, oldest first');
    }
    if (r.payload.length === 0) throw new Error('empty redundant frame');
    previousOffset = offset;
    putVarint(out, offset);
    putVarint(out, r.payload.length);
    out.push(...r.payload);
  }
  const bytes = new Uint8Array(out.length + packet.primary.payload.length);
  bytes.set(out);
  bytes.set(packet.primary.payload, out.length);
  return bytes;
}

class Reader {
  private pos = 0;
  constructor(private readonly bytes: Bytes) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  big(n: number): number {
    let v = 0;
    for (let i = 0; i < n; ++i) v = v * 256 + this.bytes[this.pos++]!;
    return v;
  }

  // Unsigned LEB128, minimal and within 32 bits.
  varint(field: string): number {
    let value = 0;
    for (let i = 0; i < MAX_VARINT_BYTES; ++i) {
      if (this.left === 0) throw new Error(`media payload: ${field} runs past the end of the payload`);
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw new Error(`media payload: ${field} exceeds 32 bits`);
        if (b === 0 && i > 0) throw new Error(`media payload: ${field} is not minimally encoded`);
        return value;
      }
    }
    throw new Error(`media payload: ${field} is longer than 5 bytes`);
  }

  take(n: number): Bytes {
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

// Strict, with the native parser's one-sentence errors. Outside input (authenticated,
// but the peer may be hostile).
export function parseMediaPacket(bytes: Bytes): MediaPacket {
  const r = new Reader(bytes);
  if (r.left < HEADER_BYTES) {
    throw new Error(`media payload: ${bytes.length} bytes is shorter than the 7-byte header`);
  }
  const sequence = r.big(2);
  const timestamp = r.big(4);
  const count = r.big(1);
  if (count > MAX_REDUNDANT_FRAMES) {
    throw new Error(`media payload: ${count} redundant frames exceeds the maximum of ${MAX_REDUNDANT_FRAMES}`);
  }
  const redundant: EncodedFrame[] = [];
  let previousOffset = 0;
  for (let i = 1; i <= count; ++i) {
    const name = `redundant frame ${i}`;
    const offset = r.varint(`${name} timestamp offset`);
    if (offset === 0) throw new Error(`media payload: ${name} timestamp offset is 0; a copy must be older than the primary`);
    if (offset > MAX_REDUNDANT_OFFSET_SAMPLES) {
      throw new Error(`media payload: ${name} timestamp offset ${offset} exceeds the maximum of ${MAX_REDUNDANT_OFFSET_SAMPLES} samples`);
    }
    if (i > 1 && offset >= previousOffset) {
      throw new Error(`media payload: ${name} timestamp offset ${offset} is not below frame ${i - 1}'s ${previousOffset} (copies go oldest first)`);
    }
    previousOffset = offset;
    const length = r.varint(`${name} length`);
    if (length === 0) throw new Error(`media payload: ${name} is empty (length 0)`);
    if (length > r.left) throw new Error(`media payload: ${name} length ${length} exceeds the ${r.left} bytes left`);
    redundant.push({ timestamp: (timestamp - offset) >>> 0, payload: r.take(length) });
  }
  if (r.left === 0) throw new Error('media payload: the primary frame is empty');
  return { sequence, primary: { timestamp, payload: r.take(r.left) }, redundant };
}
