// BrowserCallSession in simulated time, as tests/signal/call_session_test.cc checks the
// native one: both roles, decline, busy, cancel, timeouts, hang-up from either side,
// key warnings and approval, and a substituted key refused as native refuses it.
import { beforeAll, describe, expect, it } from 'vitest';
import { type KnownDevice, KnownPeers } from '../src/keys/known_peers';
import { SeedIdentityKey } from '../src/protocol/crypto/identity_key';
import { KeyAgreement } from '../src/protocol/crypto/key_agreement';
import { SeededKeySource } from '../src/protocol/crypto/key_source';
import { type Message, type MessageOf, type MessageType, END_REASONS } from '../src/protocol/signal/messages';
import { loadSodium } from '../src/protocol/sodium';
import { type CallAction, BrowserCallSession } from '../src/signal/browser_call_session';
import { describeEnd } from '../src/signal/end_reasons';

beforeAll(async () => {
  await loadSodium();
});

class MemoryStorage {
  saved: readonly KnownDevice[] = [];
  save(devices: readonly KnownDevice[]): Promise<void> {
    this.saved = devices;
    return Promise.resolve();
  }
}

class Party {
  readonly identity: SeedIdentityKey;
  readonly peers = new KnownPeers(new MemoryStorage());
  readonly session: BrowserCallSession;
  constructor(readonly user: string, readonly device: string, seed: bigint) {
    this.identity = SeedIdentityKey.generate(new SeededKeySource(seed + 100n));
    this.session = new BrowserCallSession({ user, device }, this.identity, this.peers, new SeededKeySource(seed));
  }
}

function sent<T extends MessageType>(actions: CallAction[], type: T): MessageOf<T> | undefined {
  for (const a of actions) if (a.kind === 'send' && a.message.type === type) return a.message as MessageOf<T>;
  return undefined;
}
function find<K extends CallAction['kind']>(actions: CallAction[], kind: K): Extract<CallAction, { kind: K }> | undefined {
  return actions.find((a) => a.kind === kind) as Extract<CallAction, { kind: K }> | undefined;
}

const relayFor = (callId: Uint8Array, ticket: number): MessageOf<'relay'> => ({
  type: 'relay', call_id: callId, host: '127.0.0.1', port: 5000, ticket: Uint8Array.of(ticket), p2p: true,
  hop_key: new Uint8Array(32).fill(1), bind_key: new Uint8Array(32).fill(2),
});

class Call {
  alice = new Party('alice', 'web-a1', 1n);
  bob = new Party('bob', 'laptop', 2n);
  now = 0;
  callId: Uint8Array = new Uint8Array(16);
  commit: Uint8Array = new Uint8Array(0);
  bobIncoming: CallAction[] = [];

  async ring(): Promise<void> {
    let a = await this.alice.session.call('bob', this.now);
    const invite = sent(a, 'invite')!;
    expect(invite.to).toBe('bob');
    expect(invite.id).toBeGreaterThanOrEqual(2 ** 40);
    expect(this.alice.session.state).toBe('inviting');
    this.callId = invite.call_id;
    a = await this.alice.session.onMessage({ type: 'route', id: invite.id!, call_id: this.callId, to_device: 'laptop' }, this.now);
    this.commit = sent(a, 'offer')!.commit;
    expect(this.alice.session.state).toBe('offering');
    this.bobIncoming = await this.bob.session.onMessage({ type: 'incoming', call_id: this.callId, from: 'alice',
      from_device: 'web-a1', commit: this.commit }, this.now);
    expect(find(this.bobIncoming, 'incoming')?.from).toBe('alice');
    expect(this.bob.session.state).toBe('incoming');
    a = await this.alice.session.onMessage({ type: 'ringing', call_id: this.callId }, this.now);
    expect(find(a, 'ringing')?.peer).toBe('bob');
    expect(this.alice.session.state).toBe('ringing');
  }

