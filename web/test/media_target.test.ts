// The media WebSocket's path names the call's relay byte for byte as the native client
// does (tests/net/tls_media_target_test.cc has the same vector).
import { describe, expect, it } from 'vitest';
import { fromBase64url } from '../src/protocol/base64url';
import { isValidMediaTargetRelay, mediaTargetPath } from '../src/transport/media_target';
import { mediaSocketUrl } from '../src/signal/app_config';

describe('mediaTargetPath', () => {
  it('names no relay when given none (the front\'s own relay)', () => {
    expect(mediaTargetPath('/ws/x', Uint8Array.of(0xfb, 0xff))).toBe('/ws/x/m/-_8');
  });

  it('encodes the relay as base64url(u16be(port) || host), as native does', () => {
    expect(mediaTargetPath('/ws/x', Uint8Array.of(0xfb, 0xff), { host: 'r.example', port: 3478 }))
      .toBe('/ws/x/m/-_8/DZZyLmV4YW1wbGU');
    const path = mediaTargetPath('/ws/x', Uint8Array.of(1), { host: '2001:db8::2', port: 65535 });
    const name = fromBase64url(path.split('/').at(-1)!);
    expect([...name.subarray(0, 2)]).toEqual([0xff, 0xff]);
    expect(new TextDecoder().decode(name.subarray(2))).toBe('2001:db8::2');
    expect(mediaSocketUrl('h:8443', { server: 'h', websocketPath: '/ws/x' }, Uint8Array.of(0xfb, 0xff),
      { host: 'r.example', port: 3478 })).toBe('wss://h:8443/ws/x/m/-_8/DZZyLmV4YW1wbGU');
  });

  it('refuses relays the front could not be asked for', () => {
    for (const relay of [{ host: '', port: 1 }, { host: 'h', port: 0 }, { host: 'h', port: 65536 },
      { host: 'h', port: 1.5 }, { host: 'a b', port: 1 }, { host: 'é', port: 1 }, { host: 'h'.repeat(256), port: 1 }]) {
      expect(isValidMediaTargetRelay(relay)).toBe(false);
      expect(() => mediaTargetPath('/ws/x', Uint8Array.of(1), relay)).toThrow(/cannot be reached over TLS/);
    }
    expect(isValidMediaTargetRelay({ host: 'h'.repeat(255), port: 65535 })).toBe(true);
  });
});
