// A device's long-term Ed25519 identity key (RFC 8032): signs key-agreement messages
// and the register/login challenge. docs/protocol.md, "Keys".
import type { Bytes } from '../bytes';
import { sodium } from '../sodium';
import type { KeySource } from './key_source';

// What signs for this device. Async because WebCrypto's sign is; the seed-based key
// answers at once. Ed25519 signatures are deterministic, so both forms of one key
// give the same bytes.
export interface IdentitySigner {
  readonly publicKey: Bytes; // 32 bytes
  sign(message: Bytes): Promise<Bytes>; // 64 bytes
}

// The key as its 32-byte seed in memory (crypto_sign_seed_keypair), like the native
// client's identity_key file. Used where WebCrypto has no Ed25519, and in tests.
export class SeedIdentityKey implements IdentitySigner {
  readonly publicKey: Bytes;
  private readonly secretKey: Bytes; // libsodium's expanded form: seed || public key

  private constructor(readonly seed: Bytes) {
    const pair = sodium().crypto_sign_seed_keypair(seed);
    this.publicKey = pair.publicKey;
    this.secretKey = pair.privateKey;
  }

  static fromSeed(seed: Bytes): SeedIdentityKey {
    if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
    return new SeedIdentityKey(Uint8Array.from(seed));
  }

  // Takes one 32-byte fill from `keys`, as IdentityKey::Generate does.
  static generate(keys: KeySource): SeedIdentityKey {
    return new SeedIdentityKey(keys.fill(32));
  }

  signNow(message: Bytes): Bytes {
    return sodium().crypto_sign_detached(message, this.secretKey);
  }

  sign(message: Bytes): Promise<Bytes> {
    return Promise.resolve(this.signNow(message));
  }
}

// Strict verification as libsodium does it (small-order and non-canonical keys and
// signatures refused). False for wrong sizes instead of throwing.
export function verifySignature(publicKey: Bytes, message: Bytes, signature: Bytes): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return sodium().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}
