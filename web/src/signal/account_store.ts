// Which account this browser signed in as (user and this device's name), so a reload
// logs in again by itself. An interface; IndexedDB in the page, memory in tests.
import type { KeySource } from '../protocol/crypto/key_source';
import type { IndexedDbRecords } from '../keys/indexeddb_records';
import type { Account } from './signaling_client';

export interface AccountStore {
  load(): Promise<Account | undefined>;
  save(account: Account): Promise<void>;
  // This browser's device name, made once ("web-" and 8 random characters) and kept.
  deviceName(): Promise<string>;
}

const DEVICE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newDeviceName(keys: KeySource): string {
  return `web-${[...keys.fill(8)].map((b) => DEVICE_ALPHABET[b % DEVICE_ALPHABET.length]).join('')}`;
}

export class IndexedDbAccountStore implements AccountStore {
  constructor(private readonly records: IndexedDbRecords, private readonly keys: KeySource) {}

  async load(): Promise<Account | undefined> {
    const value = (await this.records.get('account')) as Account | undefined;
    return value && typeof value.user === 'string' && typeof value.device === 'string' ? value : undefined;
  }

  save(account: Account): Promise<void> {
    return this.records.put('account', { user: account.user, device: account.device });
  }

  async deviceName(): Promise<string> {
    const existing = await this.records.get('device_name');
    if (typeof existing === 'string') return existing;
    const name = newDeviceName(this.keys);
    await this.records.put('device_name', name);
    return name;
  }
}

export class MemoryAccountStore implements AccountStore {
  account: Account | undefined;
  constructor(private readonly device = 'web-test') {}
  load(): Promise<Account | undefined> {
    return Promise.resolve(this.account);
  }
  save(account: Account): Promise<void> {
    this.account = account;
    return Promise.resolve();
  }
  deviceName(): Promise<string> {
    return Promise.resolve(this.device);
  }
}
