// The media WebSocket carrier with a stand-in WebSocket and fake timers: binds go out on
// open, sealed packets ride in binds until the relay's ack, then as themselves; a lost
// connection is redialled after the backoff and the session binds again.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadSodium, sodium } from '../src/protocol/sodium';
import { MediaSocket, type MediaSocketState } from '../src/transport/media_socket';
import { RELAY_NONCE_SIZE } from '../src/transport/relay_framing';
import { RelayClientSession, relayCredentials } from '../src/transport/relay_client_session';

class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 3;
  static made: FakeWebSocket[] = [];
  readyState = FakeWebSocket.CONNECTING;
  binaryType = 'blob';
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.made.push(this);
  }
  send(data: Uint8Array): void {
    this.sent.push(Uint8Array.from(data));
  }
  close(): void {
    this.readyState = FakeWebSocket.CLOSED;
  }
  open(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }
  drop(): void {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.();
  }
}

// An ack as the relay writes it (hop key, elapsed_ms of the bind it answers).
function ackFor(hopKey: Uint8Array, elapsedMs: number): Uint8Array {
  const s = sodium();
  const plain = new Uint8Array(96 - RELAY_NONCE_SIZE - 16);
  new DataView(plain.buffer).setBigUint64(0, BigInt(elapsedMs));
  plain[8] = 4;
  plain.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], 9);
  plain[25] = 0x30;
  const nonce = s.randombytes_buf(RELAY_NONCE_SIZE);
  nonce[0] = 0x40 | (nonce[0]! & 0x3f);
  const box = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, new TextEncoder().encode('parley relay ack'), null, nonce, hopKey);
  const out = new Uint8Array(RELAY_NONCE_SIZE + box.length);
  out.set(nonce);
  out.set(box, RELAY_NONCE_SIZE);
  return out;
}

beforeAll(async () => {
  await loadSodium();
});
beforeEach(() => {
  FakeWebSocket.made = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('MediaSocket', () => {
  it('binds, goes ready on the ack, sends data, and redials with a rebind after a drop', () => {
    const s = sodium();
    const hopKey = s.randombytes_buf(32);
    let now = 0;
    const session = new RelayClientSession(relayCredentials(s.randombytes_buf(73), hopKey, s.randombytes_buf(32)), 0);
    const states: MediaSocketState[] = [];
    const received: Uint8Array[] = [];
    const socket = new MediaSocket('wss://h/ws/x/m/t', session, {
      onSealed: (b) => received.push(b), onStateChange: (st) => states.push(st),
    }, () => now);
    const first = FakeWebSocket.made[0]!;
    expect(first.url).toBe('wss://h/ws/x/m/t');
    socket.send(new Uint8Array(100)); // not open yet: dropped
    expect(socket.droppedFrames).toBe(1);
    first.open();
    expect(first.binaryType).toBe('arraybuffer');
    expect(first.sent.length).toBe(1); // a payload-less bind at once
    expect(first.sent[0]!.length).toBe(192);
    now = 20;
    socket.send(new Uint8Array(100).fill(0x41));
    expect(first.sent[1]!.length).toBe(256); // in a bind until acked
    first.onmessage?.({ data: ackFor(hopKey, 20).buffer });
    expect(socket.state).toBe('ready');
    now = 40;
    socket.send(new Uint8Array(100).fill(0x42));
    expect(first.sent[2]!.length).toBe(100); // data as itself
    first.onmessage?.({ data: new Uint8Array(64).fill(0x43).buffer });
    expect(received.length).toBe(1);

    first.drop();
    expect(socket.state).toBe('connecting');
    vi.advanceTimersByTime(249);
    expect(FakeWebSocket.made.length).toBe(1);
    vi.advanceTimersByTime(1);
    const second = FakeWebSocket.made[1]!;
    now = 300;
    second.open();
    expect(second.sent[0]!.length).toBe(192); // binds again on the new connection
    socket.send(new Uint8Array(100).fill(0x44));
    expect(second.sent[1]!.length).toBe(256);
    expect(states).toEqual(['binding', 'ready', 'connecting', 'binding']);
    socket.close();
    expect(socket.state).toBe('closed');
    vi.advanceTimersByTime(10000);
    expect(FakeWebSocket.made.length).toBe(2);
  });
});
