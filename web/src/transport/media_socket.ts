// The browser's media carrier: the relay session's datagrams, one per binary frame, on
// a WebSocket to the web front's media endpoint (websocket_path + "/m/" + ticket),
// redialled with backoff; the session re-binds after each new connection.
// docs/protocol.md, "Media over TLS". Main thread only; a thin adapter around the pure
// RelayClientSession and RedialBackoff.
import type { Bytes } from '../protocol/bytes';
import { RedialBackoff } from './redial_backoff';
import type { RelayClientSession } from './relay_client_session';

export interface MediaSocketEvents {
  onSealed(sealed: Bytes): void; // a datagram of sealed-packet size from the relay (unverified)
  onStateChange?(state: MediaSocketState): void;
}

export type MediaSocketState = 'connecting' | 'binding' | 'ready' | 'closed';

// Frames waiting in the browser's socket buffer beyond this are dropped: real-time
// audio wants the newest packets, never seconds of backlog (the front's queue is 48 KiB).
const MAX_BUFFERED_BYTES = 48 * 1024;
const BIND_TIMER_MS = 50;

export class MediaSocket {
  private socket: WebSocket | undefined;
  private readonly backoff = new RedialBackoff();
  private redialTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly bindTimer: ReturnType<typeof setInterval>;
  private upgrades = 0;
  private closed = false;
  private stateValue: MediaSocketState = 'connecting';
  droppedFrames = 0; // sends while not connected or while the socket buffer was full
  sendErrors = 0; // packets the session refused (sizes)

  // `nowMs`: the monotonic clock the session runs on (performance.now()).
  constructor(private readonly url: string, private readonly session: RelayClientSession,
    private readonly events: MediaSocketEvents, private readonly nowMs: () => number = () => performance.now()) {
    this.dial();
    this.bindTimer = setInterval(() => this.sendDueBind(), BIND_TIMER_MS);
  }

  get state(): MediaSocketState {
    return this.stateValue;
  }

  // One sealed packet to the peer (inside a bind until the relay acknowledges us).
  // Never blocks; dropped while not connected.
  send(sealed: Bytes): void {
    // Not wrapped while there is no connection, so no bind is spent on nothing.
    if (this.socket?.readyState !== WebSocket.OPEN) {
      ++this.droppedFrames;
      return;
    }
    let datagram: Bytes;
    try {
      datagram = this.session.wrap(sealed, this.nowMs());
    } catch {
      ++this.sendErrors;
      return;
    }
    this.sendDatagram(datagram);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.bindTimer);
    if (this.redialTimer !== undefined) clearTimeout(this.redialTimer);
    this.socket?.close(1000);
    this.socket = undefined;
    this.setState('closed');
  }

  private dial(): void {
    if (this.closed) return;
    this.setState('connecting');
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.backoff.onUpgraded();
      // A new connection is a new bridge address at the relay: bind again.
      if (this.upgrades++ > 0) this.session.requestRebind();
      this.setState('binding');
      this.sendDueBind();
    };
    socket.onmessage = (event: MessageEvent<unknown>) => {
      if (this.socket !== socket || !(event.data instanceof ArrayBuffer)) return;
      const arrival = this.session.unwrap(new Uint8Array(event.data));
      if (arrival.kind === 'sealed') this.events.onSealed(arrival.sealed);
      else if (arrival.kind === 'ack' && this.session.ready && !this.session.binding) this.setState('ready');
    };
    socket.onclose = () => {
      if (this.socket !== socket || this.closed) return;
      this.socket = undefined;
      this.setState('connecting');
      this.redialTimer = setTimeout(() => this.dial(), this.backoff.onFailure());
    };
  }

  private sendDueBind(): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    const bind = this.session.takeDueBind(this.nowMs());
    if (bind) this.sendDatagram(bind);
  }

  private sendDatagram(datagram: Bytes): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      ++this.droppedFrames;
      return;
    }
    socket.send(datagram);
  }

  private setState(state: MediaSocketState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.events.onStateChange?.(state);
  }
}
