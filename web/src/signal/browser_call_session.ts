// The browser's side of one call at a time, as logic without I/O: a port of the native
// signal::CallSession (src/parley/signal/call_session.cc) with the same states, sentences
// and rules. Signaling messages and user actions in, actions out; time is passed in.
import type { Bytes } from '../protocol/bytes';
import type { CallKeys } from '../protocol/crypto/call_keys';
import type { IdentitySigner } from '../protocol/crypto/identity_key';
import { type CallContext, KeyAgreement } from '../protocol/crypto/key_agreement';
import type { KeySource } from '../protocol/crypto/key_source';
import { type END_REASONS, MAX_REQUEST_ID, type Message, type MessageOf } from '../protocol/signal/messages';
import { type KnownPeers, type PeerCheck, isBlocked, needsWarning } from '../keys/known_peers';
import { describeEnd, validDeviceName } from './end_reasons';

export type EndReason = (typeof END_REASONS)[number];
export type RelayMessage = MessageOf<'relay'>;

export type CallState =
  | 'idle' // no call; an `incoming` may start one
  | 'inviting' // caller: invite sent, waiting for route
  | 'offering' // caller: offer sent, waiting for ringing
  | 'ringing' // caller: the callee's device rings
  | 'incoming' // callee: ringing here, waiting for the user
  | 'awaiting_approval' // caller: the callee answered with a key the user must approve
  | 'connecting' // answered; waiting for the rest of the keys and the relay ticket
  | 'connected'; // media runs

// Actions the app carries out, in order.
export type CallAction =
  | { kind: 'send'; message: Message }
  | { kind: 'ringing'; peer: string } // caller: the callee's device rings
  // callee: show the incoming call; approvalNeeded: a verified user's key changed
  | { kind: 'incoming'; from: string; fromDevice: string; check: PeerCheck; approvalNeeded: boolean }
  // the peer's identity key is new or changed; blocked: the call waits for approveKey
  | { kind: 'key_warning'; peer: string; device: string; check: PeerCheck; blocked: boolean; sentence: string }
  // The only way media starts: keys of a completed key agreement and this party's ticket.
  | { kind: 'start_media'; keys: CallKeys; relay: RelayMessage; peer: string; isCaller: boolean }
  | { kind: 'stop_media' }
  | { kind: 'notice'; sentence: string } // changes nothing
  // reason: from the server's `ended`; absent: ended here
  | { kind: 'ended'; reason?: EndReason; sentence: string; wasConnected: boolean };

export interface BrowserCallSessionConfig {
  user: string;
  device: string;
  setupTimeoutMs?: number; // invite, offer and the key exchange after the answer; 15 s
  // Ids of this session's requests start here, apart from the client's small ids.
  firstRequestId?: number;
}

const STATE_TEXT: Record<CallState, string> = {
  idle: 'idle', inviting: 'calling', offering: 'calling', ringing: 'ringing', incoming: 'incoming',
  awaiting_approval: 'key-approval', connecting: 'connecting', connected: 'connected',
};
export function callStateName(state: CallState): string {
  return STATE_TEXT[state];
}

function keySentence(peer: string, device: string, check: PeerCheck, blocked: boolean): string {
  if (blocked) {
    if (check.status === 'new_device') {
      return `You verified ${peer}, but this call comes from their new device '${device}': compare safety numbers and approve it, or hang up.`;
    }
    return `You verified ${peer}, but their identity key has changed: the call is held until you compare safety numbers again and approve the new key.`;
  }
  if (check.status === 'new_device') {
    return `${peer} is using a new device '${device}'; compare the call fingerprint out loud to be sure.`;
  }
  return `Warning: ${peer}'s identity key has changed since your last call; compare the call fingerprint out loud.`;
}

// Invariants (as native): at most one call; start_media at most once per call, only
// with keys of a complete KeyAgreement and a relay ticket for this call id; after an
// end the session is idle again; messages for other calls, of other types or in the
// wrong state change nothing. The browser has no UDP, so it never sends `candidates`
// (the protocol makes them optional) and ignores `peer_candidates`: its calls stay on
// the relay, which a native peer reaches on UDP.
// Every method is async (signing may be WebCrypto, the known-peer store IndexedDB);
// calls are queued and run one at a time in call order, so the caller may fire them
// from event handlers without awaiting. `identity`, `peers` and `keys` outlive it.
export class BrowserCallSession {
  private readonly user: string;
  private readonly device: string;
  private readonly setupTimeoutMs: number;
  private readonly firstRequestId: number;
  private nextRequestId: number;
  private queue: Promise<unknown> = Promise.resolve();

