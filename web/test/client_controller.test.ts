// ClientController with a fake server socket, fake audio and fake media: signing up
// fetches the lists; a call as caller and as callee reaches 'in call' with the peer's
// fingerprint, opens the microphone only after the answer, starts media with the
// contract's options and stops everything at the end; a blocked microphone keeps ringing.
import { beforeAll, describe, expect, it } from 'vitest';
import { type CallMediaHandle, ClientController, type MediaStartOptions } from '../src/app/client_controller';
import { testHooks } from '../src/app/test_hooks';
import { type KnownDevice, KnownPeers } from '../src/keys/known_peers';
import { SeedIdentityKey } from '../src/protocol/crypto/identity_key';
import { SeededKeySource } from '../src/protocol/crypto/key_source';
import type { Message, MessageOf, MessageType } from '../src/protocol/signal/messages';
import { loadSodium } from '../src/protocol/sodium';
import { MemoryAccountStore } from '../src/signal/account_store';
import { type CallAction, BrowserCallSession } from '../src/signal/browser_call_session';
import { SignalingClient } from '../src/signal/signaling_client';
import { FakeSocket } from './support/fake_socket';
import { FakeTimers } from './support/fake_timers';

beforeAll(async () => {
  await loadSodium();
});

const settle = async () => {
  for (let i = 0; i < 5; ++i) await new Promise((resolve) => setTimeout(resolve, 0));
};

class FakeMedia implements CallMediaHandle {
  onPeerBye?: () => void;
  muted = false;
  stopped = false;
  recording = false;
  setMuted(muted: boolean): void {
    this.muted = muted;
  }
  quality() {
    return { path: 'relay-tls' as const, connected: true, rttMs: 40, lossPercent: 0, jitterBufferMs: 60, sendKbps: 24, receiveKbps: 24 };
  }
  stop(): void {
    this.stopped = true;
  }
  startRecording(): void {
    this.recording = true;
  }
  takeRecording(): Float32Array {
    return Float32Array.of(0.25, -0.5);
  }
}

function lastSent<T extends MessageType>(socket: FakeSocket, type: T): MessageOf<T> {
  const found = [...socket.sent].reverse().find((m) => m.type === type);
  if (!found) throw new Error(`nothing of type ${type} was sent`);
  return found as MessageOf<T>;
}
function sent<T extends MessageType>(actions: CallAction[], type: T): MessageOf<T> {
  for (const a of actions) if (a.kind === 'send' && a.message.type === type) return a.message as MessageOf<T>;
  throw new Error(`no ${type}`);
}

const relay = (callId: Uint8Array, ticket: number): MessageOf<'relay'> => ({
  type: 'relay', call_id: callId, host: 'h', port: 8443, ticket: Uint8Array.of(ticket, ticket), p2p: false,
  hop_key: new Uint8Array(32).fill(3), bind_key: new Uint8Array(32).fill(4),
});

