// The browser's DeviceKeyStore: one record in IndexedDB. CryptoKey objects are stored
// by structured clone and stay non-extractable. Browser only (tested by the later
// Playwright step; unit tests use MemoryDeviceKeyStore).
import type { DeviceKeyStore, StoredDeviceKey } from './device_key_store';

const DATABASE = 'parley';
const STORE = 'device';
const RECORD = 'identity';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

export class IndexedDbDeviceKeyStore implements DeviceKeyStore {
  constructor(private readonly factory: IDBFactory = indexedDB) {}

  async load(): Promise<StoredDeviceKey | undefined> {
    const db = await this.open();
    try {
      const value: unknown = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(RECORD));
      return value as StoredDeviceKey | undefined;
    } finally {
      db.close();
    }
  }

  async save(key: StoredDeviceKey): Promise<void> {
    const db = await this.open();
    try {
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put(key, RECORD);
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
        tx.onabort = () => reject(tx.error ?? new Error('IndexedDB write aborted'));
      });
    } finally {
      db.close();
    }
  }

  private open(): Promise<IDBDatabase> {
    const r = this.factory.open(DATABASE, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    return request(r).catch((e: unknown) => {
      throw new Error(`The browser refused to open its key storage (IndexedDB): ${String(e)}. Private browsing may block it; use a normal window.`);
    });
  }
}
