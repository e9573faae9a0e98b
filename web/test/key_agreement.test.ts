// The key agreement's rules (docs/protocol.md, "Key agreement messages"): refusals
// change nothing, failed checks abort for good, both sides agree on keys.
import { beforeAll, describe, expect, it } from 'vitest';
import { concat, toHex, utf8 } from '../src/protocol/bytes';
import { SeedIdentityKey } from '../src/protocol/crypto/identity_key';
import { HandshakeType, serializeHandshakeMessage, signedPrefix } from '../src/protocol/crypto/handshake_message';
import { type CallContext, KeyAgreement, contextHash } from '../src/protocol/crypto/key_agreement';
import { SeededKeySource } from '../src/protocol/crypto/key_source';
import { loadSodium, sodium } from '../src/protocol/sodium';

beforeAll(async () => {
  await loadSodium();
});

const context = (): CallContext => ({
  callId: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
  caller: { user: 'alice', device: 'web' },
  callee: { user: 'bob', device: 'phone' },
});

function pair(ctx = context()) {
  const ids = new SeededKeySource(7n);
  const alice = SeedIdentityKey.generate(ids);
  const bob = SeedIdentityKey.generate(ids);
  return {
    alice, bob,
    caller: new KeyAgreement('caller', ctx, alice, new SeededKeySource(11n)),
    callee: new KeyAgreement('callee', ctx, bob, new SeededKeySource(12n)),
  };
}

describe('KeyAgreement', () => {
  it('completes with equal keys and fingerprints on both sides', async () => {
    const { caller, callee, alice, bob } = pair();
    callee.receive(await caller.makeCommit());
    expect(toHex(callee.peerIdentity!)).toBe(toHex(alice.publicKey));
    caller.receive(await callee.makeAccept());
    expect(toHex(caller.peerIdentity!)).toBe(toHex(bob.publicKey));
    callee.receive(await caller.makeReveal());
    const a = caller.takeKeys();
    const b = callee.takeKeys();
    expect(a.media.send).toEqual(b.media.receive);
    expect(a.control.receive).toEqual(b.control.send);
    expect(a.fingerprint.words()).toBe(b.fingerprint.words());
    expect(() => caller.takeKeys()).toThrow(/taken once/);
  });

  it('refuses duplicates, reflections and out-of-order messages without changing state', async () => {
    const { caller, callee } = pair();
    const commit = await caller.makeCommit();
    expect(() => caller.receive(commit)).toThrow(/this side sends commit/);
    await expect(caller.makeCommit()).rejects.toThrow(/once/);
    callee.receive(commit);
    expect(() => callee.receive(commit)).toThrow('refused duplicate commit');
    const accept = await callee.makeAccept();
    expect(() => callee.receive(accept)).toThrow(/this side sends accept/);
    caller.receive(accept);
    const reveal = await caller.makeReveal();
    expect(() => callee.receive(Uint8Array.of(1))).toThrow(/refused handshake message/);
    callee.receive(reveal);
    expect(callee.complete).toBe(true);
    expect(() => callee.receive(reveal)).toThrow('refused duplicate reveal');
  });

  it('aborts for good on a bad signature, another call id or our own identity', async () => {
    const { caller, callee } = pair();
    const commit = await caller.makeCommit();
    const forged = Uint8Array.from(commit);
    forged[forged.length - 1]! ^= 1;
    expect(() => callee.receive(forged)).toThrow("key agreement aborted: the commit's signature does not verify");
    expect(callee.aborted).toBe(true);
    expect(() => callee.receive(commit)).toThrow(/aborted/);

    const other = pair({ ...context(), callId: new Uint8Array(16).fill(9) });
    expect(() => other.callee.receive(commit)).toThrow(/belongs to another call/);

    const self = new KeyAgreement('callee', context(), pair().alice, new SeededKeySource(1n));
    expect(() => self.receive(commit)).toThrow(/our own identity key/);
  });

  it('aborts when the revealed key does not match the commitment', async () => {
    const { caller, callee, alice } = pair();
    const commit = await caller.makeCommit();
    callee.receive(commit);
    const accept = await callee.makeAccept();
    // A correctly signed reveal of a key the caller never committed to.
    const otherKey = sodium().crypto_scalarmult_base(new Uint8Array(32).fill(5));
    const unsigned = serializeHandshakeMessage({ type: HandshakeType.Reveal, callId: context().callId,
      identity: new Uint8Array(0), key: otherKey, signature: new Uint8Array(64) });
    const signed = concat(utf8('parley-v1 reveal'), Uint8Array.of(0), contextHash(context()), commit, accept,
      signedPrefix(unsigned));
    const reveal = concat(signedPrefix(unsigned), alice.signNow(signed));
    expect(() => callee.receive(reveal)).toThrow("the caller's revealed key does not match its commitment");
    expect(callee.aborted).toBe(true);
  });

  it('aborts on an all-zero or low-order ephemeral key (RFC 7748 §6.1)', async () => {
    for (const [key, reason] of [[new Uint8Array(32), 'is all zero'], [Uint8Array.from({ length: 32 }, (_, i) => (i ? 0 : 1)), 'is a low-order point']] as const) {
      const { caller, callee, bob } = pair();
      const commit = await caller.makeCommit();
      callee.receive(commit);
      // A correctly signed accept carrying a bad key.
      const unsigned = serializeHandshakeMessage({ type: HandshakeType.Accept, callId: context().callId,
        identity: bob.publicKey, key, signature: new Uint8Array(64) });
      const signed = concat(utf8('parley-v1 accept'), Uint8Array.of(0), contextHash(context()), commit, signedPrefix(unsigned));
      expect(() => caller.receive(concat(signedPrefix(unsigned), bob.signNow(signed)))).toThrow(`the callee's key ${reason}`);
      expect(caller.aborted).toBe(true);
    }
  });

  it('refuses names outside 1..255 bytes', () => {
    const ctx = context();
    expect(() => new KeyAgreement('caller', { ...ctx, caller: { user: '', device: 'x' } }, pair().alice,
      new SeededKeySource(1n))).toThrow(/1 to 255 bytes/);
  });
});
