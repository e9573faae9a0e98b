// The browser's small key-value store for Parley's records (device key, known peers):
// one IndexedDB database with one object store. Browser only; unit tests use memory.

const DATABASE = 'parley';
const STORE = 'records';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

export class IndexedDbRecords {
  constructor(private readonly factory: IDBFactory = indexedDB) {}

  async get(key: string): Promise<unknown> {
    const db = await this.open();
    try {
      return await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(key));
    } finally {
      db.close();
    }
  }

  // Resolves once the write is durable as IndexedDB defines it (transaction complete).
  async put(key: string, value: unknown): Promise<void> {
    const db = await this.open();
    try {
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put(value, key);
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
      throw new Error(`The browser refused to open Parley's storage (IndexedDB): ${String(e)}. Private browsing may block it; use a normal window.`);
    });
  }
}
