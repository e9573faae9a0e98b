// H(label, data) = BLAKE2b-256(label || 0x00 || data), the domain-separated hash of
// docs/protocol.md ("Call security", notation).
import { type Bytes, concat, utf8 } from '../bytes';
import { sodium } from '../sodium';

export function domainHash(label: string, ...data: readonly Bytes[]): Bytes {
  return sodium().crypto_generichash(32, concat(utf8(label), Uint8Array.of(0), ...data), null);
}

// KDF(key, id, ctx, n) = crypto_kdf_derive_from_key(n bytes, id, ctx, key).
export function kdf(key: Bytes, id: number, context: string, length: number): Bytes {
  return sodium().crypto_kdf_derive_from_key(length, id, context, key);
}
