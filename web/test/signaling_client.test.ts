// SignalingClient against a fake socket in simulated time: hello -> signed register or
// login, replies matched by id, pushes to the listener, the register -> login fallback,
// clear errors, keepalive and reconnect with backoff.
import { beforeAll, describe, expect, it } from 'vitest';
import { SeedIdentityKey, verifySignature } from '../src/protocol/crypto/identity_key';
import { SeededKeySource } from '../src/protocol/crypto/key_source';
import { authSignedBytes } from '../src/protocol/signal/client_auth';
import type { Message, MessageOf } from '../src/protocol/signal/messages';
import { loadSodium } from '../src/protocol/sodium';
import { ReconnectBackoff } from '../src/signal/reconnect_backoff';
import { type ConnectionStatus, type SignalingListener, SignalingClient } from '../src/signal/signaling_client';
import { FakeSocket } from './support/fake_socket';
import { FakeTimers } from './support/fake_timers';

beforeAll(async () => {
  await loadSodium();
});

class Recorder implements SignalingListener {
  statuses: Array<[ConnectionStatus, string]> = [];
  messages: Message[] = [];
  welcomes: MessageOf<'welcome'>[] = [];
  disconnects = 0;
  onStatus(status: ConnectionStatus, sentence: string): void {
    this.statuses.push([status, sentence]);
  }
  onWelcome(welcome: MessageOf<'welcome'>): void {
    this.welcomes.push(welcome);
  }
  onMessage(message: Message): void {
    this.messages.push(message);
  }
  onDisconnected(): void {
    this.disconnects++;
  }
}

// Lets the client's async steps (signing) run.
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const challenge = (b: number) => new Uint8Array(32).fill(b);

function setup(serverName = 'parley.test') {
  const identity = SeedIdentityKey.generate(new SeededKeySource(5n));
  const timers = new FakeTimers();
  const sockets: FakeSocket[] = [];
  const listener = new Recorder();
  const client = new SignalingClient({
    url: 'wss://host/ws/abc', serverName, identity, timers, random: () => 0.5,
    socketFactory: (url, events) => {
      const s = new FakeSocket(url, events);
      sockets.push(s);
      return s;
    },
  }, listener);
  const socket = () => sockets[sockets.length - 1]!;
  // Opens the socket and answers its hello; returns the auth message the client sent.
  const hello = async (b = 1): Promise<Message> => {
    socket().events.onOpen();
    socket().push({ type: 'hello', challenge: challenge(b), server: 'parley.test' });
    await settle();
    return socket().last();
  };
  return { identity, timers, sockets, socket, listener, client, hello };
}

const welcome = (id: number): MessageOf<'welcome'> => ({ type: 'welcome', id, user: 'alice', device: 'web-1', missed_calls: [] });

