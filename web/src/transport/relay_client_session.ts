// One participant's session with the relay as logic without I/O: sealed packets in,
// the datagrams to send out (binds until acknowledged, then the packets themselves);
// arriving datagrams sorted into acks and sealed packets. The TS port of
// src/parley/net/relay_client_session.cc. docs/protocol.md, "Relay (obfuscated UDP)",
// "Client behaviour".
import type { Bytes } from '../protocol/bytes';
import { MAX_SEALED_SIZE, MIN_SEALED_SIZE } from '../protocol/crypto/padding_policy';
import { sodium } from '../protocol/sodium';
import {
  MAX_SEALED_IN_BIND, RELAY_ACK_MIN_SIZE, RELAY_KEY_SIZE, RELAY_TICKET_SIZE, type RelayAck, type RelayBindKeys,
  deriveRelayBindKeys, drawRelayNonce, openRelayAck, relayAckAddress, relayBindSize, writeRelayBind,
} from './relay_framing';

// What the `relay` signaling message gives one participant.
export interface RelayCredentials {
  ticket: Bytes; // 73, opaque
  hopKey: Bytes; // 32, only this ticket's holder and the relay know it
  bindKey: Bytes; // 32, the same for every client of the relay
}

// Checks the sizes; the error is the native one's sentence.
export function relayCredentials(ticket: Bytes, hopKey: Bytes, bindKey: Bytes): RelayCredentials {
  if (ticket.length !== RELAY_TICKET_SIZE || hopKey.length !== RELAY_KEY_SIZE || bindKey.length !== RELAY_KEY_SIZE) {
    throw new Error(`The server's relay ticket and keys are ${ticket.length}, ${hopKey.length} and ${bindKey.length} ` +
      `bytes, not ${RELAY_TICKET_SIZE}, 32 and 32; update the page or the server.`);
  }
  return { ticket: Uint8Array.from(ticket), hopKey: Uint8Array.from(hopKey), bindKey: Uint8Array.from(bindKey) };
}

export interface RelayClientSessionOptions {
  // Once acknowledged, a bind in place of a data datagram at least this often.
  rebindIntervalMs: number;
  // Until acknowledged, a payload-less bind at least this often when nothing is sent.
  unackedBindIntervalMs: number;
}

export const DEFAULT_RELAY_SESSION_OPTIONS: RelayClientSessionOptions = {
  rebindIntervalMs: 15000,
  unackedBindIntervalMs: 500,
};

export interface RelayClientSessionStats {
  bindsMade: number;
  dataMade: number;
  oversizedDropped: number;
  acks: number;
  staleAcks: number;
  sealedReceived: number;
  droppedReceived: number;
}

export type RelayArrival = { kind: 'ack' } | { kind: 'sealed'; sealed: Bytes } | { kind: 'dropped' };

// Fills `length` fresh random bytes; default libsodium's randombytes_buf.
export type NonceSource = (length: number) => Bytes;

// Invariants as the native class: every datagram made starts with 0x40..0x7F;
// elapsed_ms in binds strictly grows; acknowledged only by an authentic ack for a bind
// made since the last requestRebind. `nowMs` is a monotonic clock (performance.now())
// and must not go back. Single-threaded (the page's main thread).
export class RelayClientSession {
  private readonly credentials: RelayCredentials;
  private readonly bindKeys: RelayBindKeys;
  private readonly nonceSource: NonceSource;
  private anyBindMade = false;
  private lastBindAtMs = 0;
  private lastBindElapsedMs = 0;
  private rebindRequestElapsedMs = 0;
  private rebindRequested = false;
  private ackedSinceRebindRequest = false;
  private lastAckedElapsedMs: number | undefined;
  private reflexive: string | undefined;
  readonly stats: RelayClientSessionStats = {
    bindsMade: 0, dataMade: 0, oversizedDropped: 0, acks: 0, staleAcks: 0, sealedReceived: 0, droppedReceived: 0,
  };

  // `ticketReceivedAtMs`: when the `relay` message arrived (elapsed_ms counts from it).
  constructor(credentials: RelayCredentials, private readonly ticketReceivedAtMs: number,
    private readonly options: RelayClientSessionOptions = DEFAULT_RELAY_SESSION_OPTIONS, nonceSource?: NonceSource) {
    this.credentials = credentials;
    this.bindKeys = deriveRelayBindKeys(credentials.bindKey);
    this.nonceSource = nonceSource ?? ((length) => sodium().randombytes_buf(length));
  }

  // True once any ack arrived: the relay has this participant bound.
  get ready(): boolean {
    return this.lastAckedElapsedMs !== undefined;
  }
  // True while binds are sent in place of data.
  get binding(): boolean {
    return !this.ackedSinceRebindRequest;
  }
  // The source address the relay saw in the latest ack ("1.2.3.4:5"), if any.
  get reflexiveAddress(): string | undefined {
    return this.reflexive;
  }

