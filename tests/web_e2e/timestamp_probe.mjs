// Probe: is a WebSocket message event's timeStamp taken when the data arrived or when the
// (stalled) main thread got to it? A server on 127.0.0.1 sends its clock every 10 ms to a
// page whose main thread is then held up 300 ms. Usage: node tests/web_e2e/timestamp_probe.mjs
import http from 'node:http';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const page = `<script>
const ws = new WebSocket('ws://' + location.host + '/ws'); ws.binaryType = 'arraybuffer';
window.rows = [];
ws.onmessage = (e) => { const sent = new DataView(e.data).getFloat64(0); window.rows.push([sent, performance.timeOrigin + e.timeStamp, performance.timeOrigin + performance.now()]); };
window.stall = (ms) => { const end = performance.now() + ms; while (performance.now() < end) {} };
</script>`;
const server = http.createServer((req, res) => { res.end(page); });
server.on('upgrade', (req, socket) => {
  const key = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${key}\r\n\r\n`);
  const timer = setInterval(() => {
    const payload = Buffer.alloc(8); payload.writeDoubleBE(performance.timeOrigin + performance.now());
    socket.write(Buffer.concat([Buffer.from([0x82, 8]), payload]));
  }, 10);
  socket.on('close', () => clearInterval(timer)); socket.on('error', () => clearInterval(timer));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const p = await browser.newPage();
await p.goto(`http://127.0.0.1:${server.address().port}/`);
await p.waitForTimeout(500);
await p.evaluate(() => { window.rows.length = 0; setTimeout(() => window.stall(300), 100); });
await p.waitForTimeout(800);
const rows = await p.evaluate(() => window.rows);
let worst = [0, 0];
for (const [sent, stamp, handled] of rows) {
  worst = [Math.max(worst[0], stamp - sent), Math.max(worst[1], handled - sent)];
}
console.log(`${rows.length} messages; largest timeStamp - sent ${worst[0].toFixed(1)} ms, handled - sent ${worst[1].toFixed(1)} ms`);
console.log(rows.slice(8, 16).map(([s, t, h]) => [(t - s).toFixed(1), (h - s).toFixed(1)].join('/')).join(' '));
await browser.close(); server.close(); process.exit(0);
