// The app's state and what the user can do, wiring the signaling client, the call
// session and the call's media together; the DOM (app_view.ts) only renders the
// snapshot and calls these methods. Browser-only powers (microphone, audio, media
// sockets, the clock) are injected, so the flow also runs against fakes.
import type { KnownPeers } from '../keys/known_peers';
import type { IdentitySigner } from '../protocol/crypto/identity_key';
import type { CallKeys } from '../protocol/crypto/call_keys';
import type { KeySource } from '../protocol/crypto/key_source';
import type { CallRecord, Message, MessageOf } from '../protocol/signal/messages';
import type { AccountStore } from '../signal/account_store';
import { type CallAction, BrowserCallSession, type RelayMessage } from '../signal/browser_call_session';
import { usernameProblem } from '../signal/end_reasons';
import type { ConnectionStatus, SignalingClient } from '../signal/signaling_client';
import { type CallPhase, type CallQuality, phaseOf } from './view_model';

// The running media of one call (W3's BrowserCallMedia satisfies it).
export interface CallMediaHandle {
  // Set by the controller: the peer's bye arrived on the media path.
  onPeerBye?: () => void;
  setMuted(muted: boolean): void;
  quality(): CallQuality;
  stop(): void;
  startRecording(): void;
  takeRecording(): Float32Array;
}

export interface MediaStartOptions {
  mediaSocketUrl: string;
  relay: RelayMessage;
  callKeys: CallKeys;
  isCaller: boolean;
  microphone: MediaStream;
  audioContext: AudioContext;
}

export interface ControllerDeps {
  signaling: SignalingClient;
  identity: IdentitySigner;
  peers: KnownPeers;
  keys: KeySource;
  accounts: AccountStore;
  now(): number;
  // A 48 kHz AudioContext; called inside the click that starts or answers a call
  // (browsers let audio start only from a user gesture).
  createAudioContext(): AudioContext;
  // getUserMedia with the browser's echo cancellation, noise suppression and AGC.
  openMicrophone(): Promise<MediaStream>;
  startMedia(options: MediaStartOptions): Promise<CallMediaHandle>;
  // The media WebSocket for this ticket, bridged by the front to `relay` (the call's).
  mediaSocketUrl(ticket: Uint8Array, relay: { host: string; port: number }): string;
  inviteLink(invite: Uint8Array): string;
}

export interface CallView {
  peer: string;
  phase: CallPhase;
  incoming: boolean; // this side was called
  endedSentence: string;
  connectedAt?: number; // ms, when media started: the call timer's zero
  fingerprintEmoji?: string;
  fingerprintWords?: string;
  keyWarning?: string;
  keyBlocked: boolean; // the call waits for approveKey
  identityChanged: boolean; // the peer's identity key changed since the last call
  muted: boolean;
}

export interface Snapshot {
  connection: ConnectionStatus;
  connectionSentence: string;
  user?: string;
  device?: string; // this browser's device name in the account
  signInError: string;
  busySigningIn: boolean;
  contacts: string[];
  online: ReadonlySet<string>;
  history: CallRecord[];
  settings?: { whoMayCall: string; p2p: string };
  call?: CallView | undefined;
  invite?: string; // the link of the invite this page made last
  notice: string;
}

export function microphoneProblem(error: unknown): string {
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError') return 'The browser blocked the microphone; allow it for this site in the browser settings, then try again.';
  if (name === 'NotFoundError') return 'No microphone was found; connect one, then try again.';
  return `The microphone could not be opened (${String(error)}); check that no other program holds it, then try again.`;
}

// Single-threaded (the page). Lifetime: the page's.
export class ClientController {
  private session: BrowserCallSession | undefined;
  private audioContext: AudioContext | undefined;
  private microphone: MediaStream | undefined;
  private media: CallMediaHandle | undefined;
  private lastMedia: CallMediaHandle | undefined;
  // Counts media starts and stops: a start that resolves after its call stopped (or
  // after a later start) stops what it made instead of installing it.
  private mediaGeneration = 0;
  private recordingWanted = false; // test hook: record the next media from its start
  private state: Snapshot = {
    connection: 'offline', connectionSentence: '', signInError: '', busySigningIn: false, contacts: [],
    online: new Set(), history: [], notice: '',
  };
  private listeners: Array<() => void> = [];

