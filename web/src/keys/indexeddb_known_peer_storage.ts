// The browser's KnownPeerStorage: the whole list as one IndexedDB record, replaced on
// every change (a few dozen entries at most).
import { IndexedDbRecords } from './indexeddb_records';
import type { KnownDevice, KnownPeerStorage } from './known_peers';

const RECORD = 'known_peers';

export class IndexedDbKnownPeerStorage implements KnownPeerStorage {
  constructor(private readonly records: IndexedDbRecords = new IndexedDbRecords()) {}

  async load(): Promise<KnownDevice[]> {
    return ((await this.records.get(RECORD)) as KnownDevice[] | undefined) ?? [];
  }

  save(devices: readonly KnownDevice[]): Promise<void> {
    return this.records.put(RECORD, [...devices]);
  }
}
