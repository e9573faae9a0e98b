// Where the browser keeps this device's identity key between visits: an interface,
// IndexedDB in the browser (indexeddb_device_key_store.ts), memory in unit tests.

// A WebCrypto key pair whose private half is non-extractable (page scripts can sign
// with it but never read it), or, where the browser has no Ed25519 in WebCrypto, the
// 32-byte seed itself.
export type StoredDeviceKey =
  | { kind: 'webcrypto'; privateKey: CryptoKey; publicKey: Uint8Array }
  | { kind: 'seed'; seed: Uint8Array };

export interface DeviceKeyStore {
  load(): Promise<StoredDeviceKey | undefined>;
  save(key: StoredDeviceKey): Promise<void>;
}

export class MemoryDeviceKeyStore implements DeviceKeyStore {
  private key: StoredDeviceKey | undefined;

  load(): Promise<StoredDeviceKey | undefined> {
    return Promise.resolve(this.key);
  }

  save(key: StoredDeviceKey): Promise<void> {
    this.key = key;
    return Promise.resolve();
  }
}
