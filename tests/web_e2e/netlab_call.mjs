// One browser call inside the censor lab (tests/netlab/netlab.py --browser): Chromium in a
// client namespace (PARLEY_CHROMIUM, a wrapper around `ip netns exec`) signs up at the
// invite link and calls a native client in the other namespace. Prints one JSON line.
// Usage: node netlab_call.mjs --link URL --native-ns NS --parley BIN --profile DIR
//          --native-name NAME --browser-name NAME --testdata DIR --work DIR

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AppDriver } from './app_driver.mjs';
import { launchBrowser } from './browser.mjs';
import { runCall } from './calls.mjs';
import { Processes } from './processes.mjs';

const { values: args } = parseArgs({ options: {
  link: { type: 'string' }, 'native-ns': { type: 'string' }, parley: { type: 'string' },
  profile: { type: 'string' }, 'native-name': { type: 'string' }, 'browser-name': { type: 'string' },
  testdata: { type: 'string' }, work: { type: 'string' },
} });
for (const name of ['link', 'native-ns', 'parley', 'profile', 'native-name', 'browser-name', 'testdata', 'work']) {
  if (!args[name]) {
    console.error(`netlab_call.mjs: --${name} is missing (see the usage at the top of the file).`);
    process.exit(2);
  }
}
mkdirSync(args.work, { recursive: true });
const browserSends = path.resolve(args.testdata, 'speech_en_male.wav');
const nativeSends = path.resolve(args.testdata, 'speech_fa.wav');
const procs = new Processes(args.work);
const result = { ok: false };
let browser = null;
const started = Date.now();
const timer = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: 'the browser call took over 120 s' }));
  process.exit(1);
}, 120_000);
try {
  const launched = await launchBrowser({ fakeAudioWav: browserSends });
  browser = launched.browser;
  const page = await launched.context.newPage();
  const app = new AppDriver(page, args.work);
  await page.goto(`${args.link}#test`, { timeout: 30000 });
  result.page_loaded_ms = Date.now() - started;
  await app.byId('signup-username').waitFor({ timeout: 20000 });
  await app.signUp(args['browser-name']);
  result.signed_in_ms = Date.now() - started;
  const nativeArgv = (...parleyArgs) => ['timeout', '60', 'ip', 'netns', 'exec', args['native-ns'], args.parley,
    '--profile', args.profile, ...parleyArgs];
  Object.assign(result, await runCall({ direction: 'browser-calls-native', app, procs, nativeArgv,
    nativeName: args['native-name'], browserName: args['browser-name'], work: args.work, browserSends, nativeSends,
    shots: { inCall: 'in-call' }, dialBy: 'input', callSeconds: 10, judgeFromSeconds: 4 }));
} catch (error) {
  result.ok = false;
  result.error = (error.message ?? String(error)).split('\n').slice(0, 6).join(' / ');
} finally {
  clearTimeout(timer);
  if (browser) await browser.close().catch(() => {});
  await procs.stopAll();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
