// The web client's end-to-end test on 127.0.0.1: a real parleyd serving build/web at an
// invite, Debian's Chromium signing up and calling a native `parley` both ways, audio
// correlated, fingerprints equal, strangers shown only the decoy site, screenshots.
// Usage: node run.mjs --build BUILD --testdata DIR --web DIR [--screenshots DIR] [--json FILE] [--keep]
//        [--stall-calls N] (default 1: calls with the page's main thread held up 300 ms every 2 s)
// Exit: 0 passed, 1 failed, 77 skipped (no Chromium, no built app).

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AppDriver } from './app_driver.mjs';
import { launchBrowser } from './browser.mjs';
import { runCall } from './calls.mjs';
import { Processes, waitForLog } from './processes.mjs';
import { checkStrangers, get } from './strangers.mjs';

const SKIP = 77;
const HOST = '127.0.0.1';
const BROWSER_USER = 'alice';
const NATIVE_USER = 'bob';

const { values: args } = parseArgs({ options: {
  build: { type: 'string' }, testdata: { type: 'string' }, web: { type: 'string' },
  screenshots: { type: 'string' }, json: { type: 'string' }, keep: { type: 'boolean', default: false },
  'stall-calls': { type: 'string', default: '1' },
} });
for (const required of ['build', 'testdata', 'web']) {
  if (!args[required]) {
    console.error('usage: node run.mjs --build BUILD --testdata DIR --web DIR [--screenshots DIR] [--json FILE] [--keep]');
    process.exit(2);
  }
}
const build = path.resolve(args.build);
const parleyd = path.join(build, 'apps/parleyd/parleyd');
const parley = path.join(build, 'apps/parley/parley');
const webDir = path.resolve(args.web);
const browserSends = path.resolve(args.testdata, 'speech_en_male.wav');
const nativeSends = path.resolve(args.testdata, 'speech_fa.wav');
const chromiumPath = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
for (const [what, file, hint] of [
  ['Chromium', chromiumPath, 'run scripts/install-deps (it installs Debian\'s chromium)'],
  ['the built web app', path.join(webDir, 'index.html'), 'run make web'],
  ['test speech', browserSends, 'run make speech'],
]) {
  if (!existsSync(file)) {
    console.log(`SKIP: ${what} is missing (${file}): ${hint}.`);
    process.exit(SKIP);
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'parley_web_e2e_'));
const screenshots = args.screenshots ? path.resolve(args.screenshots) : path.join(work, 'screenshots');
mkdirSync(screenshots, { recursive: true });
const procs = new Processes(work);
const report = { checks: [] };
let browser = null;
let lastPage = null; // for a screenshot when the test fails
let failed = false;