  // Returns both start_media actions.
  async connect(): Promise<[Extract<CallAction, { kind: 'start_media' }>, Extract<CallAction, { kind: 'start_media' }>]> {
    await this.ring();
    let b = await this.bob.session.accept(this.now);
    const accept = sent(b, 'accept')!;
    expect(this.bob.session.state).toBe('connecting');
    let a = await this.alice.session.onMessage({ type: 'accepted', call_id: this.callId, key: accept.key }, this.now);
    const reveal = sent(a, 'reveal')!;
    expect(find(a, 'start_media')).toBeUndefined(); // no ticket yet
    a = await this.alice.session.onMessage(relayFor(this.callId, 0), this.now);
    const aliceMedia = find(a, 'start_media')!;
    expect(aliceMedia.relay.ticket).toEqual(Uint8Array.of(0));
    expect(aliceMedia.isCaller).toBe(true);
    b = await this.bob.session.onMessage(relayFor(this.callId, 1), this.now);
    expect(find(b, 'start_media')).toBeUndefined(); // no reveal yet
    b = await this.bob.session.onMessage({ type: 'revealed', call_id: this.callId, key: reveal.key }, this.now);
    const bobMedia = find(b, 'start_media')!;
    expect(bobMedia.isCaller).toBe(false);
    expect(this.alice.session.state).toBe('connected');
    expect(this.bob.session.state).toBe('connected');
    return [aliceMedia, bobMedia];
  }
}

