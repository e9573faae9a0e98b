// The page's signaling connection to parleyd: hello -> register/login signed with the
// device key, requests matched to replies by id, pushes to a listener, keepalive and
// reconnect with backoff. The socket and the timers are injected (browser_socket.ts in
// the page, fakes in tests), so the logic runs in Vitest with no network.
import type { IdentitySigner } from '../protocol/crypto/identity_key';
import { type AuthPurpose, answerHello } from '../protocol/signal/client_auth';
import { type Message, type MessageOf, parseMessage, serializeMessage } from '../protocol/signal/messages';
import { ReconnectBackoff } from './reconnect_backoff';

// One WebSocket, opened by the factory. Events arrive through SocketEvents.
export interface SignalSocket {
  send(text: string): void;
  close(): void;
}
export interface SocketEvents {
  onOpen(): void;
  onText(text: string): void;
  onClose(code: number, reason: string): void; // also when opening failed
}
export type SocketFactory = (url: string, events: SocketEvents) => SignalSocket;

export interface Timers {
  now(): number; // milliseconds
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type ConnectionStatus =
  | 'offline' // not signed in and not trying
  | 'connecting' // opening the WebSocket or waiting for hello
  | 'signing_in' // register/login sent
  | 'online' // welcome received
  | 'waiting' // lost; a reconnect is scheduled
  | 'failed'; // stopped for a reason the user must act on (see the sentence)

export interface SignalingListener {
  // The connection changed; `sentence` says why when it is not simply working.
  onStatus(status: ConnectionStatus, sentence: string): void;
  onWelcome(welcome: MessageOf<'welcome'>): void;
  // Every message that is not the reply to one of request()'s requests.
  onMessage(message: Message): void;
  // The connection that was online is gone (calls on it are over).
  onDisconnected(): void;
}

export interface Account {
  user: string;
  device: string;
}

export interface SignalingClientOptions {
  url: string; // wss://host/ws/...
  serverName: string; // what hello must say ('' accepts any)
  identity: IdentitySigner;
  socketFactory: SocketFactory;
  timers: Timers;
  random?: () => number; // backoff jitter
  idleProbeMs?: number; // silence before a keepalive request; 25 s
  probeTimeoutMs?: number; // no reply to it: the connection is dead; 15 s
}

// Auth errors the user must act on: retrying the same thing cannot help.
const FINAL_AUTH_ERRORS = new Set(['bad_signature', 'no_such_account', 'username_taken', 'invalid_username',
  'invalid_device', 'already_logged_in']);

// Ids below this are the client's own requests; call sessions use 2^40 and up.
const MAX_CLIENT_ID = 2 ** 40 - 1;

interface Pending {
  resolve(message: Message): void;
  reject(error: Error): void;
}

// Single-threaded (the page's event loop). Lifetime: the page's.
export class SignalingClient {
  private socket: SignalSocket | undefined;
  private generation = 0; // events of older sockets are ignored
  private statusValue: ConnectionStatus = 'offline';
  private account: Account | undefined;
  private purpose: AuthPurpose = 'login';
  private registerFallsBackToLogin = false;
  private loginAfterTakenName = false; // the login is the fallback of a register
  private authId: number | undefined;
  private signIn: { resolve(w: MessageOf<'welcome'>): void; reject(e: Error): void } | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly backoff: ReconnectBackoff;
  private reconnectTimer: unknown;
  private idleTimer: unknown;
  private probeTimer: unknown;
  private readonly idleProbeMs: number;
  private readonly probeTimeoutMs: number;

  constructor(private readonly options: SignalingClientOptions, private readonly listener: SignalingListener) {
    this.backoff = new ReconnectBackoff(options.random);
    this.idleProbeMs = options.idleProbeMs ?? 25000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 15000;
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }
  get signedInAs(): Account | undefined {
    return this.statusValue === 'online' ? this.account : undefined;
  }

