// The peers' identity keys this browser has seen (trust on first use) and verified,
// with the native client's rules (crypto::IdentityStore; docs/protocol.md, "Identity
// store files"): a changed key or a new device warns, and for a user who verified any
// device it blocks the call until the user approves the key.
import { type Bytes, equalBytes, utf8 } from '../protocol/bytes';

export type PeerKeyStatus = 'first_contact' | 'new_device' | 'known' | 'changed';

export interface PeerCheck {
  status: PeerKeyStatus;
  verified: boolean; // 'known' and the user verified this very key
  userVerified: boolean; // the user verified some device of this user
  previousKey?: Bytes; // 'changed': what was remembered
}

// Show a warning before the call connects.
export function needsWarning(check: PeerCheck): boolean {
  return check.status === 'changed' || check.status === 'new_device';
}

// A key the user did not verify, for a user they did: the call must not connect.
export function isBlocked(check: PeerCheck): boolean {
  return needsWarning(check) && check.userVerified;
}

export interface KnownDevice {
  user: string;
  device: string;
  key: Bytes; // 32-byte Ed25519 public key
  verified: boolean;
}

// Where the list is kept (IndexedDB in the browser, memory in tests); save replaces it.
export interface KnownPeerStorage {
  save(devices: readonly KnownDevice[]): Promise<void>;
}

function validName(name: string): boolean {
  const size = utf8(name).length;
  return size >= 1 && size <= 255;
}

// State changes only after storage.save succeeded, so a failed write changes nothing.
// Calls must not overlap (await each); the call layer owns the object.
export class KnownPeers {
  private devices: Map<string, KnownDevice>;

  constructor(private readonly storage: KnownPeerStorage, initial: readonly KnownDevice[] = []) {
    this.devices = new Map(initial.map((d) => [KnownPeers.id(d.user, d.device), d]));
  }

  // Pure lookup.
  check(user: string, device: string, key: Bytes): PeerCheck {
    const userVerified = this.devicesOf(user).some((d) => d.verified);
    const known = this.devices.get(KnownPeers.id(user, device));
    if (!known) {
      return { status: this.devicesOf(user).length ? 'new_device' : 'first_contact', verified: false, userVerified };
    }
    if (equalBytes(known.key, key)) return { status: 'known', verified: known.verified, userVerified };
    return { status: 'changed', verified: false, userVerified, previousKey: known.key };
  }

  // Remembers first contacts, new devices and changed keys of unverified users (the
  // check says to warn); throws, storing nothing, when the check is blocked.
  async checkAndRemember(user: string, device: string, key: Bytes): Promise<PeerCheck> {
    if (!validName(user) || !validName(device)) throw new Error('user and device names must be 1 to 255 bytes');
    const check = this.check(user, device, key);
    if (isBlocked(check)) {
      throw new Error(check.status === 'changed'
        ? `the identity key of ${user} (${device}) changed since you verified it. Someone may be intercepting the call. Compare safety numbers again before approving the new key`
        : `${user} is calling from a new device (${device}) you have not verified. Compare safety numbers before approving it`);
    }
    if (check.status !== 'known') await this.store({ user, device, key: Uint8Array.from(key), verified: false });
    return check;
  }

  // The user accepts `key` for this device after a warning; stored unverified.
  async approve(user: string, device: string, key: Bytes): Promise<void> {
    if (!validName(user) || !validName(device)) throw new Error('user and device names must be 1 to 255 bytes');
    await this.store({ user, device, key: Uint8Array.from(key), verified: false });
  }

  // The user compared the safety number for exactly this key.
  async markVerified(user: string, device: string, key: Bytes): Promise<void> {
    const known = this.devices.get(KnownPeers.id(user, device));
    if (!known) throw new Error(`no identity key is known for ${user} (${device})`);
    if (!equalBytes(known.key, key)) throw new Error(`the key you verified is not the one remembered for ${user} (${device})`);
    await this.store({ ...known, verified: true });
  }

  devicesOf(user: string): KnownDevice[] {
    return [...this.devices.values()].filter((d) => d.user === user);
  }

  private async store(device: KnownDevice): Promise<void> {
    const next = new Map(this.devices);
    next.set(KnownPeers.id(device.user, device.device), device);
    await this.storage.save([...next.values()]);
    this.devices = next;
  }

  private static id(user: string, device: string): string {
    return JSON.stringify([user, device]);
  }
}
