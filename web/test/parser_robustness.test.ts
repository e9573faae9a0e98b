// Parsers of outside input never fail other than with a one-sentence Error, and what
// they accept re-serializes to itself (seeded random mutations of valid inputs; the
// native parsers have libFuzzer targets for the same property).
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/protocol/bytes';
import { parseMediaPacket, serializeMediaPacket } from '../src/protocol/media/media_packet';
import { parseMessage, serializeMessage } from '../src/protocol/signal/messages';

// xorshift32: deterministic, good enough to pick mutations.
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('parser robustness', () => {
  it('media payload: random bytes and mutations', () => {
    const next = random(1);
    const valid = serializeMediaPacket({ sequence: 9, primary: { timestamp: 5000, payload: new Uint8Array(40).fill(7) },
      redundant: [{ timestamp: 3080, payload: new Uint8Array(30).fill(8) }, { timestamp: 4040, payload: Uint8Array.of(1) }] });
    for (let i = 0; i < 1000; ++i) {
      const bytes = i % 2 ? Uint8Array.from(valid) : Uint8Array.from({ length: next() % 64 }, () => next() & 0xff);
      for (let m = next() % 4; m >= 0; --m) if (bytes.length) bytes[next() % bytes.length] = next() & 0xff;
      let parsed;
      try {
        parsed = parseMediaPacket(bytes);
      } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith('media payload: ')) throw e;
        continue;
      }
      if (toHex(serializeMediaPacket(parsed)) !== toHex(bytes)) expect.fail(`not canonical: ${toHex(bytes)}`);
    }
  });

  it('signaling: mutated messages', () => {
    const next = random(2);
    const seeds = [
      '{"type":"relay","call_id":"wMHCw8TFxsfIycrLzM3Ozw","host":"relay.example.org","port":443,"ticket":"AQID"}',
      '{"type":"welcome","id":1,"user":"bob","device":"phone","missed_calls":[{"call_id":"wMHCw8TFxsfIycrLzM3Ozw","caller":"alice","callee":"bob","started_unix_ms":1,"answered_unix_ms":0,"ended_unix_ms":2,"outcome":"missed"}]}',
      '{"type":"settings","id":16,"who_may_call":"contacts","p2p":"nobody"}',
    ];
    const alphabet = '{}[]",:\\ 0123456789-.eEtrufalsn_abcxyzé\u0001';
    let accepted = 0;
    for (let i = 0; i < 1500; ++i) {
      const chars = [...seeds[i % seeds.length]!];
      for (let m = next() % 3; m >= 0; --m) {
        const at = next() % (chars.length + 1);
        const c = alphabet[next() % alphabet.length]!;
        const op = next() % 3;
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, c);
        else chars[at] = c;
      }
      const text = chars.join('');
      let message;
      try {
        message = parseMessage(text);
      } catch (e) {
        if (!(e instanceof Error) || e.message.length === 0) throw e;
        continue;
      }
      ++accepted;
      const canonical = serializeMessage(message);
      if (serializeMessage(parseMessage(canonical)) !== canonical) expect.fail(`not canonical: ${text}`);
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('signaling limits', () => {
  it('refuses a message over 65536 bytes before parsing it', () => {
    const text = `{"type":"ok","pad":"${' '.repeat(65536)}"}`;
    expect(() => parseMessage(text)).toThrow('The message is 65558 bytes; the limit is 65536.');
  });
});