  constructor(private readonly deps: ControllerDeps) {}

  snapshot(): Snapshot {
    return this.state;
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  // The media of the current (or last) call, for the #test hooks.
  currentMedia(): CallMediaHandle | undefined {
    return this.media ?? this.lastMedia;
  }

  // Test hook: record what the call plays out. Asked for before the media runs (the
  // state says 'in call' as soon as the keys and ticket are there), it starts with it.
  startRecording(): void {
    this.recordingWanted = true;
    this.media?.startRecording();
  }

  // Test hook: what was recorded, 48 kHz mono; empty if no media ran.
  takeRecording(): Float32Array {
    this.recordingWanted = false;
    return this.currentMedia()?.takeRecording() ?? new Float32Array(0);
  }

  // The live quality of the running call; null before media runs (or if it cannot say).
  quality(): CallQuality | null {
    try {
      return this.media?.quality() ?? null;
    } catch {
      return null;
    }
  }

  private update(change: Partial<Snapshot>): void {
    this.state = { ...this.state, ...change };
    for (const l of this.listeners) l();
  }
  private updateCall(change: Partial<CallView>): void {
    if (this.state.call) this.update({ call: { ...this.state.call, ...change } });
  }

  // --- Signaling listener (SignalingClient calls these) -----------------------------

  onStatus(status: ConnectionStatus, sentence: string): void {
    this.update({ connection: status, connectionSentence: sentence,
      ...(status === 'failed' ? { signInError: sentence, busySigningIn: false } : {}),
      // Still retrying before the first welcome: the form may be used again.
      ...(status === 'waiting' && this.state.user === undefined ? { busySigningIn: false } : {}) });
  }

  onWelcome(welcome: MessageOf<'welcome'>): void {
    const session = new BrowserCallSession({ user: welcome.user, device: welcome.device }, this.deps.identity,
      this.deps.peers, this.deps.keys);
    if (!this.session || this.session.state === 'idle') this.session = session;
    const missed = welcome.missed_calls.length;
    this.update({ user: welcome.user, device: welcome.device, signInError: '', busySigningIn: false,
      notice: missed > 0 ? `You missed ${missed} call${missed > 1 ? 's' : ''} while away: ${welcome.missed_calls.map((c) => c.caller).join(', ')}.` : this.state.notice });
    void this.deps.accounts.save({ user: welcome.user, device: welcome.device }).catch(() => undefined);
    void this.refreshLists();
  }

  onMessage(message: Message): void {
    if (message.type === 'presence') {
      const online = new Set(this.state.online);
      if (message.online) online.add(message.user);
      else online.delete(message.user);
      this.update({ online });
      return;
    }
    if (this.session) void this.session.onMessage(message, this.deps.now()).then((a) => this.perform(a));
  }

  onDisconnected(): void {
    this.update({ online: new Set() });
    if (this.session) void this.session.onDisconnected(this.deps.now()).then((a) => this.perform(a));
  }

  // --- User actions ---------------------------------------------------------------

  // Loads a remembered account and logs in with it; false if there is none.
  async resume(): Promise<boolean> {
    const account = await this.deps.accounts.load().catch(() => undefined);
    if (!account) return false;
    this.update({ busySigningIn: true, signInError: '' });
    this.deps.signaling.start(account, 'login').catch(() => undefined);
    return true;
  }

  // Registers this device's key under `username`, or logs in if this device made it.
  async signUp(username: string): Promise<void> {
    const user = username.trim().toLowerCase();
    const problem = usernameProblem(user);
    if (problem) return this.update({ signInError: problem });
    const remembered = await this.deps.accounts.load().catch(() => undefined);
    const device = remembered?.device ?? await this.deps.accounts.deviceName();
    this.update({ busySigningIn: true, signInError: '' });
    const purpose = remembered?.user === user ? 'login' : 'register';
    await this.deps.signaling.start({ user, device }, purpose).catch((e: unknown) => {
      this.update({ signInError: (e as Error).message, busySigningIn: false });
    });
  }

  async dial(peer: string): Promise<void> {
    const name = peer.trim().toLowerCase();
    if (!this.session) return this.update({ notice: 'Sign in first.' });
    if (name === '') return this.update({ notice: 'Type the username to call.' });
    if (this.session.state !== 'idle') return this.update({ notice: 'You are already in a call; hang up first.' });
    if (this.state.connection !== 'online') {
      return this.update({ notice: 'Not connected to the server right now; wait until it reconnects, then call again.' });
    }
    // The microphone opens only once the call is answered (nothing is captured before).
    if (!this.ensureAudioContext()) return;
    this.update({ notice: '', call: this.newCall(name, false, 'calling') });
    await this.perform(await this.session.call(name, this.deps.now()));
  }

  async answer(): Promise<void> {
    if (!this.session || this.session.state !== 'incoming') return;
    if (!this.ensureAudioContext() || !(await this.ensureMicrophone())) return;
    await this.perform(await this.session.accept(this.deps.now()));
  }

  async decline(): Promise<void> {
    if (this.session) await this.perform(await this.session.decline(this.deps.now()));
  }

  async hangUp(): Promise<void> {
    if (this.session) await this.perform(await this.session.hangUp(this.deps.now()));
  }

  // The peer hung up on the media path: its server may not know the call any more.
  private async onPeerBye(): Promise<void> {
    if (this.session) await this.perform(await this.session.onPeerBye(this.deps.now()));
  }

  async approveKey(): Promise<void> {
    if (this.session) await this.perform(await this.session.approveKey(this.deps.now()));
  }

  toggleMute(): void {
    const call = this.state.call;
    if (!call) return;
    this.media?.setMuted(!call.muted);
    this.updateCall({ muted: !call.muted });
  }

  // Closes the screen of a call that ended.
  dismissCall(): void {
    if (this.state.call?.phase === 'ended') this.update({ call: undefined });
  }

  dismissNotice(): void {
    this.update({ notice: '' });
  }

  // A one-sentence notice from outside the call flow (e.g. a new version is ready).
  notify(sentence: string): void {
    this.update({ notice: sentence });
  }

  async addContact(username: string): Promise<void> {
    const user = username.trim().toLowerCase();
    if (user === '') return;
    try {
      await this.deps.signaling.request({ type: 'contacts_add', user });
      await this.refreshContacts();
      this.update({ notice: '' });
    } catch (e) {
      this.update({ notice: (e as Error).message });
    }
  }

  async removeContact(user: string): Promise<void> {
    try {
      await this.deps.signaling.request({ type: 'contacts_remove', user });
      await this.refreshContacts();
    } catch (e) {
      this.update({ notice: (e as Error).message });
    }
  }

  async changeSettings(change: { who_may_call?: 'everyone' | 'contacts' | 'nobody'; p2p?: 'everyone' | 'contacts' | 'nobody' }): Promise<void> {
    try {
      const reply = await this.deps.signaling.request({ type: 'settings', ...change });
      if (reply.type === 'current_settings') this.update({ settings: { whoMayCall: reply.who_may_call, p2p: reply.p2p } });
    } catch (e) {
      this.update({ notice: (e as Error).message });
    }
  }

  // A new web app invite of this account (the server limits how many a day).
  async createInvite(): Promise<void> {
    try {
      const reply = await this.deps.signaling.request({ type: 'new_app_invite' });
      if (reply.type === 'app_invite') this.update({ invite: this.deps.inviteLink(reply.invite), notice: '' });
    } catch (e) {
      this.update({ notice: (e as Error).message });
    }
  }

  async refreshHistory(): Promise<void> {
    try {
      const reply = await this.deps.signaling.request({ type: 'history', limit: 50 });
      if (reply.type === 'call_history') this.update({ history: reply.calls });
    } catch {
      // Not connected: the list stays as it was and is fetched again on the next welcome.
    }
  }

  // Once a second: set-up timeouts, and a re-render for the timer and quality line.
  async tick(): Promise<void> {
    if (this.session) await this.perform(await this.session.onTick(this.deps.now()));
    if (this.state.call) this.update({});
  }

  // --- Internals --------------------------------------------------------------------

  private newCall(peer: string, incoming: boolean, phase: CallPhase): CallView {
    return { peer, phase, incoming, endedSentence: '', keyBlocked: false, identityChanged: false, muted: false };
  }

  private async refreshLists(): Promise<void> {
    await this.refreshContacts();
    await this.changeSettings({});
    await this.refreshHistory();
  }

  private async refreshContacts(): Promise<void> {
    try {
      const reply = await this.deps.signaling.request({ type: 'contacts_list' });
      if (reply.type === 'contact_list') this.update({ contacts: reply.users });
    } catch {
      // As refreshHistory.
    }
  }

  private ensureAudioContext(): boolean {
    if (this.audioContext) return true;
    try {
      this.audioContext = this.deps.createAudioContext();
      return true;
    } catch (e) {
      this.update({ notice: `This browser could not start audio (${String(e)}); try a current Chrome, Firefox or Safari.` });
      return false;
    }
  }

  private async ensureMicrophone(): Promise<boolean> {
    if (this.microphone) return true;
    try {
      this.microphone = await this.deps.openMicrophone();
      return true;
    } catch (e) {
      this.update({ notice: microphoneProblem(e) });
      return false;
    }
  }

  private releaseAudio(): void {
    for (const track of this.microphone?.getTracks() ?? []) track.stop();
    this.microphone = undefined;
    void this.audioContext?.close().catch(() => undefined);
    this.audioContext = undefined;
  }

  private async perform(actions: CallAction[]): Promise<void> {
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          this.deps.signaling.send(action.message);
          break;
        case 'ringing':
          this.updateCall({ phase: 'ringing' });
          break;
        case 'incoming':
          this.update({ call: this.newCall(action.from, true, 'incoming') });
          break;
        case 'key_warning':
          this.updateCall({ keyWarning: action.sentence, keyBlocked: action.blocked,
            identityChanged: action.check.status === 'changed' || this.state.call?.identityChanged === true });
          if (action.blocked && this.state.call && !this.state.call.incoming) this.updateCall({ phase: 'key approval' });
          break;
        case 'start_media':
          this.updateCall({ phase: 'in call', connectedAt: this.deps.now(), keyBlocked: false,
            fingerprintEmoji: action.keys.fingerprint.emoji(), fingerprintWords: action.keys.fingerprint.words() });
          void this.startMedia(action, ++this.mediaGeneration);
          break;
        case 'stop_media':
          this.stopMedia();
          break;
        case 'notice':
          this.update({ notice: action.sentence });
          if (this.state.call && this.session) this.updateCall({ keyBlocked: this.session.state === 'awaiting_approval' });
          break;
        case 'ended':
          if (!this.state.call) this.update({ call: this.newCall(this.session?.peer ?? '', false, 'ended') });
          this.updateCall({ phase: 'ended', endedSentence: action.sentence });
          this.releaseAudio();
          void this.refreshHistory();
          break;
      }
    }
    const session = this.session;
    const call = this.state.call;
    if (session && call && call.phase !== 'ended' && session.state !== 'idle') {
      const phase = phaseOf(session.state);
      if (phase !== call.phase) this.updateCall({ phase });
    }
  }

  private async startMedia(action: Extract<CallAction, { kind: 'start_media' }>, generation: number): Promise<void> {
    try {
      if (!this.ensureAudioContext() || !(await this.ensureMicrophone())) {
        this.hangUpAfterMediaFailed(); // the notice says what to fix
        return;
      }
      const media = await this.deps.startMedia({
        mediaSocketUrl: this.deps.mediaSocketUrl(action.relay.ticket, { host: action.relay.host, port: action.relay.port }),
        relay: action.relay, callKeys: action.keys,
        isCaller: action.isCaller, microphone: this.microphone!, audioContext: this.audioContext!,
      });
      if (generation !== this.mediaGeneration || this.session?.state !== 'connected') {
        media.stop(); // the call ended while the media started
        this.lastMedia = media;
        return;
      }
      this.media = media;
      media.onPeerBye = () => void this.onPeerBye();
      this.lastMedia = media;
      if (this.state.call?.muted) media.setMuted(true);
      if (this.recordingWanted) media.startRecording();
    } catch (e) {
      if (generation !== this.mediaGeneration) return; // the call is over anyway
      this.update({ notice: `The call's audio could not start (${(e as Error).message}); hanging up.` });
      this.hangUpAfterMediaFailed();
    }
  }

  // Not awaited: startMedia runs outside the action sequence, and the hang-up's own
  // stop_media must not wait for it.
  private hangUpAfterMediaFailed(): void {
    if (this.session && this.session.state !== 'idle') void this.hangUp();
  }

  // A start still under way stops its media itself when it resolves (the generation).
  private stopMedia(): void {
    this.mediaGeneration++;
    this.media?.stop();
    this.media = undefined;
  }
}
