// What a stranger sees: raw HTTP/1.1 requests over TLS to parleyd, compared byte for
// byte (apart from Date) with the decoy site's answers (docs/protocol.md, "Web front").

import tls from 'node:tls';
import { randomBytes } from 'node:crypto';

/**
 * Sends `request` (a full HTTP/1.1 request text) over TLS; resolves with the raw answer
 * once its headers and Content-Length bytes of body are in (or the server closes).
 */
export function rawRequest(host, port, request) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const chunks = [];
    const finish = () => { clearTimeout(timer); socket.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); };
    const timer = setTimeout(finish, 3000);
    socket.on('secureConnect', () => socket.write(request));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = text.match(/^Content-Length: (\d+)$/mi);
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) finish();
    });
    socket.on('end', finish);
    socket.on('error', (error) => { clearTimeout(timer); reject(error); });
  });
}

/** A GET of `target` that closes the connection after the answer. */
export function get(host, port, target, extraHeaders = '') {
  return rawRequest(host, port,
    `GET ${target} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n` +
    `${extraHeaders}Connection: close\r\n\r\n`);
}

/** A complete WebSocket upgrade of `target`, as a browser sends it. */
export function upgrade(host, port, target) {
  return rawRequest(host, port,
    `GET ${target} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Origin: https://${host}:${port}\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
}

/** The answer with its Date header value blanked: the only part that may differ. */
export function withoutDate(answer) {
  return answer.replace(/^Date: .*$/m, 'Date: -');
}

export function base64url(bytes) {
  return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Checks what strangers get from parleyd at host:port, given the live invite (to make
 * wrong ones near it), a revoked invite (or null) and the WebSocket path. Returns a list
 * of { what, ok, detail }; every `ok` must be true.
 */
export async function checkStrangers({ host, port, invite, revokedInvite, websocketPath }) {
  const results = [];
  // References: a missing page, asked for with the same request shape as each probe
  // (a plain GET, or a complete WebSocket upgrade, which keeps the connection alive).
  const missing = withoutDate(await get(host, port, `/${randomBytes(6).toString('hex')}.html`));
  const missingUpgrade = withoutDate(await upgrade(host, port, `/${randomBytes(6).toString('hex')}.html`));
  const sameAsMissing = async (what, answer, reference = missing) => {
    const ok = withoutDate(answer) === reference;
    results.push({ what, ok, detail: ok ? 'byte for byte the decoy 404' : firstLines(answer) });
  };
  const status = (answer) => answer.split('\r\n', 1)[0];

  // The reference itself must be the decoy's 404, or every comparison below is hollow.
  results.push({ what: 'a missing page is the decoy 404 from "Server: nginx"',
    ok: status(missing) === 'HTTP/1.1 404 Not Found' && /^Server: nginx$/m.test(missing),
    detail: firstLines(missing) });

  const root = await get(host, port, '/');
  const index = await get(host, port, '/index.html');
  results.push({ what: '/ is the decoy home page (the same answer as /index.html)',
    ok: status(root) === 'HTTP/1.1 200 OK' && withoutDate(root) === withoutDate(index) && !/parleyTest|config\.json/.test(root),
    detail: firstLines(root) });

  const wrongInvite = flipFirstCharacter(invite);
  await sameAsMissing('a wrong invite path', await get(host, port, `/${wrongInvite}/`));
  await sameAsMissing('a file under a wrong invite', await get(host, port, `/${wrongInvite}/config.json`));
  await sameAsMissing('a random 22-character invite', await get(host, port, `/${base64url(randomBytes(16))}/`));
  if (revokedInvite) {
    await sameAsMissing('a revoked invite', await get(host, port, `/${revokedInvite}/`));
    await sameAsMissing('config.json under a revoked invite', await get(host, port, `/${revokedInvite}/config.json`));
  }
  await sameAsMissing('a plain GET of the WebSocket path', await get(host, port, websocketPath));
  await sameAsMissing('a WebSocket upgrade of the media path with no ticket',
    await upgrade(host, port, `${websocketPath}/m/`), missingUpgrade);
  await sameAsMissing('a WebSocket upgrade of the media path with a forged ticket',
    await upgrade(host, port, `${websocketPath}/m/${base64url(randomBytes(73))}`), missingUpgrade);
  await sameAsMissing('a WebSocket upgrade of a wrong signaling path',
    await upgrade(host, port, `/ws/${base64url(randomBytes(16))}`), missingUpgrade);
  await sameAsMissing('a WebSocket upgrade of a wrong invite', await upgrade(host, port, `/${wrongInvite}/`),
    missingUpgrade);

  // And the live invite is not the decoy: the comparisons above could fail.
  const live = await get(host, port, `/${invite}/`);
  results.push({ what: 'the live invite serves the app (so the checks above can tell)',
    ok: status(live) === 'HTTP/1.1 200 OK' && withoutDate(live) !== withoutDate(root), detail: firstLines(live) });
  return results;
}

function flipFirstCharacter(invite) {
  return (invite[0] === 'A' ? 'B' : 'A') + invite.slice(1);
}

function firstLines(answer) {
  return answer.split('\r\n').slice(0, 3).join(' | ');
}
