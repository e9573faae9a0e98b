// One side of a call's commit/accept/reveal key agreement: a state machine without
// I/O, the same rules as crypto/key_agreement.cc. docs/protocol.md, "Key agreement
// messages" and "Key derivation".
import { type Bytes, concat, equalBytes, lengthPrefixed } from '../bytes';
import { sodium } from '../sodium';
import { type CallKeys, type Role, deriveCallKeys, extractPrk } from './call_keys';
import { domainHash } from './domain_hash';
import type { Fingerprint } from './fingerprint';
import {
  type HandshakeMessage, HandshakeType, parseHandshakeMessage, serializeHandshakeMessage, signedPrefix,
} from './handshake_message';
import { type IdentitySigner, verifySignature } from './identity_key';
import type { KeySource } from './key_source';

export interface CallParty {
  user: string; // 1..255 bytes of UTF-8
  device: string; // 1..255 bytes
}

export interface CallContext {
  callId: Bytes; // 16 random bytes, chosen by the caller
  caller: CallParty;
  callee: CallParty;
}

const LABEL = {
  context: 'parley-v1 context',
  commitment: 'parley-v1 commitment',
  transcript: 'parley-v1 transcript',
  commit: 'parley-v1 commit',
  accept: 'parley-v1 accept',
  reveal: 'parley-v1 reveal',
} as const;

export function contextHash(context: CallContext): Bytes {
  return domainHash(LABEL.context, context.callId, lengthPrefixed(context.caller.user),
    lengthPrefixed(context.caller.device), lengthPrefixed(context.callee.user), lengthPrefixed(context.callee.device));
}

export function commitTo(callId: Bytes, callerIdentity: Bytes, callerEphemeral: Bytes): Bytes {
  return domainHash(LABEL.commitment, callId, callerIdentity, callerEphemeral);
}

type State = 'start' | 'commit_sent' | 'commit_received' | 'accept_sent' | 'accept_received' | 'complete' | 'aborted';

const TYPE_NAME: Record<HandshakeType, string> = {
  [HandshakeType.Commit]: 'commit',
  [HandshakeType.Accept]: 'accept',
  [HandshakeType.Reveal]: 'reveal',
};

// Errors: a refused message (unexpected or unparseable) throws and changes nothing; an
// expected message that fails a check aborts the agreement for good and throws; every
// later call throws too. Methods are async only because signing may be (WebCrypto);
// call them one at a time (a call while another is pending throws).
export class KeyAgreement {
  private state: State = 'start';
  private busy = false;
  private abortReason = '';
  private readonly contextHash: Bytes;
  private ephemeralSecret: Bytes | undefined;
  private ephemeralPublic: Bytes | undefined;
  private sharedSecret: Bytes | undefined;
  private peerCommitment: Bytes | undefined;
  private peerIdentityKey: Bytes | undefined;
  private commit: Bytes | undefined;
  private accept: Bytes | undefined;
  private reveal: Bytes | undefined;
  private keys: CallKeys | undefined;
  private fingerprintValue: Fingerprint | undefined;

  constructor(readonly role: Role, private readonly context: CallContext, private readonly identity: IdentitySigner,
    private readonly keySource: KeySource) {
    if (context.callId.length !== 16) throw new Error('a call id is 16 bytes');
    // lengthPrefixed refuses empty and over-long names.
    this.contextHash = contextHash(context);
  }

  get complete(): boolean {
    return this.state === 'complete';
  }
  get aborted(): boolean {
    return this.state === 'aborted';
  }
  // The peer's identity key, from the first message of theirs that verified.
  get peerIdentity(): Bytes | undefined {
    return this.peerIdentityKey;
  }
  get fingerprint(): Fingerprint {
    if (!this.fingerprintValue) throw new Error('the fingerprint exists once the key agreement is complete');
    return this.fingerprintValue;
  }

  // Moves the call keys out; once, after completion.
  takeKeys(): CallKeys {
    if (!this.keys) throw new Error('call keys are taken once, after completion');
    const keys = this.keys;
    this.keys = undefined;
    return keys;
  }