  // The current call; all reset by reset().
  private stateValue: CallState = 'idle';
  private isCaller = false;
  private callId: Bytes | undefined;
  private peerName = '';
  private peerDeviceName = '';
  private agreement: KeyAgreement | undefined;
  private pendingCheck: PeerCheck | undefined;
  private callKeys: CallKeys | undefined;
  private relay: RelayMessage | undefined;
  private mediaStarted = false;
  private deadline = Number.POSITIVE_INFINITY;
  private requestIds = new Set<number>();

  constructor(config: BrowserCallSessionConfig, private readonly identity: IdentitySigner,
    private readonly peers: KnownPeers, private readonly keys: KeySource) {
    this.user = config.user;
    this.device = config.device;
    this.setupTimeoutMs = config.setupTimeoutMs ?? 15000;
    this.firstRequestId = config.firstRequestId ?? 2 ** 40;
    this.nextRequestId = this.firstRequestId;
  }

  get state(): CallState {
    return this.stateValue;
  }
  get peer(): string {
    return this.peerName;
  }
  get peerDevice(): string {
    return this.peerDeviceName;
  }
  get currentCallId(): Bytes | undefined {
    return this.callId;
  }
  get caller(): boolean {
    return this.isCaller;
  }
  get mediaRunning(): boolean {
    return this.mediaStarted;
  }
  // Whether `id` tagged a message this session sent in the current call.
  isCallRequest(id: number | undefined): boolean {
    return id !== undefined && this.requestIds.has(id);
  }

  // --- User actions: one that does not fit the state gives a notice ---------------

  call(peer: string, now: number): Promise<CallAction[]> {
    return this.run(() => this.doCall(peer, now));
  }
  accept(now: number): Promise<CallAction[]> {
    return this.run(() => this.doAccept(now));
  }
  decline(now: number): Promise<CallAction[]> {
    return this.run(() => this.doDecline());
  }
  // Cancel, decline or hang up, whatever fits.
  hangUp(now: number): Promise<CallAction[]> {
    return this.run(() => this.doHangUp(now));
  }
  approveKey(now: number): Promise<CallAction[]> {
    return this.run(() => this.doApproveKey(now));
  }

  // --- Signaling and timers --------------------------------------------------------

  onMessage(message: Message, now: number): Promise<CallAction[]> {
    return this.run(() => this.dispatch(message, now));
  }
  // Set-up timeouts; call about once a second.
  onTick(now: number): Promise<CallAction[]> {
    return this.run(() => this.doTick(now));
  }
  // The peer's bye arrived on the media path. Our hangup goes to the server too: if the
  // peer's signaling connection went away during the call, the server kept the call
  // (and us busy); one that no longer knows it answers with an error, which an idle
  // session ignores.
  onPeerBye(now: number): Promise<CallAction[]> {
    void now;
    return this.run(() => {
      if (this.stateValue !== 'connected' || !this.mediaStarted) return [];
      const actions = [this.send({ type: 'hangup', call_id: this.callId! })];
      return this.end(actions, 'hangup', describeEnd('hangup', this.peerName));
    });
  }

  // The signaling connection was lost.
  onDisconnected(now: number): Promise<CallAction[]> {
    void now;
    return this.run(() => (this.stateValue === 'idle' ? [] : this.end([], undefined,
      `The connection to the server was lost, so the call with ${this.peerName} ended.`)));
  }

  // --- Internals ---------------------------------------------------------------------

