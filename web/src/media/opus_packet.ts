// How much audio one Opus packet codes, from its TOC byte and frame count (RFC 6716
// §3.1-3.2): the WebCodecs decoder stamps each chunk with it, so data saving's 120 ms
// packets (several frames in one) get timestamps and durations that match. Pure.

// Samples at 48 kHz per frame for each of the 32 configurations (RFC 6716 §3.1,
// Table 2): SILK-only 10/20/40/60 ms, hybrid 10/20 ms, CELT-only 2.5/5/10/20 ms.
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]!;
  if (config < 16) return [480, 960][config & 1]!;
  return [120, 240, 480, 960][config & 3]!;
}

// 48 kHz samples in `packet`, or 0 if it is too short to say or codes more than
// 120 ms (which RFC 6716 §3.2.5 forbids).
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0) return 0;
  const toc = packet[0]!;
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code !== 3) frames = 2;
  else if (packet.length < 2) return 0;
  else frames = packet[1]! & 0x3f;
  const samples = frames * frameSamples(toc >> 3);
  return samples > 5760 ? 0 : samples;
}