  async makeCommit(): Promise<Bytes> {
    this.expectState(this.role === 'caller' && this.state === 'start', 'commit is sent once, by the caller, first');
    this.newEphemeral();
    const m: HandshakeMessage = {
      type: HandshakeType.Commit, callId: this.context.callId, identity: this.identity.publicKey,
      key: commitTo(this.context.callId, this.identity.publicKey, this.ephemeralPublic!), signature: new Uint8Array(64),
    };
    this.commit = await this.signMessage(m, LABEL.commit);
    this.state = 'commit_sent';
    return this.commit;
  }

  async makeAccept(): Promise<Bytes> {
    this.expectState(this.role === 'callee' && this.state === 'commit_received',
      'accept is sent once, by the callee, after the commit');
    this.newEphemeral();
    const m: HandshakeMessage = {
      type: HandshakeType.Accept, callId: this.context.callId, identity: this.identity.publicKey,
      key: this.ephemeralPublic!, signature: new Uint8Array(64),
    };
    this.accept = await this.signMessage(m, LABEL.accept);
    this.state = 'accept_sent';
    return this.accept;
  }

  async makeReveal(): Promise<Bytes> {
    this.expectState(this.role === 'caller' && this.state === 'accept_received',
      'reveal is sent once, by the caller, after the accept');
    const m: HandshakeMessage = {
      type: HandshakeType.Reveal, callId: this.context.callId, identity: new Uint8Array(0),
      key: this.ephemeralPublic!, signature: new Uint8Array(64),
    };
    this.reveal = await this.signMessage(m, LABEL.reveal);
    this.finish();
    return this.reveal;
  }

  // Synchronous: verifying needs no async signer.
  receive(bytes: Bytes): void {
    if (this.busy) throw new Error('the key agreement is busy signing; wait for it');
    if (this.aborted) throw new Error(`key agreement aborted: ${this.abortReason}`);
    let m: HandshakeMessage;
    try {
      m = parseHandshakeMessage(bytes);
    } catch (e) {
      throw new Error(`refused handshake message: ${(e as Error).message}`);
    }
    if (this.role === 'callee' && m.type === HandshakeType.Commit && this.state === 'start') {
      return this.receiveCommit(m, bytes);
    }
    if (this.role === 'caller' && m.type === HandshakeType.Accept && this.state === 'commit_sent') {
      return this.receiveAccept(m, bytes);
    }
    if (this.role === 'callee' && m.type === HandshakeType.Reveal && this.state === 'accept_sent') {
      return this.receiveReveal(m, bytes);
    }
    this.refuse(m, bytes);
  }

  private expectState(ok: boolean, otherwise: string): void {
    if (this.busy) throw new Error('the key agreement is busy signing; wait for it');
    if (this.aborted) throw new Error(`key agreement aborted: ${this.abortReason}`);
    if (!ok) throw new Error(otherwise);
  }

  private newEphemeral(): void {
    this.ephemeralSecret = this.keySource.fill(32);
    this.ephemeralPublic = sodium().crypto_scalarmult_base(this.ephemeralSecret);
  }

  // label || 0x00 || context hash || earlier messages || this message without signature
  private signedBytes(label: string, prefix: Bytes): Bytes {
    const earlier: Bytes[] = [];
    if (label !== LABEL.commit) earlier.push(this.commit!);
    if (label === LABEL.reveal) earlier.push(this.accept!);
    return concat(new TextEncoder().encode(label), Uint8Array.of(0), this.contextHash, ...earlier, prefix);
  }

  private async signMessage(m: HandshakeMessage, label: string): Promise<Bytes> {
    const unsigned = serializeHandshakeMessage(m);
    this.busy = true;
    try {
      const signature = await this.identity.sign(this.signedBytes(label, signedPrefix(unsigned)));
      return serializeHandshakeMessage({ ...m, signature });
    } finally {
      this.busy = false;
    }
  }

