// The app's pure presentation and configuration logic: call-state words (which the
// end-to-end test matches), timer, quality line, history rows, config.json, the
// service worker's cache policy and precache list.
import { describe, expect, it } from 'vitest';
import { cacheStrategy, precacheList } from '../src/app/cache_policy';
import { callStateText, formatDuration, historyRow, historyText, phaseOf, qualityLevel, qualityText } from '../src/app/view_model';
import { inviteLink, mediaSocketUrl, parseAppConfig, signalingUrl } from '../src/signal/app_config';
import { newDeviceName } from '../src/signal/account_store';
import { usernameProblem, validDeviceName } from '../src/signal/end_reasons';

describe('call state text', () => {
  it('always names the phase the end-to-end test looks for', () => {
    expect(callStateText(phaseOf('inviting'), 'bob', undefined, 0)).toMatch(/^calling/);
    expect(callStateText(phaseOf('offering'), 'bob', undefined, 0)).toMatch(/^calling/);
    expect(callStateText(phaseOf('ringing'), 'bob', undefined, 0)).toMatch(/^ringing/);
    expect(callStateText(phaseOf('connecting'), 'bob', undefined, 0)).toMatch(/^connecting/);
    expect(callStateText(phaseOf('awaiting_approval'), 'bob', undefined, 0)).toMatch(/^connecting/);
    expect(callStateText(phaseOf('connected'), 'bob', 1000, 66000)).toBe('in call 1:05');
    expect(callStateText('ended', 'bob', undefined, 0, 'bob declined the call.')).toBe('ended: bob declined the call.');
    expect(callStateText('ended', 'bob', undefined, 0)).toBe('ended');
  });

  it('formats durations as m:ss and h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(59999)).toBe('0:59');
    expect(formatDuration(720000)).toBe('12:00');
    expect(formatDuration(3723000)).toBe('1:02:03');
    expect(formatDuration(-5)).toBe('0:00');
  });
});

describe('quality line', () => {
  const q = { path: 'relay-tls', connected: true, rttMs: 41.6, lossPercent: 0.54, jitterBufferMs: 60.2, sendKbps: 24.4, receiveKbps: 23.1 };
  it('names path, RTT, loss, buffer and bitrates', () => {
    expect(qualityText(q)).toBe('relay-tls · RTT 42 ms · loss 0.5 % · buffer 60 ms · ↑ 24 ↓ 23 kbit/s');
    expect(qualityText({ ...q, rttMs: undefined as unknown as number })).toContain('RTT –');
    expect(qualityText({ ...q, connected: false })).toBe('relay-tls · connecting to the relay…');
    expect(qualityText(null)).toBe('starting audio…');
  });
  it('grades it', () => {
    expect(qualityLevel(q)).toBe('good');
    expect(qualityLevel({ ...q, lossPercent: 5 })).toBe('fair');
    expect(qualityLevel({ ...q, rttMs: 900 })).toBe('poor');
    expect(qualityLevel(null)).toBe('unknown');
  });
});

describe('history rows', () => {
  const record = { call_id: new Uint8Array(16), caller: 'alice', callee: 'bob', started_unix_ms: Date.UTC(2026, 10, 29, 4, 10),
    answered_unix_ms: Date.UTC(2026, 10, 29, 4, 10, 4), ended_unix_ms: Date.UTC(2026, 10, 29, 4, 11, 9), outcome: 'answered' as const };
  it('shows direction, peer, outcome, duration and local time', () => {
    expect(historyText(historyRow(record, 'alice', 0))).toBe('↗ bob · answered · 1:05 · 2026-11-29 04:10');
    expect(historyText(historyRow({ ...record, outcome: 'missed', answered_unix_ms: 0 }, 'bob', -60)))
      .toBe('↙ alice · missed · 2026-11-29 05:10');
  });
});

describe('config.json', () => {
  it('reads server and websocket_path and builds both WebSocket URLs', () => {
    const config = parseAppConfig('{"server":"parley.example","websocket_path":"/ws/AbC-_1","invite_expires":1}');
    expect(config).toEqual({ server: 'parley.example', websocketPath: '/ws/AbC-_1' });
    expect(signalingUrl('host:8443', config)).toBe('wss://host:8443/ws/AbC-_1');
    expect(mediaSocketUrl('host:8443', config, Uint8Array.of(0xfb, 0xff))).toBe('wss://host:8443/ws/AbC-_1/m/-_8');
    expect(inviteLink('parley.example', new Uint8Array(16).fill(0xff))).toBe('https://parley.example/_____________________w/');
  });
  it('refuses broken ones with one sentence', () => {
    expect(() => parseAppConfig('<html>')).toThrow('The server sent a broken config.json; ask its operator to check parleyd, or reload the page. (not JSON)');
    expect(() => parseAppConfig('[]')).toThrow('(not an object)');
    expect(() => parseAppConfig('{"websocket_path":"/ws/x"}')).toThrow('(no server name)');
    expect(() => parseAppConfig('{"server":"s","websocket_path":"ws/x"}')).toThrow('(no usable websocket_path)');
    expect(() => parseAppConfig('{"server":"s","websocket_path":"/ws/x?y"}')).toThrow('(no usable websocket_path)');
  });
});

describe('names', () => {
  it('checks usernames and device names as the server does', () => {
    expect(usernameProblem('alice')).toBeUndefined();
    expect(usernameProblem('al')).toMatch(/3 to 32/);
    expect(usernameProblem('1alice')).toMatch(/starting with a letter/);
    expect(usernameProblem('a..b')).toBeDefined();
    expect(validDeviceName('web-abc')).toBe(true);
    expect(validDeviceName('bad name')).toBe(false);
    const name = newDeviceName({ fill: (n) => new Uint8Array(n).fill(40) });
    expect(name).toBe('web-eeeeeeee');
    expect(validDeviceName(name)).toBe(true);
  });
});

describe('service worker cache policy', () => {
  const scope = 'https://h:8443/Abcdefghijklmnopqrstuv/';
  const files = new Set(precacheList(['index.html', 'sw.js', 'assets/index-1.js', 'assets/index-1.js.map', 'icon.svg', 'config.json']));
  it('precaches the page and the build, never sw.js, maps or config.json', () => {
    expect([...files]).toEqual(['', 'assets/index-1.js', 'icon.svg']);
  });
  it('serves hashed files from the cache, the page network-first, and never caches the rest', () => {
    expect(cacheStrategy('GET', `${scope}assets/index-1.js`, scope, files)).toBe('cache-first');
    expect(cacheStrategy('GET', scope, scope, files)).toBe('network-first');
    expect(cacheStrategy('GET', `${scope}icon.svg`, scope, files)).toBe('network-first');
    expect(cacheStrategy('GET', `${scope}config.json`, scope, new Set([...files, 'config.json']))).toBe('network-only');
    expect(cacheStrategy('GET', 'https://h:8443/ws/secret', scope, files)).toBe('network-only');
    expect(cacheStrategy('GET', 'https://h:8443/', scope, files)).toBe('network-only');
    expect(cacheStrategy('GET', `${scope}unknown.js`, scope, files)).toBe('network-only');
    expect(cacheStrategy('GET', `${scope}?x=1`, scope, files)).toBe('network-only');
    expect(cacheStrategy('POST', scope, scope, files)).toBe('network-only');
    expect(cacheStrategy('GET', `https://other/Abcdefghijklmnopqrstuv/assets/index-1.js`, scope, files)).toBe('network-only');
  });
});
