// This device's identity key, loaded from its store or created on first use: a
// non-extractable WebCrypto Ed25519 key where the browser has one (Chrome 137+,
// Firefox 129+, Safari 17+), otherwise a libsodium seed kept as bytes.
import type { Bytes } from '../protocol/bytes';
import { type IdentitySigner, SeedIdentityKey } from '../protocol/crypto/identity_key';
import type { KeySource } from '../protocol/crypto/key_source';
import type { DeviceKeyStore, StoredDeviceKey } from './device_key_store';

// Signs with a WebCrypto key. Ed25519 is deterministic (RFC 8032), so its signatures
// are the bytes libsodium would make with the same key.
export class WebCryptoIdentityKey implements IdentitySigner {
  constructor(private readonly subtle: SubtleCrypto, private readonly privateKey: CryptoKey, readonly publicKey: Bytes) {}

  async sign(message: Bytes): Promise<Bytes> {
    return new Uint8Array(await this.subtle.sign({ name: 'Ed25519' }, this.privateKey, Uint8Array.from(message)));
  }
}

// A new non-extractable key pair, or undefined if this browser has no Ed25519 in WebCrypto.
export async function generateWebCryptoKey(subtle: SubtleCrypto): Promise<StoredDeviceKey | undefined> {
  let pair: CryptoKeyPair;
  try {
    pair = (await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  } catch {
    return undefined;
  }
  const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  return { kind: 'webcrypto', privateKey: pair.privateKey, publicKey };
}

export function signerFor(stored: StoredDeviceKey, subtle: SubtleCrypto | null): IdentitySigner {
  if (stored.kind === 'seed') return SeedIdentityKey.fromSeed(stored.seed);
  if (!subtle) throw new Error('This browser stored a WebCrypto key but offers no WebCrypto now; use a secure (https) page.');
  return new WebCryptoIdentityKey(subtle, stored.privateKey, stored.publicKey);
}

// Loads the stored key, or creates one (WebCrypto first, else a seed from `keys`) and
// stores it before returning, so a key is never used unless it was kept. `subtle` is
// null where the page has no WebCrypto (not a secure context).
export async function loadOrCreateDeviceIdentity(store: DeviceKeyStore, keys: KeySource,
  subtle: SubtleCrypto | null = globalThis.crypto?.subtle ?? null): Promise<IdentitySigner> {
  const existing = await store.load();
  if (existing) return signerFor(existing, subtle);
  const created = (subtle ? await generateWebCryptoKey(subtle) : undefined) ?? { kind: 'seed', seed: keys.fill(32) };
  await store.save(created);
  return signerFor(created, subtle);
}
