// The relay framing and client session agree with the native ones byte for byte:
// reproduces the "relay" part of test/vectors/native.json (tests/web_vectors).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/protocol/bytes';
import { SeededKeySource } from '../src/protocol/crypto/key_source';
import { loadSodium } from '../src/protocol/sodium';
import { deriveRelayBindKeys, openRelayAck, writeRelayBind } from '../src/transport/relay_framing';
import { RelayClientSession, relayCredentials } from '../src/transport/relay_client_session';

interface Step {
  op: 'wrap' | 'take_due_bind' | 'unwrap' | 'request_rebind';
  at_ms?: number;
  sealed?: string;
  datagram?: string;
  error?: string;
  kind?: string;
  ready?: boolean;
  binding?: boolean;
  acks?: number;
  stale_acks?: number;
}
interface RelayVectors {
  bind_key: string; mark_key: string; mask_key: string; hop_key: string; ticket: string;
  binds: { nonce: string; elapsed_ms: number; sealed: string; datagram: string }[];
  acks: { elapsed_ms: number; ip: string; port: number; datagram: string }[];
  invalid_acks: { datagram: string; error: string }[];
  session: { nonce_seed: string; first_draw_byte2: number; steps: Step[] };
}

const all = JSON.parse(readFileSync(new URL('./vectors/native.json', import.meta.url), 'utf8')) as { relay: RelayVectors };
const v = all.relay;

beforeAll(async () => {
  await loadSodium();
});

describe('relay framing (native vectors)', () => {
  it('derives the mark and mask keys from the bind key', () => {
    const keys = deriveRelayBindKeys(fromHex(v.bind_key));
    expect(toHex(keys.markKey)).toBe(v.mark_key);
    expect(toHex(keys.maskKey)).toBe(v.mask_key);
  });

  it('writes binds byte for byte', () => {
    const keys = deriveRelayBindKeys(fromHex(v.bind_key));
    expect(v.binds.length).toBeGreaterThan(3);
    for (const b of v.binds) {
      const out = writeRelayBind(keys, fromHex(v.ticket), fromHex(v.hop_key), fromHex(b.nonce), b.elapsed_ms,
        fromHex(b.sealed));
      expect(toHex(out)).toBe(b.datagram);
    }
  });

  it('opens acks and names their addresses', () => {
    for (const a of v.acks) {
      const ack = openRelayAck(fromHex(v.hop_key), fromHex(a.datagram));
      expect(ack.elapsedMs).toBe(a.elapsed_ms);
      expect(toHex(ack.ip)).toBe(a.ip);
      expect(ack.port).toBe(a.port);
    }
  });

  it('refuses broken acks with the native errors', () => {
    for (const a of v.invalid_acks) {
      expect(() => openRelayAck(fromHex(v.hop_key), fromHex(a.datagram))).toThrow(a.error);
    }
  });

  it('reproduces a whole session: binds, acks, data, the 15 s rebind, a rebind request', () => {
    const seeded = new SeededKeySource(BigInt(`0x${v.session.nonce_seed}`));
    let first = true;
    const nonceSource = (length: number): Uint8Array => {
      const out = seeded.fill(length);
      if (first) out[2] = v.session.first_draw_byte2;
      first = false;
      return out;
    };
    const session = new RelayClientSession(relayCredentials(fromHex(v.ticket), fromHex(v.hop_key),
      fromHex(v.bind_key)), 0, undefined, nonceSource);
    for (const step of v.session.steps) {
      switch (step.op) {
        case 'wrap':
          if (step.error !== undefined) {
            expect(() => session.wrap(fromHex(step.sealed!), step.at_ms!)).toThrow(step.error);
          } else {
            expect(toHex(session.wrap(fromHex(step.sealed!), step.at_ms!))).toBe(step.datagram);
          }
          break;
        case 'take_due_bind': {
          const out = session.takeDueBind(step.at_ms!);
          expect(out === undefined ? '' : toHex(out)).toBe(step.datagram);
          break;
        }
        case 'unwrap': {
          const arrival = session.unwrap(fromHex(step.datagram!));
          expect(arrival.kind === 'ack' ? 'ack' : 'other').toBe(step.kind);
          expect(session.ready).toBe(step.ready);
          expect(session.binding).toBe(step.binding);
          expect(session.stats.acks).toBe(step.acks);
          expect(session.stats.staleAcks).toBe(step.stale_acks);
          break;
        }
        case 'request_rebind':
          session.requestRebind();
          break;
      }
    }
    expect(session.reflexiveAddress).toBe('198.51.100.9:61000');
  });
});