  // Registers (purpose 'register': a new account with this device's key; if the name
  // is taken, tries to log in, in case this device made it) or logs in, and stays
  // logged in across reconnects. Resolves with the first welcome; rejects with the
  // sentence to show when the server refuses.
  start(account: Account, purpose: 'register' | 'login'): Promise<MessageOf<'welcome'>> {
    this.stop();
    this.account = account;
    this.purpose = purpose;
    this.registerFallsBackToLogin = purpose === 'register';
    this.loginAfterTakenName = false;
    const result = new Promise<MessageOf<'welcome'>>((resolve, reject) => {
      this.signIn = { resolve, reject };
    });
    this.connect();
    return result;
  }

  // Closes the connection and does not reconnect.
  stop(): void {
    const wasOnline = this.statusValue === 'online';
    this.account = undefined;
    this.signIn?.reject(new Error('Signing in was stopped.'));
    this.signIn = undefined;
    this.dropSocket();
    this.options.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.setStatus('offline', '');
    if (wasOnline) this.listener.onDisconnected();
  }

  // A message with its own id (call sessions'); false when not online (nothing sent).
  send(message: Message): boolean {
    if (this.statusValue !== 'online' || !this.socket) return false;
    this.socket.send(serializeMessage(message));
    return true;
  }

  // Sends `message` with a fresh id and resolves with the server's reply to it;
  // rejects with the server's sentence on `error`, or when the connection is lost.
  request(message: Message): Promise<Message> {
    if (this.statusValue !== 'online' || !this.socket) {
      return Promise.reject(new Error('Not connected to the server; wait until it reconnects.'));
    }
    const id = this.takeId();
    let text: string;
    try {
      text = serializeMessage({ ...message, id });
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const reply = new Promise<Message>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.socket.send(text);
    return reply;
  }

  private takeId(): number {
    const id = this.nextId++;
    if (this.nextId > MAX_CLIENT_ID) this.nextId = 1;
    return id;
  }

  private setStatus(status: ConnectionStatus, sentence: string): void {
    this.statusValue = status;
    this.listener.onStatus(status, sentence);
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (!this.account) return;
    const generation = ++this.generation;
    this.setStatus('connecting', '');
    const current = () => generation === this.generation;
    this.socket = this.options.socketFactory(this.options.url, {
      onOpen: () => {
        if (current()) this.armIdle();
      },
      onText: (text) => {
        if (current()) void this.onText(text, generation);
      },
      onClose: (code, reason) => {
        if (current()) this.onClose(code, reason);
      },
    });
    this.armIdle(); // an open or a hello that never comes counts as a dead connection
  }

  private dropSocket(): void {
    this.generation++;
    const socket = this.socket;
    this.socket = undefined;
    this.options.timers.clearTimeout(this.idleTimer);
    this.options.timers.clearTimeout(this.probeTimer);
    this.idleTimer = this.probeTimer = undefined;
    this.authId = undefined;
    for (const p of this.pending.values()) p.reject(new Error('The connection to the server was lost; try again.'));
    this.pending.clear();
    socket?.close();
  }

  // Anything received proves the connection alive: the keepalive starts over.
  private armIdle(): void {
    const timers = this.options.timers;
    timers.clearTimeout(this.idleTimer);
    timers.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.idleTimer = timers.setTimeout(() => this.probe(), this.idleProbeMs);
  }

  // Browsers answer parleyd's WebSocket pings but cannot send their own, so a
  // harmless request (an empty `settings`) checks that the connection still works.
  private probe(): void {
    this.idleTimer = undefined;
    if (!this.socket) return;
    if (this.statusValue === 'online') {
      this.request({ type: 'settings' }).catch(() => undefined);
    }
    this.probeTimer = this.options.timers.setTimeout(() => {
      this.probeTimer = undefined;
      this.onClose(4000, 'no answer from the server');
    }, this.probeTimeoutMs);
  }

  private async onText(text: string, generation: number): Promise<void> {
    this.armIdle();
    let message: Message;
    try {
      message = parseMessage(text);
    } catch (e) {
      this.listener.onStatus(this.statusValue, `parleyd sent a message this page does not understand (${(e as Error).message}); reload the page if this keeps happening.`);
      return;
    }
    if (message.type === 'hello') return this.onHello(message, generation);
    if (this.statusValue === 'signing_in' && message.id !== undefined && message.id === this.authId) {
      return this.onAuthReply(message);
    }
    if (message.id !== undefined) {
      const pending = this.pending.get(message.id);
      if (pending) {
        this.pending.delete(message.id);
        if (message.type === 'error') pending.reject(new Error(message.message));
        else pending.resolve(message);
        return;
      }
    }
    if (message.type === 'error' && message.code === 'replaced') {
      return this.fail(`${message.message} This page signed out; reload it to sign in here again.`);
    }
    this.listener.onMessage(message);
  }

  private async onHello(hello: MessageOf<'hello'>, generation: number): Promise<void> {
    if (!this.account || this.statusValue === 'online') return;
    const id = this.takeId();
    let answer: Message;
    try {
      answer = await answerHello(hello, this.purpose, this.options.serverName, this.account.user, this.account.device,
        this.options.identity, id);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    if (generation !== this.generation || !this.socket) return;
    this.authId = id;
    this.setStatus('signing_in', '');
    this.socket.send(serializeMessage(answer));
  }

  private onAuthReply(message: Message): void {
    this.authId = undefined;
    if (message.type === 'welcome') {
      this.purpose = 'login'; // the account exists now: reconnects log in
      this.registerFallsBackToLogin = false;
      this.loginAfterTakenName = false;
      this.backoff.reset();
      this.setStatus('online', '');
      this.listener.onWelcome(message);
      this.signIn?.resolve(message);
      this.signIn = undefined;
      return;
    }
    if (message.type !== 'error') return;
    if (message.code === 'username_taken' && this.registerFallsBackToLogin) {
      // Maybe this device made the account before; the server sends a new hello.
      this.registerFallsBackToLogin = false;
      this.loginAfterTakenName = true;
      this.purpose = 'login';
      this.setStatus('connecting', '');
      return;
    }
    if (this.loginAfterTakenName && FINAL_AUTH_ERRORS.has(message.code)) {
      // Not this browser's account after all.
      return this.fail(`The name '${this.account?.user ?? ''}' is already taken by someone else; choose another.`);
    }
    if (message.code === 'rate_limited' || !FINAL_AUTH_ERRORS.has(message.code)) {
      this.listener.onStatus(this.statusValue, message.message);
      this.onClose(4001, message.message);
      return;
    }
    const sentence = message.code === 'bad_signature' || message.code === 'invalid_device'
      ? `${message.message} This name belongs to another device or person; choose another name.`
      : message.message;
    this.fail(sentence);
  }

  private fail(sentence: string): void {
    const wasOnline = this.statusValue === 'online';
    this.account = undefined;
    this.dropSocket();
    this.setStatus('failed', sentence);
    this.signIn?.reject(new Error(sentence));
    this.signIn = undefined;
    if (wasOnline) this.listener.onDisconnected();
  }

  private onClose(code: number, reason: string): void {
    const wasOnline = this.statusValue === 'online';
    this.dropSocket();
    if (wasOnline) this.listener.onDisconnected();
    if (!this.account) return;
    const delay = this.backoff.nextDelayMs();
    const why = code === 1001 ? 'parleyd is restarting' : reason !== '' ? reason : `the connection closed (code ${code})`;
    this.setStatus('waiting', `Lost the connection to the server (${why}); trying again in ${Math.ceil(delay / 1000)} s.`);
    this.reconnectTimer = this.options.timers.setTimeout(() => this.connect(), delay);
  }
}