describe('BrowserCallSession', () => {
  it('connects with equal fingerprints and hangs up from the caller', async () => {
    const c = new Call();
    const [aliceMedia, bobMedia] = await c.connect();
    expect(aliceMedia.keys.fingerprint.emoji()).toBe(bobMedia.keys.fingerprint.emoji());
    expect(aliceMedia.keys.media.send).toEqual(bobMedia.keys.media.receive);
    expect(find(c.bobIncoming, 'incoming')!.check.status).toBe('first_contact');
    expect(find(c.bobIncoming, 'key_warning')).toBeUndefined();
    const a = await c.alice.session.hangUp(c.now);
    expect(sent(a, 'hangup')).toBeDefined();
    expect(a.map((x) => x.kind)).toEqual(['send', 'stop_media', 'ended']);
    expect(find(a, 'ended')).toMatchObject({ sentence: 'You hung up the call with bob.', wasConnected: true });
    expect(c.alice.session.state).toBe('idle');
    const b = await c.bob.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'hangup' }, c.now);
    expect(find(b, 'stop_media')).toBeDefined();
    expect(find(b, 'ended')!.sentence).toBe('alice hung up (or lost the connection).');
    // The server's echo of alice's own hangup changes nothing once the call is over.
    expect(await c.alice.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'hangup' }, c.now)).toEqual([]);
  });

  it('hangs up from the callee', async () => {
    const c = new Call();
    await c.connect();
    const b = await c.bob.session.hangUp(c.now);
    expect(sent(b, 'hangup')).toBeDefined();
    expect(find(b, 'ended')!.sentence).toBe('You hung up the call with alice.');
    const a = await c.alice.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'hangup' }, c.now);
    expect(find(a, 'ended')).toMatchObject({ reason: 'hangup', wasConnected: true });
  });

  it('gives every end reason its native sentence', async () => {
    for (const reason of END_REASONS) {
      const c = new Call();
      await c.ring();
      const a = await c.alice.session.onMessage({ type: 'ended', call_id: c.callId, reason }, c.now);
      expect(find(a, 'ended')).toMatchObject({ reason, sentence: describeEnd(reason, 'bob'), wasConnected: false });
    }
    expect(describeEnd('busy', 'bob')).toBe('bob is busy in another call; try again later.');
  });

  it('declines: the callee sends decline, the caller hears declined', async () => {
    const c = new Call();
    await c.ring();
    const b = await c.bob.session.decline(c.now);
    expect(sent(b, 'decline')?.call_id).toEqual(c.callId);
    expect(find(b, 'ended')!.sentence).toBe('You declined the call from alice.');
    const a = await c.alice.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'declined' }, c.now);
    expect(find(a, 'ended')!.sentence).toBe('bob declined the call.');
  });

  it('a busy callee ends the call at the invite', async () => {
    const c = new Call();
    const a0 = await c.alice.session.call('bob', 0);
    const invite = sent(a0, 'invite')!;
    const a = await c.alice.session.onMessage({ type: 'ended', id: invite.id!, call_id: invite.call_id, reason: 'busy' }, 0);
    expect(find(a, 'ended')!.sentence).toBe('bob is busy in another call; try again later.');
    expect(c.alice.session.state).toBe('idle');
  });

  it('the caller cancels in every state before the answer', async () => {
    const c = new Call();
    await c.alice.session.call('bob', 0);
    let a = await c.alice.session.hangUp(0);
    expect(sent(a, 'cancel')).toBeDefined();
    expect(find(a, 'ended')!.sentence).toBe('You cancelled the call to bob.');
    await c.ring();
    a = await c.alice.session.hangUp(0);
    expect(sent(a, 'cancel')).toBeDefined();
    const b = await c.bob.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'cancelled' }, 0);
    expect(find(b, 'ended')!.sentence).toBe('alice cancelled the call.');
  });

  it('actions that do not fit give a notice; messages of other calls change nothing', async () => {
    const c = new Call();
    expect(await c.alice.session.accept(0)).toEqual([{ kind: 'notice', sentence: 'There is no incoming call to answer.' }]);
    expect(await c.alice.session.hangUp(0)).toEqual([{ kind: 'notice', sentence: 'There is no call to hang up.' }]);
    expect(find(await c.alice.session.call('alice', 0), 'notice')!.sentence).toBe('You cannot call yourself.');
    await c.ring();
    expect(find(await c.alice.session.call('carol', 0), 'notice')!.sentence).toBe('You are already in a call; hang up first.');
    const other = new Uint8Array(16).fill(9);
    expect(await c.alice.session.onMessage({ type: 'ended', call_id: other, reason: 'hangup' }, 0)).toEqual([]);
    expect(await c.alice.session.onMessage(relayFor(c.callId, 0), 0)).toEqual([]); // before the answer
    expect(await c.alice.session.onMessage({ type: 'peer_candidates', call_id: c.callId, candidates: ['192.0.2.1:4000'] }, 0)).toEqual([]);
    expect(c.alice.session.state).toBe('ringing');
  });

  it('never sends P2P candidates, even when the relay allows P2P', async () => {
    const c = new Call();
    const [aliceMedia] = await c.connect();
    expect(aliceMedia.relay.p2p).toBe(true);
    const b = await c.bob.session.onMessage({ type: 'peer_candidates', call_id: c.callId, candidates: ['192.0.2.1:4000'] }, 0);
    expect(b).toEqual([]);
  });

  it('a server error for a call request ends the call', async () => {
    const c = new Call();
    const invite = sent(await c.alice.session.call('bob', 0), 'invite')!;
    // An error for another request (the client's own) is not about the call.
    expect(await c.alice.session.onMessage({ type: 'error', id: 3, code: 'rate_limited', message: 'Slow down.' }, 0)).toEqual([]);
    const a = await c.alice.session.onMessage({ type: 'error', id: invite.id!, code: 'in_call', message: 'You are already in a call.' }, 0);
    expect(find(a, 'ended')!.sentence).toBe('parleyd refused the call: You are already in a call.');
  });

  it('times out when the server does not answer, and after the answer', async () => {
    const c = new Call();
    await c.alice.session.call('bob', 0);
    expect(await c.alice.session.onTick(14999)).toEqual([]);
    let a = await c.alice.session.onTick(15000);
    expect(sent(a, 'cancel')).toBeDefined();
    expect(find(a, 'ended')!.sentence).toBe('parleyd did not answer in time; check your connection and try again.');

    const d = new Call();
    await d.ring();
    expect(await d.alice.session.onTick(3_600_000)).toEqual([]); // ringing waits for the server's ring timeout
    const b = await d.bob.session.accept(1000);
    expect(sent(b, 'accept')).toBeDefined();
    const late = await d.bob.session.onTick(16000); // no reveal or relay within 15 s
    expect(sent(late, 'hangup')).toBeDefined();
    expect(find(late, 'ended')!.sentence).toBe('The call with alice could not be connected in time; try again.');
    a = await d.alice.session.onMessage({ type: 'ended', call_id: d.callId, reason: 'hangup' }, 16000);
    expect(find(a, 'ended')).toBeDefined();
  });

  it('the peer\'s bye on the media path ends the call and sends hangup to the server', async () => {
    const c = new Call();
    expect(await c.alice.session.onPeerBye(c.now)).toEqual([]); // no call: nothing
    await c.connect();
    const a = await c.alice.session.onPeerBye(c.now);
    expect(a.map((x) => x.kind)).toEqual(['send', 'stop_media', 'ended']);
    expect(sent(a, 'hangup')!.call_id).toEqual(c.callId);
    expect(find(a, 'ended')).toMatchObject({ reason: 'hangup', sentence: 'bob hung up (or lost the connection).' });
    expect(c.alice.session.state).toBe('idle');
    // A second copy, and the server's error for a call it no longer knows, change nothing.
    expect(await c.alice.session.onPeerBye(c.now)).toEqual([]);
    const hangupId = sent(a, 'hangup')!.id!;
    expect(await c.alice.session.onMessage({ type: 'error', id: hangupId, code: 'no_such_call', message: 'Gone.' }, c.now))
      .toEqual([]);
  });

  it('the lost connection ends the call', async () => {
    const c = new Call();
    await c.connect();
    const a = await c.alice.session.onDisconnected(0);
    expect(a.map((x) => x.kind)).toEqual(['stop_media', 'ended']);
    expect(find(a, 'ended')!.sentence).toBe('The connection to the server was lost, so the call with bob ended.');
    expect(await c.alice.session.onDisconnected(0)).toEqual([]);
  });

  it('declines an incoming call whose commit does not verify, without ringing', async () => {
    const bob = new Party('bob', 'laptop', 2n);
    const b = await bob.session.onMessage({ type: 'incoming', call_id: new Uint8Array(16), from: 'alice',
      from_device: 'web-a1', commit: new Uint8Array(146).fill(7) }, 0);
    expect(find(b, 'incoming')).toBeUndefined();
    expect(sent(b, 'decline')).toBeDefined();
    expect(find(b, 'ended')!.sentence).toBe('An incoming call from alice was refused: its key exchange did not verify.');
    expect(bob.session.state).toBe('idle');
  });

  it('refuses a substituted ephemeral key in the accept: the caller hangs up', async () => {
    const c = new Call();
    await c.ring();
    const accept = sent(await c.bob.session.accept(0), 'accept')!;
    // Unparseable bytes are ignored as native does: the call goes on ringing.
    expect(await c.alice.session.onMessage({ type: 'accepted', call_id: c.callId, key: new Uint8Array(146).fill(2) }, 0)).toEqual([]);
    expect(c.alice.session.state).toBe('ringing');
    const forged = Uint8Array.from(accept.key);
    forged[60] = forged[60]! ^ 1; // inside the X25519 key (bytes 50..81): the signature no longer covers it
    const a = await c.alice.session.onMessage({ type: 'accepted', call_id: c.callId, key: forged }, 0);
    expect(sent(a, 'hangup')).toBeDefined();
    expect(sent(a, 'reveal')).toBeUndefined();
    expect(find(a, 'start_media')).toBeUndefined();
    expect(find(a, 'ended')!.sentence).toBe('The call with bob was ended: their key exchange did not verify.');
  });

  it('refuses a substituted key in the reveal: the callee hangs up and never starts media', async () => {
    const c = new Call();
    await c.ring();
    const accept = sent(await c.bob.session.accept(0), 'accept')!;
    const reveal = sent(await c.alice.session.onMessage({ type: 'accepted', call_id: c.callId, key: accept.key }, 0), 'reveal')!;
    await c.bob.session.onMessage(relayFor(c.callId, 1), 0);
    const forged = Uint8Array.from(reveal.key);
    forged[20] = forged[20]! ^ 1;
    const b = await c.bob.session.onMessage({ type: 'revealed', call_id: c.callId, key: forged }, 0);
    expect(sent(b, 'hangup')).toBeDefined();
    expect(find(b, 'start_media')).toBeUndefined();
    expect(find(b, 'ended')!.sentence).toBe('The call with alice was ended: their key exchange did not verify.');
  });

  it('a man in the middle with his own key shows a changed key and a different fingerprint', async () => {
    const c = new Call();
    await c.connect(); // alice remembers bob's key
    await c.alice.session.hangUp(0);
    await c.bob.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'hangup' }, 0);
    // Mallory answers alice's next call as bob's laptop, signing with her own key.
    await c.ring();
    const mallory = SeedIdentityKey.generate(new SeededKeySource(666n));
    const agreement = new KeyAgreement('callee', {
      callId: c.callId, caller: { user: 'alice', device: 'web-a1' }, callee: { user: 'bob', device: 'laptop' },
    }, mallory, new SeededKeySource(667n));
    agreement.receive(c.commit);
    const key = await agreement.makeAccept();
    const a = await c.alice.session.onMessage({ type: 'accepted', call_id: c.callId, key }, 0);
    const warning = find(a, 'key_warning')!;
    expect(warning.check.status).toBe('changed');
    expect(warning.blocked).toBe(false);
    expect(warning.sentence).toBe("Warning: bob's identity key has changed since your last call; compare the call fingerprint out loud.");
    const reveal = sent(a, 'reveal')!;
    const media = find(await c.alice.session.onMessage(relayFor(c.callId, 0), 0), 'start_media')!;
    agreement.receive(reveal.key);
    // Mallory's keys agree with alice's (she is the peer now), but the real bob, who
    // was never part of this exchange, would show another fingerprint: the screens differ.
    expect(agreement.takeKeys().fingerprint.emoji()).toBe(media.keys.fingerprint.emoji());
  });

  it('holds a verified peer\'s changed key until the user approves it', async () => {
    const c = new Call();
    await c.connect();
    await c.alice.peers.markVerified('bob', 'laptop', c.bob.identity.publicKey);
    await c.alice.session.hangUp(0);
    await c.bob.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'hangup' }, 0);
    await c.ring();
    const mallory = SeedIdentityKey.generate(new SeededKeySource(666n));
    const agreement = new KeyAgreement('callee', {
      callId: c.callId, caller: { user: 'alice', device: 'web-a1' }, callee: { user: 'bob', device: 'laptop' },
    }, mallory, new SeededKeySource(667n));
    agreement.receive(c.commit);
    let a = await c.alice.session.onMessage({ type: 'accepted', call_id: c.callId, key: await agreement.makeAccept() }, 0);
    expect(find(a, 'key_warning')!.blocked).toBe(true);
    expect(sent(a, 'reveal')).toBeUndefined();
    expect(c.alice.session.state).toBe('awaiting_approval');
    expect(await c.alice.session.onMessage(relayFor(c.callId, 0), 0)).toEqual([]); // ticket kept, no media
    a = await c.alice.session.approveKey(0);
    expect(find(a, 'notice')!.sentence).toBe("You approved bob's new identity key.");
    expect(sent(a, 'reveal')).toBeDefined();
    expect(find(a, 'start_media')).toBeDefined();
  });

  it('is reusable for the next call, and requests carry fresh ids', async () => {
    const c = new Call();
    await c.connect();
    await c.bob.session.hangUp(0);
    await c.alice.session.onMessage({ type: 'ended', call_id: c.callId, reason: 'hangup' }, 0);
    const first = c.callId;
    const [a, b] = await c.connect();
    expect(c.callId).not.toEqual(first);
    expect(a.keys.fingerprint.words()).toBe(b.keys.fingerprint.words());
    expect(find(c.bobIncoming, 'incoming')!.check.status).toBe('known');
  });

  it('queues concurrent inputs and runs them in order', async () => {
    const c = new Call();
    await c.ring();
    // Accept and hang up fired together: the accept goes out, then the hangup.
    const [accepted, hung]: [CallAction[], CallAction[]] = await Promise.all([c.bob.session.accept(0), c.bob.session.hangUp(0)]);
    expect(sent(accepted, 'accept')).toBeDefined();
    expect(sent(hung, 'hangup')).toBeDefined();
    const messages: Message[] = [...accepted, ...hung].flatMap((x) => (x.kind === 'send' ? [x.message] : []));
    expect(new Set(messages.map((m) => m.id)).size).toBe(2);
  });
});
