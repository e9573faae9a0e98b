// The browser's DeviceKeyStore: one IndexedDB record. CryptoKey objects are stored by
// structured clone and stay non-extractable.
import type { DeviceKeyStore, StoredDeviceKey } from './device_key_store';
import { IndexedDbRecords } from './indexeddb_records';

const RECORD = 'identity';

export class IndexedDbDeviceKeyStore implements DeviceKeyStore {
  constructor(private readonly records: IndexedDbRecords = new IndexedDbRecords()) {}

  async load(): Promise<StoredDeviceKey | undefined> {
    return (await this.records.get(RECORD)) as StoredDeviceKey | undefined;
  }

  save(key: StoredDeviceKey): Promise<void> {
    return this.records.put(RECORD, key);
  }
}