  // The datagram that carries `sealed` (25..1200 bytes); throws one sentence for a
  // wrong size, or a packet too big for a bind while one is needed and none was acked.
  wrap(sealed: Bytes, nowMs: number): Bytes {
    if (sealed.length < MIN_SEALED_SIZE || sealed.length > MAX_SEALED_SIZE) {
      throw new Error(`A sealed packet of ${sealed.length} bytes cannot be sent; it must be ${MIN_SEALED_SIZE} to ` +
        `${MAX_SEALED_SIZE} bytes.`);
    }
    const bindDue = !this.ackedSinceRebindRequest || this.rebindRequested || !this.anyBindMade ||
      nowMs - this.lastBindAtMs >= this.options.rebindIntervalMs;
    if (bindDue) {
      if (sealed.length <= MAX_SEALED_IN_BIND) return this.makeBind(sealed, nowMs);
      if (!this.ackedSinceRebindRequest) {
        ++this.stats.oversizedDropped;
        throw new Error(`A ${sealed.length}-byte sealed packet is too big to ride in a relay bind (` +
          `${MAX_SEALED_IN_BIND} at most) and the relay has not acknowledged us yet.`);
      }
    }
    ++this.stats.dataMade;
    return Uint8Array.from(sealed);
  }

  // When takeDueBind will next return a bind.
  get nextBindAtMs(): number {
    if (!this.anyBindMade || this.rebindRequested) return this.ticketReceivedAtMs;
    return this.lastBindAtMs +
      (this.ackedSinceRebindRequest ? this.options.rebindIntervalMs : this.options.unackedBindIntervalMs);
  }

  // A payload-less bind if one is due, else undefined. Call it from the carrier's timer.
  takeDueBind(nowMs: number): Bytes | undefined {
    if (nowMs < this.nextBindAtMs) return undefined;
    return this.makeBind(new Uint8Array(0), nowMs);
  }

  // After a reconnect or network change: binds until a new ack.
  requestRebind(): void {
    this.rebindRequested = true;
    this.ackedSinceRebindRequest = false;
    this.rebindRequestElapsedMs = this.anyBindMade ? this.lastBindElapsedMs + 1 : 0;
  }

  // Sorts one datagram from the relay: an authentic ack for a bind this session made is
  // consumed; anything else of sealed-packet size is handed up, unverified.
  unwrap(datagram: Bytes): RelayArrival {
    if (datagram.length >= RELAY_ACK_MIN_SIZE && this.anyBindMade) {
      let ack: RelayAck | undefined;
      try {
        ack = openRelayAck(this.credentials.hopKey, datagram);
      } catch {
        ack = undefined;
      }
      if (ack) {
        if (ack.elapsedMs > this.lastBindElapsedMs ||
          (this.lastAckedElapsedMs !== undefined && ack.elapsedMs <= this.lastAckedElapsedMs)) {
          ++this.stats.staleAcks; // authentic, but for no bind we wait on: reordered or replayed
          return { kind: 'ack' };
        }
        this.lastAckedElapsedMs = ack.elapsedMs;
        this.reflexive = relayAckAddress(ack);
        if (ack.elapsedMs >= this.rebindRequestElapsedMs) this.ackedSinceRebindRequest = true;
        ++this.stats.acks;
        return { kind: 'ack' };
      }
    }
    if (datagram.length < MIN_SEALED_SIZE || datagram.length > MAX_SEALED_SIZE) {
      ++this.stats.droppedReceived;
      return { kind: 'dropped' };
    }
    ++this.stats.sealedReceived;
    return { kind: 'sealed', sealed: datagram };
  }

  private makeBind(sealed: Bytes, nowMs: number): Bytes {
    const sinceTicket = Math.floor(nowMs - this.ticketReceivedAtMs);
    let elapsedMs = sinceTicket > 0 ? sinceTicket : 0;
    // Strictly growing, so the relay accepts each bind once and never a replay of it.
    if (this.anyBindMade) elapsedMs = Math.max(elapsedMs, this.lastBindElapsedMs + 1);
    const nonce = drawRelayNonce(relayBindSize(sealed.length), this.nonceSource);
    const datagram = writeRelayBind(this.bindKeys, this.credentials.ticket, this.credentials.hopKey, nonce, elapsedMs,
      sealed);
    this.anyBindMade = true;
    this.lastBindAtMs = nowMs;
    this.lastBindElapsedMs = elapsedMs;
    this.rebindRequested = false;
    ++this.stats.bindsMade;
    return datagram;
  }
}