async function setup(options: { micFails?: boolean; mediaFails?: boolean; mediaWaits?: boolean; known?: KnownDevice[] } = {}) {
  let releaseMedia = () => {};
  const mediaGate = new Promise<void>((resolve) => { releaseMedia = resolve; });
  const timers = new FakeTimers();
  const sockets: FakeSocket[] = [];
  const identity = SeedIdentityKey.generate(new SeededKeySource(21n));
  const peers = new KnownPeers({ save: () => Promise.resolve() }, options.known ?? []);
  const audio = { contexts: 0, closed: 0, microphones: 0, tracksStopped: 0 };
  const started: MediaStartOptions[] = [];
  const media: FakeMedia[] = [];
  let controller: ClientController | undefined;
  const signaling = new SignalingClient({
    url: 'wss://h:8443/ws/x', serverName: 'parley.test', identity, timers, random: () => 0.5,
    socketFactory: (url, events) => {
      const s = new FakeSocket(url, events);
      sockets.push(s);
      return s;
    },
  }, {
    onStatus: (s, t) => controller?.onStatus(s, t),
    onWelcome: (w) => controller?.onWelcome(w),
    onMessage: (m) => controller?.onMessage(m),
    onDisconnected: () => controller?.onDisconnected(),
  });
  controller = new ClientController({
    signaling, identity, peers, keys: new SeededKeySource(22n), accounts: new MemoryAccountStore('web-t1'), now: () => timers.now(),
    createAudioContext: () => {
      audio.contexts++;
      return { close: () => { audio.closed++; return Promise.resolve(); } } as unknown as AudioContext;
    },
    openMicrophone: () => {
      if (options.micFails) return Promise.reject(Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' }));
      audio.microphones++;
      return Promise.resolve({ getTracks: () => [{ stop: () => { audio.tracksStopped++; } }] } as unknown as MediaStream);
    },
    startMedia: (o) => {
      started.push(o);
      if (options.mediaFails) return Promise.reject(new Error('this browser has no Opus encoder'));
      const m = new FakeMedia();
      media.push(m);
      return options.mediaWaits ? mediaGate.then(() => m) : Promise.resolve(m);
    },
    mediaSocketUrl: (ticket, relay) => `wss://h:8443/ws/x/m/${[...ticket].join('.')}/${relay.host}:${relay.port}`,
    inviteLink: (invite) => `https://h:8443/${invite.length}/`,
  });
  const socket = () => sockets[sockets.length - 1]!;
  const reply = (m: Message) => socket().push(m);

  // Signs up as alice and answers the list requests that follow the welcome.
  const signUp = async () => {
    void controller!.signUp('Alice ');
    await settle();
    reply({ type: 'hello', challenge: new Uint8Array(32).fill(1), server: 'parley.test' });
    await settle();
    const register = lastSent(socket(), 'register');
    expect(register.user).toBe('alice');
    expect(register.device).toBe('web-t1');
    reply({ type: 'welcome', id: register.id!, user: 'alice', device: 'web-t1', missed_calls: [] });
    await settle();
    reply({ type: 'contact_list', id: lastSent(socket(), 'contacts_list').id!, users: ['bob', 'carol'] });
    await settle();
    reply({ type: 'current_settings', id: lastSent(socket(), 'settings').id!, who_may_call: 'contacts', p2p: 'nobody' });
    await settle();
    reply({ type: 'call_history', id: lastSent(socket(), 'history').id!, calls: [] });
    await settle();
  };
  return { controller, socket, reply, signUp, audio, started, media, timers, releaseMedia };
}

describe('ClientController', () => {
  it('signs up and shows the account, contacts, presence and settings', async () => {
    const t = await setup();
    await t.signUp();
    const s = t.controller.snapshot();
    expect(s.user).toBe('alice');
    expect(s.connection).toBe('online');
    expect(s.contacts).toEqual(['bob', 'carol']);
    expect(s.settings).toEqual({ whoMayCall: 'contacts', p2p: 'nobody' });
    t.reply({ type: 'presence', user: 'bob', online: true });
    expect([...t.controller.snapshot().online]).toEqual(['bob']);
  });

  it('makes an invite link, and shows the server\'s refusal', async () => {
    const t = await setup();
    await t.signUp();
    let pending = t.controller.createInvite();
    t.reply({ type: 'app_invite', id: lastSent(t.socket(), 'new_app_invite').id!, invite: new Uint8Array(16) });
    await pending;
    expect(t.controller.snapshot().invite).toBe('https://h:8443/16/');
    pending = t.controller.createInvite();
    t.reply({ type: 'error', id: lastSent(t.socket(), 'new_app_invite').id!, code: 'rate_limited', message: 'You made enough invites today; try tomorrow.' });
    await pending;
    expect(t.controller.snapshot().notice).toBe('You made enough invites today; try tomorrow.');
  });

  it('refuses an impossible username before asking the server', async () => {
    const t = await setup();
    await t.controller.signUp('x');
    expect(t.controller.snapshot().signInError).toMatch(/3 to 32 characters/);
  });

  it('calls: ringing, in call with the fingerprint, media started after the answer, hung up by the peer', async () => {
    const t = await setup();
    await t.signUp();
    const bob = new BrowserCallSession({ user: 'bob', device: 'laptop' }, SeedIdentityKey.generate(new SeededKeySource(31n)),
      new KnownPeers({ save: () => Promise.resolve() }), new SeededKeySource(32n));
    await t.controller.dial('bob');
    expect(t.audio.contexts).toBe(1);
    expect(t.audio.microphones).toBe(0); // nothing captured before the answer
    expect(t.controller.snapshot().call).toMatchObject({ peer: 'bob', phase: 'calling' });
    const invite = lastSent(t.socket(), 'invite');
    t.reply({ type: 'route', id: invite.id!, call_id: invite.call_id, to_device: 'laptop' });
    await settle();
    const offer = lastSent(t.socket(), 'offer');
    await bob.onMessage({ type: 'incoming', call_id: invite.call_id, from: 'alice', from_device: 'web-t1', commit: offer.commit }, 0);
    t.reply({ type: 'ringing', id: offer.id!, call_id: invite.call_id });
    await settle();
    expect(t.controller.snapshot().call!.phase).toBe('ringing');
    const accept = sent(await bob.accept(0), 'accept');
    t.reply({ type: 'accepted', call_id: invite.call_id, key: accept.key });
    await settle();
    expect(t.controller.snapshot().call!.phase).toBe('connecting');
    const reveal = lastSent(t.socket(), 'reveal');
    testHooks(t.controller).startRecording(); // before the media runs: applied when it starts
    t.reply(relay(invite.call_id, 7));
    await settle();
    const bobActions = await bob.onMessage(relay(invite.call_id, 8), 0);
    expect(bobActions).toEqual([]);
    const bobMedia = (await bob.onMessage({ type: 'revealed', call_id: invite.call_id, key: reveal.key }, 0))
      .find((a) => a.kind === 'start_media') as Extract<CallAction, { kind: 'start_media' }>;
    const call = t.controller.snapshot().call!;
    expect(call.phase).toBe('in call');
    expect(call.fingerprintEmoji).toBe(bobMedia.keys.fingerprint.emoji());
    expect(call.fingerprintWords).toBe(bobMedia.keys.fingerprint.words());
    expect(call.identityChanged).toBe(false);
    expect(t.audio.microphones).toBe(1);
    expect(t.started).toHaveLength(1);
    expect(t.started[0]).toMatchObject({ mediaSocketUrl: 'wss://h:8443/ws/x/m/7.7/h:8443', isCaller: true });
    expect(t.started[0]!.relay.ticket).toEqual(Uint8Array.of(7, 7));
    expect(t.started[0]!.callKeys.fingerprint.emoji()).toBe(call.fingerprintEmoji);

    const hooks = testHooks(t.controller);
    expect(hooks.fingerprint()).toBe(call.fingerprintEmoji);
    expect(hooks.quality()).toMatchObject({ path: 'relay-tls', connected: true });
    expect(t.media[0]!.recording).toBe(true);
    expect(hooks.takeRecording()).toEqual([0.25, -0.5]);
    // 0.25 -> round(8191.75) = 8192 (0x2000), -0.5 -> round(-16383.5) = -16383 (0xc001), little-endian
    expect(hooks.takeRecordingPcm16()).toBe(Buffer.from([0x00, 0x20, 0x01, 0xc0]).toString('base64'));
    t.controller.toggleMute();
    expect(t.media[0]!.muted).toBe(true);
    expect(t.controller.snapshot().call!.muted).toBe(true);

    t.reply({ type: 'ended', call_id: invite.call_id, reason: 'hangup' });
    await settle();
    expect(t.controller.snapshot().call).toMatchObject({ phase: 'ended', endedSentence: 'bob hung up (or lost the connection).' });
    expect(t.media[0]!.stopped).toBe(true);
    expect(t.audio.tracksStopped).toBe(1);
    expect(t.audio.closed).toBe(1);
    expect(lastSent(t.socket(), 'history')).toBeDefined(); // the history is fetched again
    t.controller.dismissCall();
    expect(t.controller.snapshot().call).toBeUndefined();
  });

  it('the peer\'s bye on the media path ends the call here and sends hangup', async () => {
    const t = await setup();
    await t.signUp();
    const bob = new BrowserCallSession({ user: 'bob', device: 'laptop' }, SeedIdentityKey.generate(new SeededKeySource(31n)),
      new KnownPeers({ save: () => Promise.resolve() }), new SeededKeySource(32n));
    await t.controller.dial('bob');
    const invite = lastSent(t.socket(), 'invite');
    t.reply({ type: 'route', id: invite.id!, call_id: invite.call_id, to_device: 'laptop' });
    await settle();
    const offer = lastSent(t.socket(), 'offer');
    await bob.onMessage({ type: 'incoming', call_id: invite.call_id, from: 'alice', from_device: 'web-t1', commit: offer.commit }, 0);
    const accept = sent(await bob.accept(0), 'accept');
    t.reply({ type: 'accepted', call_id: invite.call_id, key: accept.key });
    await settle();
    t.reply(relay(invite.call_id, 7));
    await settle();
    expect(t.controller.snapshot().call!.phase).toBe('in call');
    expect(t.media[0]!.onPeerBye).toBeDefined();
    t.media[0]!.onPeerBye!();
    await settle();
    expect(lastSent(t.socket(), 'hangup').call_id).toEqual(invite.call_id);
    expect(t.controller.snapshot().call).toMatchObject({ phase: 'ended', endedSentence: 'bob hung up (or lost the connection).' });
    expect(t.media[0]!.stopped).toBe(true);
  });

  it('is called: rings without the microphone, answers with it, and hangs up', async () => {
    const t = await setup();
    await t.signUp();
    const bob = new BrowserCallSession({ user: 'bob', device: 'laptop' }, SeedIdentityKey.generate(new SeededKeySource(41n)),
      new KnownPeers({ save: () => Promise.resolve() }), new SeededKeySource(42n));
    const invite = sent(await bob.call('alice', 0), 'invite');
    const offer = sent(await bob.onMessage({ type: 'route', id: invite.id!, call_id: invite.call_id, to_device: 'web-t1' }, 0), 'offer');
    t.reply({ type: 'incoming', call_id: invite.call_id, from: 'bob', from_device: 'laptop', commit: offer.commit });
    await settle();
    expect(t.controller.snapshot().call).toMatchObject({ peer: 'bob', phase: 'incoming', incoming: true });
    expect(t.audio.microphones).toBe(0);
    await t.controller.answer();
    expect(t.audio.microphones).toBe(1);
    const accept = lastSent(t.socket(), 'accept');
    const reveal = sent(await bob.onMessage({ type: 'accepted', call_id: invite.call_id, key: accept.key }, 0), 'reveal');
    t.reply(relay(invite.call_id, 1));
    await settle();
    expect(t.started).toHaveLength(0); // no reveal yet
    t.reply({ type: 'revealed', call_id: invite.call_id, key: reveal.key });
    await settle();
    expect(t.started[0]).toMatchObject({ isCaller: false, mediaSocketUrl: 'wss://h:8443/ws/x/m/1.1/h:8443' });
    expect(t.controller.snapshot().call!.phase).toBe('in call');
    await t.controller.hangUp();
    expect(lastSent(t.socket(), 'hangup').call_id).toEqual(invite.call_id);
    expect(t.controller.snapshot().call).toMatchObject({ phase: 'ended', endedSentence: 'You hung up the call with bob.' });
    expect(t.media[0]!.stopped).toBe(true);
  });

  it('shows identity-changed when a known peer calls with another key', async () => {
    const t = await setup({ known: [{ user: 'bob', device: 'laptop', key: new Uint8Array(32).fill(9), verified: false }] });
    await t.signUp();
    const bob = new BrowserCallSession({ user: 'bob', device: 'laptop' }, SeedIdentityKey.generate(new SeededKeySource(61n)),
      new KnownPeers({ save: () => Promise.resolve() }), new SeededKeySource(62n));
    const invite = sent(await bob.call('alice', 0), 'invite');
    const offer = sent(await bob.onMessage({ type: 'route', id: invite.id!, call_id: invite.call_id, to_device: 'web-t1' }, 0), 'offer');
    t.reply({ type: 'incoming', call_id: invite.call_id, from: 'bob', from_device: 'laptop', commit: offer.commit });
    await settle();
    expect(t.controller.snapshot().call).toMatchObject({ phase: 'incoming', identityChanged: true, keyBlocked: false,
      keyWarning: "Warning: bob's identity key has changed since your last call; compare the call fingerprint out loud." });
    await t.controller.answer();
    expect(t.controller.snapshot().call).toMatchObject({ phase: 'connecting', identityChanged: true });
  });

  it('a hang-up while the media is still starting stops that media once it is up', async () => {
    const t = await setup({ mediaWaits: true });
    await t.signUp();
    const bob = new BrowserCallSession({ user: 'bob', device: 'laptop' }, SeedIdentityKey.generate(new SeededKeySource(81n)),
      new KnownPeers({ save: () => Promise.resolve() }), new SeededKeySource(82n));
    const invite = sent(await bob.call('alice', 0), 'invite');
    const offer = sent(await bob.onMessage({ type: 'route', id: invite.id!, call_id: invite.call_id, to_device: 'web-t1' }, 0), 'offer');
    t.reply({ type: 'incoming', call_id: invite.call_id, from: 'bob', from_device: 'laptop', commit: offer.commit });
    await settle();
    await t.controller.answer();
    const reveal = sent(await bob.onMessage({ type: 'accepted', call_id: invite.call_id, key: lastSent(t.socket(), 'accept').key }, 0), 'reveal');
    t.reply(relay(invite.call_id, 1));
    t.reply({ type: 'revealed', call_id: invite.call_id, key: reveal.key });
    await settle();
    expect(t.started).toHaveLength(1);
    await t.controller.hangUp();
    expect(t.controller.snapshot().call!.phase).toBe('ended'); // without waiting for the media
    t.releaseMedia();
    await settle();
    expect(t.media[0]!.stopped).toBe(true);
    expect(t.controller.quality()).toBeNull();
    expect(t.controller.snapshot().notice).toBe('');
  });

  it('hangs up with a clear notice when the media cannot start', async () => {
    const t = await setup({ mediaFails: true });
    await t.signUp();
    const bob = new BrowserCallSession({ user: 'bob', device: 'laptop' }, SeedIdentityKey.generate(new SeededKeySource(71n)),
      new KnownPeers({ save: () => Promise.resolve() }), new SeededKeySource(72n));
    const invite = sent(await bob.call('alice', 0), 'invite');
    const offer = sent(await bob.onMessage({ type: 'route', id: invite.id!, call_id: invite.call_id, to_device: 'web-t1' }, 0), 'offer');
    t.reply({ type: 'incoming', call_id: invite.call_id, from: 'bob', from_device: 'laptop', commit: offer.commit });
    await settle();
    await t.controller.answer();
    const accept = lastSent(t.socket(), 'accept');
    const reveal = sent(await bob.onMessage({ type: 'accepted', call_id: invite.call_id, key: accept.key }, 0), 'reveal');
    t.reply(relay(invite.call_id, 1));
    t.reply({ type: 'revealed', call_id: invite.call_id, key: reveal.key });
    await settle();
    await settle();
    expect(lastSent(t.socket(), 'hangup').call_id).toEqual(invite.call_id);
    expect(t.controller.snapshot().call).toMatchObject({ phase: 'ended', endedSentence: 'You hung up the call with bob.' });
    expect(t.controller.snapshot().notice).toBe("The call's audio could not start (this browser has no Opus encoder); hanging up.");
    expect(t.audio.tracksStopped).toBe(1);
  });

  it('keeps ringing with a clear notice when the microphone is blocked', async () => {
    const t = await setup({ micFails: true });
    await t.signUp();
    const bob = new BrowserCallSession({ user: 'bob', device: 'laptop' }, SeedIdentityKey.generate(new SeededKeySource(51n)),
      new KnownPeers({ save: () => Promise.resolve() }), new SeededKeySource(52n));
    const invite = sent(await bob.call('alice', 0), 'invite');
    const offer = sent(await bob.onMessage({ type: 'route', id: invite.id!, call_id: invite.call_id, to_device: 'web-t1' }, 0), 'offer');
    t.reply({ type: 'incoming', call_id: invite.call_id, from: 'bob', from_device: 'laptop', commit: offer.commit });
    await settle();
    await t.controller.answer();
    expect(t.controller.snapshot().notice).toBe('The browser blocked the microphone; allow it for this site in the browser settings, then try again.');
    expect(t.controller.snapshot().call!.phase).toBe('incoming');
    expect(t.socket().sent.some((m) => m.type === 'accept')).toBe(false);
  });

  it('a lost connection ends the call and reconnects by itself', async () => {
    const t = await setup();
    await t.signUp();
    await t.controller.dial('bob');
    t.socket().events.onClose(1006, '');
    await settle();
    expect(t.controller.snapshot().call).toMatchObject({ phase: 'ended',
      endedSentence: 'The connection to the server was lost, so the call with bob ended.' });
    expect(t.controller.snapshot().connection).toBe('waiting');
    t.controller.dismissCall();
    await t.controller.dial('bob');
    expect(t.controller.snapshot().notice).toBe('Not connected to the server right now; wait until it reconnects, then call again.');
    expect(t.controller.snapshot().call).toBeUndefined();
    t.timers.advance(1000);
    t.reply({ type: 'hello', challenge: new Uint8Array(32).fill(2), server: 'parley.test' });
    await settle();
    expect(lastSent(t.socket(), 'login').user).toBe('alice');
  });
});