  private run(step: () => CallAction[] | Promise<CallAction[]>): Promise<CallAction[]> {
    const result = this.queue.then(step);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private nextId(): number {
    const id = this.nextRequestId++;
    if (this.nextRequestId > MAX_REQUEST_ID) this.nextRequestId = this.firstRequestId;
    this.requestIds.add(id);
    return id;
  }

  private send(message: Message): CallAction {
    return { kind: 'send', message: { ...message, id: this.nextId() } };
  }

  private reset(): void {
    this.stateValue = 'idle';
    this.isCaller = false;
    this.callId = undefined;
    this.peerName = '';
    this.peerDeviceName = '';
    this.agreement = undefined;
    this.pendingCheck = undefined;
    this.callKeys = undefined;
    this.relay = undefined;
    this.mediaStarted = false;
    this.deadline = Number.POSITIVE_INFINITY;
    this.requestIds = new Set();
  }

  private end(actions: CallAction[], reason: EndReason | undefined, sentence: string): CallAction[] {
    const wasConnected = this.mediaStarted;
    if (wasConnected) actions.push({ kind: 'stop_media' });
    actions.push(reason === undefined ? { kind: 'ended', sentence, wasConnected }
      : { kind: 'ended', reason, sentence, wasConnected });
    this.reset();
    return actions;
  }

  // Ends the call here after something went wrong, telling the server with `goodbye`.
  private fail(goodbye: 'cancel' | 'decline' | 'hangup', sentence: string): CallAction[] {
    const actions = [this.send({ type: goodbye, call_id: this.callId! })];
    return this.end(actions, undefined, sentence);
  }

  private ours(callId: Bytes): boolean {
    if (!this.callId || callId.length !== this.callId.length) return false;
    return callId.every((b, i) => b === this.callId![i]);
  }

  private doCall(peer: string, now: number): CallAction[] {
    if (this.stateValue !== 'idle') return [{ kind: 'notice', sentence: 'You are already in a call; hang up first.' }];
    if (peer === this.user) return [{ kind: 'notice', sentence: 'You cannot call yourself.' }];
    const id = this.keys.fill(16);
    this.reset();
    this.stateValue = 'inviting';
    this.isCaller = true;
    this.callId = id;
    this.peerName = peer;
    this.deadline = now + this.setupTimeoutMs;
    return [this.send({ type: 'invite', call_id: id, to: peer })];
  }

  private async doAccept(now: number): Promise<CallAction[]> {
    if (this.stateValue !== 'incoming') return [{ kind: 'notice', sentence: 'There is no incoming call to answer.' }];
    if (this.pendingCheck) {
      return [{ kind: 'notice', sentence: `Approve ${this.peerName}'s new identity key first (after comparing safety numbers), or decline.` }];
    }
    let key: Bytes;
    try {
      key = await this.agreement!.makeAccept();
    } catch (e) {
      return this.fail('decline', `The call could not be answered: ${(e as Error).message}`);
    }
    this.stateValue = 'connecting';
    this.deadline = now + this.setupTimeoutMs;
    return [this.send({ type: 'accept', call_id: this.callId!, key })];
  }

  private doDecline(): CallAction[] {
    if (this.stateValue !== 'incoming') return [{ kind: 'notice', sentence: 'There is no incoming call to decline.' }];
    const actions = [this.send({ type: 'decline', call_id: this.callId! })];
    return this.end(actions, undefined, `You declined the call from ${this.peerName}.`);
  }

  private doHangUp(now: number): CallAction[] {
    void now;
    switch (this.stateValue) {
      case 'idle':
        return [{ kind: 'notice', sentence: 'There is no call to hang up.' }];
      case 'incoming':
        return this.doDecline();
      case 'inviting':
      case 'offering':
      case 'ringing':
        return this.end([this.send({ type: 'cancel', call_id: this.callId! })], undefined,
          `You cancelled the call to ${this.peerName}.`);
      case 'awaiting_approval':
      case 'connecting':
      case 'connected':
        return this.end([this.send({ type: 'hangup', call_id: this.callId! })], undefined,
          `You hung up the call with ${this.peerName}.`);
    }
  }

  private async doApproveKey(now: number): Promise<CallAction[]> {
    const key = this.agreement?.peerIdentity;
    if (!this.pendingCheck || !key) {
      return [{ kind: 'notice', sentence: 'There is no identity key waiting for your approval.' }];
    }
    try {
      await this.peers.approve(this.peerName, this.peerDeviceName, key);
    } catch (e) {
      return [{ kind: 'notice', sentence: `Could not save the approved key: ${(e as Error).message}` }];
    }
    this.pendingCheck = undefined;
    const out: CallAction[] = [{ kind: 'notice', sentence: `You approved ${this.peerName}'s new identity key.` }];
    if (this.stateValue === 'awaiting_approval') return this.proceedAfterAccepted(out, now);
    return out; // callee: now accept() may answer
  }

  private async dispatch(m: Message, now: number): Promise<CallAction[]> {
    switch (m.type) {
      case 'route': return this.onRoute(m, now);
      case 'ringing': return this.onRinging(m);
      case 'incoming': return this.onIncoming(m);
      case 'accepted': return this.onAccepted(m, now);
      case 'revealed': return this.onRevealed(m);
      case 'relay': return this.onRelay(m);
      case 'ended': return this.onEnded(m);
      case 'error': return this.onError(m);
      default: return []; // not about calls (peer_candidates too: no direct path here)
    }
  }

  private async onRoute(m: MessageOf<'route'>, now: number): Promise<CallAction[]> {
    if (this.stateValue !== 'inviting' || !this.ours(m.call_id)) return [];
    if (!validDeviceName(m.to_device)) return this.fail('cancel', `The server named an invalid device for ${this.peerName}.`);
    this.peerDeviceName = m.to_device;
    const context: CallContext = {
      callId: this.callId!, caller: { user: this.user, device: this.device },
      callee: { user: this.peerName, device: this.peerDeviceName },
    };
    let commit: Bytes;
    try {
      this.agreement = new KeyAgreement('caller', context, this.identity, this.keys);
      commit = await this.agreement.makeCommit();
    } catch (e) {
      return this.fail('cancel', `The call could not be set up: ${(e as Error).message}`);
    }
    if (this.stateValue !== 'inviting') return []; // ended while signing
    this.stateValue = 'offering';
    this.deadline = now + this.setupTimeoutMs;
    return [this.send({ type: 'offer', call_id: this.callId!, commit })];
  }

  private onRinging(m: MessageOf<'ringing'>): CallAction[] {
    if (this.stateValue !== 'offering' || !this.ours(m.call_id)) return [];
    this.stateValue = 'ringing';
    this.deadline = Number.POSITIVE_INFINITY; // the server's ring timeout ends it
    return [{ kind: 'ringing', peer: this.peerName }];
  }

  private async onIncoming(m: MessageOf<'incoming'>): Promise<CallAction[]> {
    if (this.stateValue !== 'idle') return []; // the server keeps us busy; a stray copy
    if (m.from === this.user || !validDeviceName(m.from_device)) return [];
    const context: CallContext = {
      callId: m.call_id, caller: { user: m.from, device: m.from_device }, callee: { user: this.user, device: this.device },
    };
    let agreement: KeyAgreement;
    try {
      agreement = new KeyAgreement('callee', context, this.identity, this.keys);
    } catch {
      return [];
    }
    let verified = true;
    try {
      agreement.receive(m.commit);
    } catch {
      verified = false;
    }
    const key = agreement.peerIdentity;
    if (!verified || !key) {
      // A commit that does not verify: refuse the call without ringing.
      this.reset();
      this.callId = m.call_id;
      this.peerName = m.from;
      return this.end([this.send({ type: 'decline', call_id: m.call_id })], undefined,
        `An incoming call from ${m.from} was refused: its key exchange did not verify.`);
    }
    this.reset();
    this.stateValue = 'incoming';
    this.callId = m.call_id;
    this.peerName = m.from;
    this.peerDeviceName = m.from_device;
    this.agreement = agreement;
    const out: CallAction[] = [];
    const check = await this.checkPeerKey(key, out);
    out.unshift({ kind: 'incoming', from: m.from, fromDevice: m.from_device, check, approvalNeeded: this.pendingCheck !== undefined });
    return out;
  }

  // Consults the known peers: a blocked check becomes pendingCheck (the user must
  // approve), a warning is added to `out`, the rest is remembered.
  private async checkPeerKey(key: Bytes, out: CallAction[]): Promise<PeerCheck> {
    const check = this.peers.check(this.peerName, this.peerDeviceName, key);
    if (isBlocked(check)) {
      this.pendingCheck = check;
      out.push({ kind: 'key_warning', peer: this.peerName, device: this.peerDeviceName, check, blocked: true,
        sentence: keySentence(this.peerName, this.peerDeviceName, check, true) });
      return check;
    }
    try {
      await this.peers.checkAndRemember(this.peerName, this.peerDeviceName, key);
    } catch (e) {
      out.push({ kind: 'notice', sentence: `This browser could not remember ${this.peerName}'s identity key: ${(e as Error).message}.` });
    }
    if (needsWarning(check)) {
      out.push({ kind: 'key_warning', peer: this.peerName, device: this.peerDeviceName, check, blocked: false,
        sentence: keySentence(this.peerName, this.peerDeviceName, check, false) });
    }
    return check;
  }

  private async onAccepted(m: MessageOf<'accepted'>, now: number): Promise<CallAction[]> {
    if (!this.isCaller || !this.ours(m.call_id) || (this.stateValue !== 'offering' && this.stateValue !== 'ringing')) {
      return [];
    }
    try {
      this.agreement!.receive(m.key);
    } catch {
      if (!this.agreement!.aborted) return []; // unexpected (e.g. unparseable, a copy): changes nothing
      return this.fail('hangup', `The call with ${this.peerName} was ended: their key exchange did not verify.`);
    }
    if (!this.agreement!.peerIdentity) return [];
    this.stateValue = 'connecting';
    this.deadline = now + this.setupTimeoutMs;
    const out: CallAction[] = [];
    await this.checkPeerKey(this.agreement!.peerIdentity, out);
    if (this.pendingCheck) {
      this.stateValue = 'awaiting_approval';
      this.deadline = Number.POSITIVE_INFINITY;
      return out;
    }
    return this.proceedAfterAccepted(out, now);
  }

  private async proceedAfterAccepted(out: CallAction[], now: number): Promise<CallAction[]> {
    let reveal: Bytes;
    try {
      reveal = await this.agreement!.makeReveal();
    } catch {
      return this.fail('hangup', `The call with ${this.peerName} could not be secured.`);
    }
    if (!this.agreement!.complete) return this.fail('hangup', `The call with ${this.peerName} could not be secured.`);
    this.stateValue = 'connecting';
    this.deadline = now + this.setupTimeoutMs;
    out.push(this.send({ type: 'reveal', call_id: this.callId!, key: reveal }));
    this.callKeys = this.agreement!.takeKeys();
    this.maybeStartMedia(out);
    return out;
  }

  private onRevealed(m: MessageOf<'revealed'>): CallAction[] {
    if (this.isCaller || !this.ours(m.call_id) || this.stateValue !== 'connecting' || this.callKeys) return [];
    try {
      this.agreement!.receive(m.key);
    } catch {
      if (!this.agreement!.aborted) return [];
      return this.fail('hangup', `The call with ${this.peerName} was ended: their key exchange did not verify.`);
    }
    if (!this.agreement!.complete) return [];
    this.callKeys = this.agreement!.takeKeys();
    const out: CallAction[] = [];
    this.maybeStartMedia(out);
    return out;
  }

  private onRelay(m: RelayMessage): CallAction[] {
    // A ticket is only for a call that was answered; before that it is ignored.
    if (!this.ours(m.call_id) || (this.stateValue !== 'connecting' && this.stateValue !== 'awaiting_approval')) return [];
    if (this.relay) return [];
    this.relay = m;
    const out: CallAction[] = [];
    this.maybeStartMedia(out);
    return out;
  }

  private maybeStartMedia(out: CallAction[]): void {
    if (this.stateValue !== 'connecting' || this.mediaStarted || !this.callKeys || !this.relay) return;
    this.stateValue = 'connected';
    this.mediaStarted = true;
    this.deadline = Number.POSITIVE_INFINITY;
    out.push({ kind: 'start_media', keys: this.callKeys, relay: this.relay, peer: this.peerName, isCaller: this.isCaller });
    this.callKeys = undefined;
  }

  private onEnded(m: MessageOf<'ended'>): CallAction[] {
    if (this.stateValue === 'idle' || !this.ours(m.call_id)) return [];
    return this.end([], m.reason, describeEnd(m.reason, this.peerName));
  }

  private onError(m: MessageOf<'error'>): CallAction[] {
    if (this.stateValue === 'idle' || !this.isCallRequest(m.id)) return [];
    return this.end([], undefined, `parleyd refused the call: ${m.message}`);
  }

  private doTick(now: number): CallAction[] {
    if (this.stateValue === 'idle' || now < this.deadline) return [];
    if (this.stateValue === 'inviting' || this.stateValue === 'offering') {
      return this.fail('cancel', 'parleyd did not answer in time; check your connection and try again.');
    }
    return this.fail('hangup', `The call with ${this.peerName} could not be connected in time; try again.`);
  }
}
