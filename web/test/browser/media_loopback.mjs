// Media loopback check in a real browser (Debian's chromium via playwright-core):
// builds media_loopback.html, serves it as the web app of a parleyd on 127.0.0.1 (at an
// invite path), and has the page
// send speech from the fake microphone through BrowserCallMedia -> media WebSocket ->
// parleyd's relay -> a second BrowserCallMedia, which records what it plays out.
// Prints the qualities and the envelope correlation with what was sent.
//   node test/browser/media_loopback.mjs [PARLEYD] [SECONDS] [auto|webcodecs|wasm]
// Bounded (about 30 s), 127.0.0.1 only, removes its work directory.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const parleyd = process.argv[2] ?? join(repo, 'build/release/apps/parleyd/parleyd');
const seconds = Number(process.argv[3] ?? 8);
const opus = process.argv[4] ?? 'auto';
const speech = join(repo, 'build/testdata/speech_en_male.wav');
const work = mkdtempSync(join(tmpdir(), 'parley_media_loopback.'));
let server;
let browser;

function freePort() {
  return new Promise((ok) => {
    const s = http.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function wav16(samples, rate) {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((v, i) => data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), i * 2));
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

try {
  const out = join(work, 'page');
  await build({ root: here, base: './', logLevel: 'warn', configFile: false,
    build: { outDir: out, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096,
      rollupOptions: { input: join(here, 'media_loopback.html') } } });
  renameSync(join(out, 'media_loopback.html'), join(out, 'index.html')); // what /<invite>/ serves

  // The page must come from parleyd itself (its WebSocket endpoints refuse other
  // origins): served as the web app at an invite path.
  const port = await freePort();
  const serverArgs = ['--data', join(work, 'data'), '--host', '127.0.0.1', '--port', String(port),
    '--server-name', '127.0.0.1', '--allow-loopback', '--log-level', 'warn', '--web-app', out];
  const log = [];
  server = spawn(parleyd, serverArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const websocketPath = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`parleyd not ready: ${log.join('')}`)), 15000);
    const onData = (chunk) => {
      log.push(String(chunk));
      const m = /websocket:\s+wss:\/\/[^/\s]+(\/\S+)/.exec(log.join(''));
      if (m && /parleyd: ready/.test(log.join(''))) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
  });
  const inviteOutput = execFileSync(parleyd, [...serverArgs, 'invite']).toString();
  const link = /https:\/\/\S+\/[A-Za-z0-9_-]{22}\//.exec(inviteOutput)?.[0];
  if (!link) throw new Error(`parleyd invite printed no link: ${inviteOutput}`);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${speech}`, '--autoplay-policy=no-user-gesture-required',
      '--ignore-certificate-errors'],
  });
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  page.on('console', (m) => console.log(`page: ${m.text()}`));
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(link);
  await page.waitForFunction(() => 'loopback' in window);
  const result = await page.evaluate(([host, path, s, o]) => window.loopback(host, path, s, o),
    [`127.0.0.1:${port}`, websocketPath, seconds, opus]);
  const received = join(work, 'received.wav');
  writeFileSync(received, wav16(result.recording, 48000));
  const correlation = execFileSync('python3', [join(repo, 'tests/integration/correlate.py'), speech, received, '4', '2'])
    .toString().trim();
  console.log(JSON.stringify({ opus: result.opus, sender: result.sender, receiver: result.receiver, playout: result.receiverPlayout,
    recordedSeconds: result.recording.length / 48000, correlation: Number(correlation) }, null, 1));
} finally {
  await browser?.close();
  server?.kill();
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
}
