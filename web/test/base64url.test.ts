// base64url: RFC 4648 §10 vectors, the examples of docs/protocol.md, and the strictness
// rules the native decoder applies (crypto/encoding.cc).
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../src/protocol/base64url';
import { fromHex, utf8 } from '../src/protocol/bytes';

describe('base64url', () => {
  it('encodes the RFC 4648 test vectors without padding', () => {
    const cases: Array<[string, string]> = [
      ['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of cases) {
      expect(toBase64url(utf8(plain))).toBe(encoded);
      expect(fromBase64url(encoded)).toEqual(utf8(plain));
    }
  });

  it('uses the URL-safe alphabet', () => {
    expect(toBase64url(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('-_-_');
    expect(fromBase64url('-_-_')).toEqual(Uint8Array.of(0xfb, 0xff, 0xbf));
  });

  it('reads the call id of the protocol examples', () => {
    expect(fromBase64url('wMHCw8TFxsfIycrLzM3Ozw')).toEqual(fromHex('c0c1c2c3c4c5c6c7c8c9cacbcccdcecf'));
  });

  it('refuses padding, whitespace, other alphabets, bad lengths and trailing bits', () => {
    for (const bad of ['Zg==', 'Zm9v YmFy', 'Zm9v+mFy', 'Zm9v/mFy', 'Z', 'Zm9vY', 'Zh', 'Zm9', 'Zm+', 'é']) {
      expect(() => fromBase64url(bad), bad).toThrow(/base64/);
    }
    expect(fromBase64url('Zm8')).toEqual(utf8('fo'));
  });

  it('round-trips every length up to 64 bytes', () => {
    for (let n = 0; n <= 64; ++n) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      expect(fromBase64url(toBase64url(bytes))).toEqual(bytes);
    }
  });
});