  private abort(reason: string): never {
    this.state = 'aborted';
    this.abortReason = reason;
    this.wipeSecrets();
    throw new Error(`key agreement aborted: ${reason}`);
  }

  private refuse(m: HandshakeMessage, bytes: Bytes): never {
    const type = TYPE_NAME[m.type];
    const seen = m.type === HandshakeType.Commit ? this.commit : m.type === HandshakeType.Accept ? this.accept : this.reveal;
    const ours = (this.role === 'caller') === (m.type !== HandshakeType.Accept);
    if (ours) throw new Error(`refused ${type}: this side sends ${type} messages, it does not receive them`);
    if (seen) {
      throw new Error(equalBytes(seen, bytes) ? `refused duplicate ${type}`
        : `refused a second, different ${type} (each message is accepted once)`);
    }
    throw new Error(`refused ${type}: it arrived out of order`);
  }

  private checkCommon(m: HandshakeMessage): void {
    if (!sodium().memcmp(m.callId, this.context.callId)) this.abort('the message belongs to another call');
  }

  private receiveCommit(m: HandshakeMessage, bytes: Bytes): void {
    this.checkCommon(m);
    if (equalBytes(m.identity, this.identity.publicKey)) this.abort('the commit carries our own identity key');
    if (!verifySignature(m.identity, this.signedBytes(LABEL.commit, signedPrefix(bytes)), m.signature)) {
      this.abort("the commit's signature does not verify");
    }
    this.commit = Uint8Array.from(bytes);
    this.peerCommitment = m.key;
    this.peerIdentityKey = m.identity;
    this.state = 'commit_received';
  }

  private receiveAccept(m: HandshakeMessage, bytes: Bytes): void {
    this.checkCommon(m);
    if (equalBytes(m.identity, this.identity.publicKey)) this.abort('the accept carries our own identity key');
    if (!verifySignature(m.identity, this.signedBytes(LABEL.accept, signedPrefix(bytes)), m.signature)) {
      this.abort("the accept's signature does not verify");
    }
    this.sharedSecret = this.agree(m.key, "the callee's key");
    this.accept = Uint8Array.from(bytes);
    this.peerIdentityKey = m.identity;
    this.state = 'accept_received';
  }

  private receiveReveal(m: HandshakeMessage, bytes: Bytes): void {
    this.checkCommon(m);
    if (!verifySignature(this.peerIdentityKey!, this.signedBytes(LABEL.reveal, signedPrefix(bytes)), m.signature)) {
      this.abort("the reveal's signature does not verify");
    }
    const expected = commitTo(this.context.callId, this.peerIdentityKey!, m.key);
    if (!sodium().memcmp(expected, this.peerCommitment!)) {
      this.abort("the caller's revealed key does not match its commitment");
    }
    this.sharedSecret = this.agree(m.key, "the caller's key");
    this.reveal = Uint8Array.from(bytes);
    this.finish();
  }

  // RFC 7748 §6.1: all-zero and low-order peer keys are refused (libsodium throws).
  private agree(peerPublic: Bytes, what: string): Bytes {
    if (peerPublic.every((b) => b === 0)) this.abort(`${what} is all zero`);
    try {
      return sodium().crypto_scalarmult(this.ephemeralSecret!, peerPublic);
    } catch {
      return this.abort(`${what} is a low-order point`);
    }
  }

  private finish(): void {
    const transcriptHash = domainHash(LABEL.transcript, this.contextHash, this.commit!, this.accept!, this.reveal!);
    const prk = extractPrk(this.sharedSecret!, transcriptHash);
    this.keys = deriveCallKeys(prk, this.role);
    this.fingerprintValue = this.keys.fingerprint;
    prk.fill(0);
    this.wipeSecrets();
    this.state = 'complete';
  }

  private wipeSecrets(): void {
    this.ephemeralSecret?.fill(0);
    this.sharedSecret?.fill(0);
    this.ephemeralSecret = undefined;
    this.sharedSecret = undefined;
  }
}
