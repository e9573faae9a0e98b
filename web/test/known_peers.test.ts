// Trust on first use with the native client's rules: remember, warn, block verified
// users' changed keys and new devices until approved; a failed save changes nothing.
import { describe, expect, it } from 'vitest';
import { type KnownDevice, KnownPeers, isBlocked, needsWarning } from '../src/keys/known_peers';

const key = (b: number) => new Uint8Array(32).fill(b);

class MemoryStorage {
  saved: readonly KnownDevice[] = [];
  fail = false;
  save(devices: readonly KnownDevice[]): Promise<void> {
    if (this.fail) return Promise.reject(new Error('disk full'));
    this.saved = devices;
    return Promise.resolve();
  }
}

describe('KnownPeers', () => {
  it('remembers on first contact and warns about new devices and changed keys', async () => {
    const storage = new MemoryStorage();
    const peers = new KnownPeers(storage);
    const first = await peers.checkAndRemember('bob', 'phone', key(1));
    expect(first.status).toBe('first_contact');
    expect(needsWarning(first)).toBe(false);
    expect((await peers.checkAndRemember('bob', 'phone', key(1))).status).toBe('known');
    const laptop = await peers.checkAndRemember('bob', 'laptop', key(2));
    expect(laptop.status).toBe('new_device');
    expect(needsWarning(laptop) && !isBlocked(laptop)).toBe(true);
    const changed = await peers.checkAndRemember('bob', 'phone', key(3));
    expect(changed.status).toBe('changed');
    expect(changed.previousKey).toEqual(key(1));
    expect(peers.check('bob', 'phone', key(3)).status).toBe('known');
    expect(storage.saved.length).toBe(2);
  });

  it('blocks a verified user\'s changed key or new device until approved', async () => {
    const peers = new KnownPeers(new MemoryStorage());
    await peers.checkAndRemember('bob', 'phone', key(1));
    await expect(peers.markVerified('bob', 'phone', key(9))).rejects.toThrow(/not the one remembered/);
    await peers.markVerified('bob', 'phone', key(1));
    expect(peers.check('bob', 'phone', key(1)).verified).toBe(true);
    await expect(peers.checkAndRemember('bob', 'phone', key(2))).rejects.toThrow(/changed since you verified it/);
    await expect(peers.checkAndRemember('bob', 'tablet', key(3))).rejects.toThrow(/new device \(tablet\)/);
    expect(peers.check('bob', 'phone', key(1)).status).toBe('known');
    await peers.approve('bob', 'phone', key(2));
    const after = await peers.checkAndRemember('bob', 'phone', key(2));
    expect(after.status).toBe('known');
    expect(after.verified).toBe(false);
  });

  it('changes nothing when saving fails', async () => {
    const storage = new MemoryStorage();
    const peers = new KnownPeers(storage);
    storage.fail = true;
    await expect(peers.checkAndRemember('carol', 'web', key(4))).rejects.toThrow('disk full');
    expect(peers.check('carol', 'web', key(4)).status).toBe('first_contact');
    await expect(peers.checkAndRemember('', 'web', key(4))).rejects.toThrow(/1 to 255 bytes/);
  });
});