describe('SignalingClient', () => {
  it('registers with a signature over the challenge, then is online', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'register');
    expect(t.socket().url).toBe('wss://host/ws/abc');
    expect(t.client.status).toBe('connecting');
    const register = await t.hello(1) as MessageOf<'register'>;
    expect(register.type).toBe('register');
    expect(register.identity_key).toEqual(t.identity.publicKey);
    expect(verifySignature(t.identity.publicKey,
      authSignedBytes('register', challenge(1), 'alice', 'web-1', 'parley.test'), register.signature)).toBe(true);
    expect(t.client.status).toBe('signing_in');
    t.socket().push(welcome(register.id!));
    expect(await done).toMatchObject({ user: 'alice' });
    expect(t.client.status).toBe('online');
    expect(t.client.signedInAs).toEqual({ user: 'alice', device: 'web-1' });
    expect(t.listener.welcomes.length).toBe(1);
  });

  it('falls back from register to login when the name is taken, on the next hello', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'register');
    const register = await t.hello(1);
    t.socket().push({ type: 'error', id: register.id!, code: 'username_taken', message: 'That username is taken.' });
    t.socket().push({ type: 'hello', challenge: challenge(2), server: 'parley.test' });
    await settle();
    const login = t.socket().last() as MessageOf<'login'>;
    expect(login.type).toBe('login');
    expect(verifySignature(t.identity.publicKey,
      authSignedBytes('login', challenge(2), 'alice', 'web-1', 'parley.test'), login.signature)).toBe(true);
    t.socket().push(welcome(login.id!));
    await done;
    expect(t.client.status).toBe('online');
  });

  it('says the name is taken when neither register nor the login fallback works', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'register');
    const register = await t.hello(1);
    t.socket().push({ type: 'error', id: register.id!, code: 'username_taken', message: 'That username is taken.' });
    t.socket().push({ type: 'hello', challenge: challenge(2), server: 'parley.test' });
    await settle();
    const login = t.socket().last();
    t.socket().push({ type: 'error', id: login.id!, code: 'no_such_account', message: "The account 'alice' has no device named 'web-1'." });
    await expect(done).rejects.toThrow("The name 'alice' is already taken by someone else; choose another.");
    expect(t.client.status).toBe('failed');
  });

  it('stops with a clear sentence when the name belongs to someone else', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'login');
    const login = await t.hello(1);
    t.socket().push({ type: 'error', id: login.id!, code: 'bad_signature', message: 'The login signature does not verify.' });
    await expect(done).rejects.toThrow('The login signature does not verify. This name belongs to another device or person; choose another name.');
    expect(t.client.status).toBe('failed');
    expect(t.socket().closed).toBe(true);
    t.timers.advance(120000);
    expect(t.sockets.length).toBe(1); // no reconnect
  });

  it('refuses a hello from a server of another name', async () => {
    const t = setup('other.example');
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'login');
    t.socket().push({ type: 'hello', challenge: challenge(1), server: 'parley.test' });
    await expect(done).rejects.toThrow("The server calls itself 'parley.test', not 'other.example'");
    expect(t.socket().sent).toEqual([]);
  });

  it('matches replies to requests by id and passes pushes on', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'login');
    t.socket().push(welcome((await t.hello()).id!));
    await done;
    const list = t.client.request({ type: 'contacts_list' });
    const add = t.client.request({ type: 'contacts_add', user: 'zed' });
    const [listReq, addReq] = t.socket().sent.slice(-2);
    expect(listReq!.id).not.toBe(addReq!.id);
    expect(listReq!.id).toBeLessThan(2 ** 40);
    t.socket().push({ type: 'presence', user: 'bob', online: true });
    t.socket().push({ type: 'error', id: addReq!.id!, code: 'no_such_user', message: 'There is no user zed.' });
    t.socket().push({ type: 'contact_list', id: listReq!.id!, users: ['bob'] });
    await expect(add).rejects.toThrow('There is no user zed.');
    expect(await list).toMatchObject({ type: 'contact_list', users: ['bob'] });
    expect(t.listener.messages.map((m) => m.type)).toEqual(['presence']);
    // A message with an id nobody waits for (a call session's) goes to the listener.
    t.socket().push({ type: 'route', id: 2 ** 40, call_id: new Uint8Array(16), to_device: 'x' });
    expect(t.listener.messages.map((m) => m.type)).toEqual(['presence', 'route']);
    expect(t.client.send({ type: 'hangup', id: 2 ** 40 + 1, call_id: new Uint8Array(16) })).toBe(true);
    expect(t.socket().last().type).toBe('hangup');
  });

  it('reports a message it cannot parse and carries on', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'login');
    t.socket().push(welcome((await t.hello()).id!));
    await done;
    t.socket().events.onText('{"type":"presence","user":"bob"}');
    expect(t.listener.statuses.at(-1)![1]).toContain("is missing the field 'online'");
    expect(t.client.status).toBe('online');
  });

  it('reconnects with growing delays and logs in again after a loss', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'register');
    t.socket().push(welcome((await t.hello()).id!));
    await done;
    const pending = t.client.request({ type: 'history', limit: 20 });
    t.socket().events.onClose(1006, '');
    await expect(pending).rejects.toThrow('The connection to the server was lost; try again.');
    expect(t.listener.disconnects).toBe(1);
    expect(t.client.status).toBe('waiting');
    expect(t.listener.statuses.at(-1)![1]).toBe('Lost the connection to the server (the connection closed (code 1006)); trying again in 1 s.');
    expect(t.client.send({ type: 'hangup', call_id: new Uint8Array(16) })).toBe(false);
    t.timers.advance(999);
    expect(t.sockets.length).toBe(1);
    t.timers.advance(1);
    expect(t.sockets.length).toBe(2);
    t.socket().events.onClose(1006, ''); // the server is still down: 2 s next
    t.timers.advance(1999);
    expect(t.sockets.length).toBe(2);
    t.timers.advance(1);
    expect(t.sockets.length).toBe(3);
    const again = await t.hello(3);
    expect(again.type).toBe('login'); // the account exists now
    t.socket().push(welcome(again.id!));
    expect(t.client.status).toBe('online');
    expect(t.listener.welcomes.length).toBe(2);
  });

  it('probes a silent connection and drops it when the probe gets no answer', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'login');
    t.socket().push(welcome((await t.hello()).id!));
    await done;
    t.timers.advance(24999);
    expect(t.socket().last().type).toBe('login');
    t.timers.advance(1);
    const probe = t.socket().last() as MessageOf<'settings'>;
    expect(probe.type).toBe('settings');
    expect(probe.who_may_call).toBeUndefined(); // changes nothing
    t.socket().push({ type: 'current_settings', id: probe.id!, who_may_call: 'everyone', p2p: 'contacts' });
    t.timers.advance(20000);
    expect(t.client.status).toBe('online'); // answered: alive
    t.timers.advance(5000 + 15000); // next probe, no answer
    expect(t.client.status).toBe('waiting');
    expect(t.socket().closed).toBe(true);
  });

  it('a replaced session stops without reconnecting', async () => {
    const t = setup();
    const done = t.client.start({ user: 'alice', device: 'web-1' }, 'login');
    t.socket().push(welcome((await t.hello()).id!));
    await done;
    t.socket().push({ type: 'error', code: 'replaced', message: 'You signed in on another device.' });
    expect(t.client.status).toBe('failed');
    expect(t.listener.statuses.at(-1)![1]).toBe('You signed in on another device. This page signed out; reload it to sign in here again.');
    expect(t.listener.disconnects).toBe(1);
    t.timers.advance(60000);
    expect(t.sockets.length).toBe(1);
  });

  it('a connection that never says hello is retried', () => {
    const t = setup();
    void t.client.start({ user: 'alice', device: 'web-1' }, 'login').catch(() => undefined);
    t.timers.advance(25000 + 15000);
    expect(t.client.status).toBe('waiting');
    t.timers.advance(1000);
    expect(t.sockets.length).toBe(2);
    t.client.stop();
    expect(t.client.status).toBe('offline');
    t.timers.advance(60000);
    expect(t.sockets.length).toBe(2);
  });
});

describe('ReconnectBackoff', () => {
  it('doubles from 1 s to 30 s with jitter and starts over after a success', () => {
    const middle = new ReconnectBackoff(() => 0.5);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => middle.nextDelayMs())).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    middle.reset();
    expect(middle.nextDelayMs()).toBe(1000);
    expect(new ReconnectBackoff(() => 0).nextDelayMs()).toBe(800);
    expect(new ReconnectBackoff(() => 0.999999).nextDelayMs()).toBe(1200);
  });
});