function check(what, ok, detail = '') {
  report.checks.push({ what, ok, detail });
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}${detail ? ` (${detail})` : ''}`);
  if (!ok) failed = true;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, HOST, () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

async function main() {
  const port = await freePort();
  const serverArgs = ['--data', path.join(work, 'data'), '--host', HOST, '--port', String(port),
    '--server-name', HOST];
  const server = procs.start('parleyd', [parleyd, ...serverArgs, '--allow-loopback', '--web-app', webDir,
    '--set', 'limits.invites_per_minute=1000', '--log-level', 'warn']);
  await waitForLog(server, /parleyd: ready/, 20);
  const ws = (await waitForLog(server, /websocket:\s+(\S+)/))[1];
  const websocketPath = new URL(ws).pathname;

  const makeInvite = async (name) => {
    const { code, output } = await procs.run(name, [parleyd, ...serverArgs, 'invite']);
    const match = output.match(/https:\/\/\S+\/([A-Za-z0-9_-]{22})\//);
    if (code !== 0 || !match) throw new Error(`parleyd invite failed (${code}): ${output}`);
    return { link: match[0], invite: match[1] };
  };
  const { link, invite } = await makeInvite('invite');
  const revoked = await makeInvite('invite_revoked');
  const revoke = await procs.run('invite_revoke', [parleyd, ...serverArgs, 'invite', '--revoke', revoked.invite]);
  check('parleyd invite --revoke', revoke.code === 0, revoke.output.trim());

  const config = JSON.parse((await get(HOST, port, `/${invite}/config.json`)).split('\r\n\r\n').slice(1).join('\r\n\r\n'));
  check('config.json names the signaling path parleyd printed', config.websocket_path === websocketPath,
    JSON.stringify(config));

  for (const result of await checkStrangers({ host: HOST, port, invite, revokedInvite: revoked.invite, websocketPath })) {
    check(`stranger: ${result.what}`, result.ok, result.ok ? '' : result.detail);
  }

  const nativeArgv = (...parleyArgs) => ['timeout', '60', parley, '--profile', path.join(work, NATIVE_USER), ...parleyArgs];
  const init = await procs.run('native_init', nativeArgv('init', '--server', ws, '--name', NATIVE_USER));
  check('native client registered', init.code === 0, init.code === 0 ? '' : init.output);

  const launched = await launchBrowser({ fakeAudioWav: browserSends });
  browser = launched.browser;
  const page = await launched.context.newPage();
  lastPage = page;
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`); });
  const app = new AppDriver(page, screenshots);

  // Strangers through the browser's eyes: the decoy home page, and no app at a wrong invite.
  const decoy = await page.goto(`https://${HOST}:${port}/`);
  check('the browser at / gets the decoy home page', decoy.status() === 200 &&
    await page.evaluate(() => typeof window.parleyTest === 'undefined' && !document.querySelector('[data-testid]')));
  const wrong = await page.goto(`https://${HOST}:${port}/${invite[0] === 'A' ? 'B' : 'A'}${invite.slice(1)}/#test`);
  check('the browser at a wrong invite gets the decoy 404', wrong.status() === 404 &&
    await page.evaluate(() => !document.querySelector('[data-testid]')));

  pageErrors.length = 0; // the decoy 404 above is logged as a failed load: not the app's
  await page.goto(`${link}#test`);
  await app.byId('signup-username').waitFor({ timeout: 15000 });
  await app.byId('signup-username').fill(BROWSER_USER);
  await app.shoot('signup');
  const signedIn = await app.signUp(BROWSER_USER);
  check('the browser signed up', true, signedIn.trim());
  await app.addContact(NATIVE_USER);
  await app.shoot('contacts');

  const calls = [];
  calls.push(await runCall({ direction: 'browser-calls-native', app, procs, nativeArgv, nativeName: NATIVE_USER,
    browserName: BROWSER_USER, work, browserSends, nativeSends, shots: { inCall: 'in-call' } }));
  calls.push(await runCall({ direction: 'native-calls-browser', app, procs, nativeArgv, nativeName: NATIVE_USER,
    browserName: BROWSER_USER, work, browserSends, nativeSends, shots: { incoming: 'incoming-call' } }));
  // The page's sender adapting: bob asks for data saving (the flag in its quality
  // reports), so the page's encoder, started at 20 ms frames and ~31 kbit/s, is reconfigured
  // mid-call to 120 ms frames at 6 kbit/s with DTX.
  const saving = await runCall({ direction: 'browser-calls-native', app, procs, nativeArgv, nativeName: NATIVE_USER,
    browserName: BROWSER_USER, work, browserSends, nativeSends, nativeOptions: ['--data-saving'], tag: 'c' });
  saving.direction = 'data-saving';
  calls.push(saving);
  // Main-thread stalls are not a queue: the page's main thread, which encodes, seals and
  // sends, held up 300 ms every 2 s (a busy loop put in the page) on a path with no
  // bottleneck. Its packets go out in bursts and bob measures them as delay; the page's
  // sender must keep its budget rather than cut as if a queue built.
  const stallCalls = [];
  for (let i = 0; i < Number(args['stall-calls']); ++i) {
    const stalled = await runCall({ direction: 'browser-calls-native', app, procs, nativeArgv, nativeName: NATIVE_USER,
      browserName: BROWSER_USER, work, browserSends, nativeSends, tag: `s${i}`, callSeconds: 10,
      pageStalls: { everyMs: 2000, forMs: 300 } });
    stalled.direction = `page-stalls-${i}`;
    calls.push(stalled);
    stallCalls.push(stalled);
  }
  for (const call of calls) {
    check(`${call.direction}: fingerprints equal on the page and in the CLI`, call.fingerprints_equal,
      `${call.page_fingerprint.emoji} / ${call.page_fingerprint.words}`);
    const audio = `native->browser ${call.correlation_native_to_browser}, browser->native ` +
      `${call.correlation_browser_to_native}, unrelated ${call.correlation_browser_unrelated}`;
    // Audio is not judged with the page's main thread held up 300 ms every 2 s: the page
    // decodes there, so what it plays breaks up, and bob's jitter buffer meets a 300 ms
    // burst every 2 s (measured 0.39-0.52 native->browser, 0.28-0.83 browser->native).
    if (call.page_stalls) console.log(`${call.direction}: audio not judged (${audio})`);
    else check(`${call.direction}: audio both ways`, call.audio_ok, audio);
    check(`${call.direction}: the native client ended cleanly`, call.native_exit === 0, String(call.native_exit));
    check(`${call.direction}: live quality on relay-tls`, call.quality?.path === 'relay-tls' && call.quality?.connected,
      call.quality_text);
  }
  const late = saving.quality_samples.filter(([at]) => at >= 3);
  check('data-saving: the page sends 120 ms frames at 6 kbit/s of Opus from 3 s on',
    late.length > 0 && late.every(([, frameMs, opusKbps]) => frameMs === 120 && opusKbps === 6),
    JSON.stringify(saving.quality_samples));
  // What the page handed its media socket from 3 s on, with 28 bytes of UDP/IPv4 a packet
  // (the relay forwards each one to bob over UDP; the budget counts the same).
  const [first, last] = [late[0], late[late.length - 1]];
  const wire = first && last && last[0] - first[0] >= 2 ? {
    packets_per_s: Math.round(((last[4] - first[4]) / (last[0] - first[0])) * 10) / 10,
    kbps: Math.round((((last[5] - first[5]) + (last[4] - first[4]) * 28) * 8) / (last[0] - first[0]) / 100) / 10,
  } : null;
  saving.page_wire = wire;
  check('data-saving: the page sends at most 12 kbit/s including overhead from 3 s on',
    wire !== null && wire.kbps <= 12, JSON.stringify(wire));
  // 120 ms frames are at most 8.3 a second (fewer in DTX silence), 60 ms ones 16.7, 20 ms 50.
  check('data-saving: bob receives 2-12 media packets a second',
    saving.native_receive !== null && saving.native_receive.packets_per_s >= 2 && saving.native_receive.packets_per_s <= 12,
    `${JSON.stringify(saving.native_receive)}; 20 ms calls: ${calls.slice(0, 2).map((c) => c.native_receive?.packets_per_s).join(', ')}`);
  for (const call of stallCalls) {
    const samples = call.quality_samples.filter(([at]) => at >= 2);
    const stalls = samples.length > 0 ? samples[samples.length - 1][7] : 0;
    check(`${call.direction}: the page's main thread was held up`, stalls >= 3, `${stalls} stalls seen by the page`);
    // 64 kbit/s is the start and the top; a cut for a queue takes it to 85 % of what arrived or lower.
    // Before the page told its own lateness from a queue it cut to 15-43 kbit/s in 8 of 8 such calls
    // (Opus 6-24) and stayed there; now it keeps 64 (Opus >= 30.7). 48, one sample excepted, and never
    // under 32, leave room for a stall on bob's side, which a loaded CI machine can cause and which
    // bob cannot tell from a queue.
    const low = samples.filter(([, , opusKbps, , , , budget]) => budget < 48 || opusKbps < 20).length;
    check(`${call.direction}: the page keeps >= 48 of its 64 kbit/s budget and >= 20 kbit/s of Opus through the stalls`,
      samples.length > 0 && low <= 1 && samples.every(([, , , , , , budget]) => budget >= 32),
      JSON.stringify(samples.map(([at, frameMs, opusKbps, , , , budget, , ownMs]) => [at, frameMs, opusKbps, budget, ownMs])));
  }
  report.calls = calls;

  await app.byId('nav-history').click();
  await app.waitForText('history-list', new RegExp(NATIVE_USER));
  await app.shoot('history');
  check('the call history lists the calls with the native user', true);
  await app.byId('nav-settings').click();
  await app.byId('setting-who-may-call').waitFor({ timeout: 5000 });
  await app.byId('setting-p2p').waitFor({ timeout: 5000 });
  await app.shoot('settings');
  check('settings show who may call and the P2P policy', true);
  check('no errors on the page', pageErrors.length === 0, pageErrors.slice(0, 5).join(' | '));
}

const startedAt = Date.now();
const timer = setTimeout(() => { console.log('FAIL: the test took over 170 s'); process.exit(1); }, 170_000);
try {
  await main();
} catch (error) {
  check('the test ran to its end', false, error.stack ?? String(error));
  await lastPage?.screenshot({ path: path.join(work, 'failure.png') }).catch(() => {});
} finally {
  clearTimeout(timer);
  if (browser) await browser.close().catch(() => {});
  await procs.stopAll();
  console.log(`web_e2e: ${failed ? 'FAIL' : 'PASS'} in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
  if (failed || args.keep) {
    console.log(`logs, recordings and screenshots in ${work}`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
