// The device identity key: WebCrypto (non-extractable) where Ed25519 exists, a seed
// otherwise; created once, then loaded; its signatures are what libsodium verifies.
import { webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { concat, fromHex, toHex, utf8 } from '../src/protocol/bytes';
import { SeedIdentityKey, verifySignature } from '../src/protocol/crypto/identity_key';
import { SeededKeySource } from '../src/protocol/crypto/key_source';
import { loadSodium } from '../src/protocol/sodium';
import { WebCryptoIdentityKey, loadOrCreateDeviceIdentity } from '../src/keys/device_identity';
import { MemoryDeviceKeyStore } from '../src/keys/device_key_store';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;

beforeAll(async () => {
  await loadSodium();
});

describe('device identity', () => {
  it('creates a non-extractable WebCrypto key once and loads it afterwards', async () => {
    const store = new MemoryDeviceKeyStore();
    const first = await loadOrCreateDeviceIdentity(store, new SeededKeySource(1n), subtle);
    const stored = await store.load();
    expect(stored?.kind).toBe('webcrypto');
    if (stored?.kind !== 'webcrypto') return;
    expect(stored.privateKey.extractable).toBe(false);
    await expect(subtle.exportKey('pkcs8', stored.privateKey)).rejects.toThrow();
    const again = await loadOrCreateDeviceIdentity(store, new SeededKeySource(2n), subtle);
    expect(toHex(again.publicKey)).toBe(toHex(first.publicKey));
    const message = utf8('parley-v1 login');
    expect(verifySignature(first.publicKey, message, await again.sign(message))).toBe(true);
  });

  it('falls back to a stored seed where WebCrypto has no Ed25519', async () => {
    const noEd25519 = { generateKey: () => Promise.reject(new Error('NotSupportedError')) } as unknown as SubtleCrypto;
    const store = new MemoryDeviceKeyStore();
    const key = await loadOrCreateDeviceIdentity(store, new SeededKeySource(3n), noEd25519);
    const stored = await store.load();
    expect(stored?.kind).toBe('seed');
    if (stored?.kind !== 'seed') return;
    expect(toHex(key.publicKey)).toBe(toHex(SeedIdentityKey.fromSeed(stored.seed).publicKey));
    const withoutCrypto = await loadOrCreateDeviceIdentity(new MemoryDeviceKeyStore(), new SeededKeySource(3n), null);
    expect(toHex(withoutCrypto.publicKey)).toBe(toHex(key.publicKey));
  });

  it('signs exactly as libsodium does for the same key (Ed25519 is deterministic)', async () => {
    const seed = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    // PKCS#8 wrapping of an Ed25519 seed (RFC 8410): fixed 16-byte prefix, then the seed.
    const pkcs8 = concat(fromHex('302e020100300506032b657004220420'), seed);
    const privateKey = await subtle.importKey('pkcs8', Uint8Array.from(pkcs8), { name: 'Ed25519' }, false, ['sign']);
    const sodiumKey = SeedIdentityKey.fromSeed(seed);
    const webKey = new WebCryptoIdentityKey(subtle, privateKey, sodiumKey.publicKey);
    const message = utf8('parley web identity');
    expect(toHex(await webKey.sign(message))).toBe(toHex(sodiumKey.signNow(message)));
  });
});
