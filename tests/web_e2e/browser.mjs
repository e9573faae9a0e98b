// Launches Debian's Chromium through playwright-core for the web end-to-end tests:
// headless, fake microphone fed from a WAV, self-signed parleyd origin accepted.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
// playwright-core is a devDependency of web/ (exact version in web/package.json).
const requireFromWeb = createRequire(path.join(here, '..', '..', 'web', 'package.json'));
const { chromium } = requireFromWeb('playwright-core');

/**
 * Chromium flags the tests need (see README.md for why each one is there).
 * `fakeAudioWav`: a 16-bit PCM WAV the fake microphone plays once (no loop).
 */
export function chromiumArgs(fakeAudioWav) {
  const args = [
    '--use-fake-ui-for-media-stream',       // grant getUserMedia without a prompt
    '--use-fake-device-for-media-stream',   // a fake microphone instead of the machine's
    '--autoplay-policy=no-user-gesture-required', // an AudioContext made outside a click runs
    '--ignore-certificate-errors',          // service worker registration on a self-signed origin
    '--no-sandbox',                         // tests run as root
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-gpu',
    '--disable-background-networking',     // no update or safe-browsing traffic (the censor lab's captures)
    '--disable-component-update',
  ];
  if (fakeAudioWav) args.push(`--use-file-for-fake-audio-capture=${fakeAudioWav}%noloop`);
  return args;
}

/**
 * Starts Chromium and returns { browser, context }. The executable is /usr/bin/chromium
 * unless PARLEY_CHROMIUM names another (the censor lab's namespace wrapper).
 */
export async function launchBrowser({ fakeAudioWav, executablePath, viewport } = {}) {
  const browser = await chromium.launch({
    executablePath: executablePath ?? process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs(fakeAudioWav),
    timeout: 60_000,
  });
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: viewport ?? { width: 420, height: 860 }, // a phone-sized window for the screenshots
    deviceScaleFactor: 1,
    permissions: ['microphone'],
  });
  return { browser, context };
}
