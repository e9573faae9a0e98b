// The safety number two people compare out of band: 60 digits from both identity keys
// only. docs/protocol.md, "Fingerprint and safety number".
import { type Bytes, concat, utf8 } from '../bytes';
import { sodium } from '../sodium';

// Order-independent: safetyNumber(a, b) === safetyNumber(b, a). "05759 91417 ...".
export function safetyNumber(a: Bytes, b: Bytes): string {
  let aFirst = true;
  for (let i = 0; i < Math.min(a.length, b.length); ++i) {
    if (a[i] !== b[i]) {
      aFirst = a[i]! < b[i]!;
      break;
    }
  }
  const [low, high] = aFirst ? [a, b] : [b, a];
  const h = sodium().crypto_generichash(64, concat(utf8('parley-v1 safety number'), Uint8Array.of(0), low, high), null);
  const groups: string[] = [];
  for (let g = 0; g < 12; ++g) {
    let v = 0n;
    for (let i = 0; i < 5; ++i) v = (v << 8n) | BigInt(h[5 * g + i]!);
    groups.push((v % 100000n).toString().padStart(5, '0'));
  }
  return groups.join(' ');
}
