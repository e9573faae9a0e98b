// The relay client session's rules beyond the native vectors: clear errors, the first
// byte of everything it makes, what it hands up and what it drops.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSodium, sodium } from '../src/protocol/sodium';
import { RELAY_ACK_MIN_SIZE, openRelayAck } from '../src/transport/relay_framing';
import { RelayClientSession, relayCredentials } from '../src/transport/relay_client_session';

beforeAll(async () => {
  await loadSodium();
});

function session(): RelayClientSession {
  const s = sodium();
  return new RelayClientSession(relayCredentials(s.randombytes_buf(73), s.randombytes_buf(32), s.randombytes_buf(32)), 0);
}

describe('RelayClientSession', () => {
  it('refuses credentials of the wrong sizes with one sentence', () => {
    expect(() => relayCredentials(new Uint8Array(65), new Uint8Array(32), new Uint8Array(32)))
      .toThrow("The server's relay ticket and keys are 65, 32 and 32 bytes, not 73, 32 and 32; update the page or the server.");
  });

  it('refuses sealed packets outside 25..1200 bytes', () => {
    const relay = session();
    expect(() => relay.wrap(new Uint8Array(24), 0)).toThrow('A sealed packet of 24 bytes cannot be sent; it must be 25 to 1200 bytes.');
    expect(() => relay.wrap(new Uint8Array(1201), 0)).toThrow(/1201 bytes cannot be sent/);
  });

  it('makes only datagrams that start with 01 and grows elapsed_ms in binds', () => {
    const relay = session();
    for (let t = 0; t < 3000; t += 100) {
      const bind = relay.takeDueBind(t);
      if (bind) expect(bind[0]! & 0xc0).toBe(0x40);
      const packet = sodium().randombytes_buf(100);
      packet[0] = 0x40 | (packet[0]! & 0x3f);
      expect(relay.wrap(packet, t + 1)[0]! & 0xc0).toBe(0x40);
    }
    expect(relay.stats.bindsMade).toBeGreaterThan(30);
    expect(relay.ready).toBe(false);
  });

  it('hands up sealed-size datagrams unverified and drops the rest', () => {
    const relay = session();
    relay.takeDueBind(0);
    expect(relay.unwrap(new Uint8Array(24)).kind).toBe('dropped');
    const foreign = sodium().randombytes_buf(RELAY_ACK_MIN_SIZE + 29);
    const arrival = relay.unwrap(foreign);
    expect(arrival.kind).toBe('sealed');
    expect(relay.stats.sealedReceived).toBe(1);
    expect(relay.stats.droppedReceived).toBe(1);
    expect(relay.ready).toBe(false);
  });

  it('tells a forged ack apart from a real one', () => {
    expect(() => openRelayAck(new Uint8Array(32), sodium().randombytes_buf(96))).toThrow('The datagram is not a relay ack for this ticket.');
    expect(() => openRelayAck(new Uint8Array(32), new Uint8Array(40))).toThrow('A relay ack is 67 to 1200 bytes, not 40.');
  });
});

describe('RelayClientSession and CallMediaCore with hostile input', () => {
  it('never throws on arbitrary datagrams from the relay, and hands up only 25..1200 bytes', async () => {
    const { seededRandom } = await import('./support/seeded_random');
    const { CallMediaCore } = await import('../src/media/call_media_core');
    const { deriveCallKeys } = await import('../src/protocol/crypto/call_keys');
    const random = seededRandom(5);
    const relay = session();
    relay.takeDueBind(0);
    const core = new CallMediaCore(deriveCallKeys(new Uint8Array(32), 'callee'), 0);
    let handedUp = 0;
    for (let i = 0; i < 2000; ++i) {
      const size = Math.floor(random() * 1400);
      const datagram = Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
      const arrival = relay.unwrap(datagram);
      if (arrival.kind === 'sealed') {
        ++handedUp;
        expect(size).toBeGreaterThanOrEqual(25);
        expect(size).toBeLessThanOrEqual(1200);
        expect(core.onSealed(arrival.sealed, i).authentic).toBe(false);
      }
    }
    expect(handedUp).toBeGreaterThan(1000);
    expect(core.figures.packetsRefused).toBe(handedUp);
    expect(relay.ready).toBe(false);
  });
});
