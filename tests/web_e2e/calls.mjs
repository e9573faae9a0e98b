// The two calls of the browser end-to-end test, shared by run.mjs (127.0.0.1) and
// netlab_call.mjs (the censor lab): the browser calls the native client, and back.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, readLog, waitForLog } from './processes.mjs';
import { writeWav } from './wav.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const correlateScript = path.join(here, '..', 'integration', 'correlate.py');

// Audio is judged on 4 s of speech from `judgeFromSeconds` into the call, as the censor
// lab does: speech sent while a native client's relay-udp is raced before relay-tls
// takes over is lost by design (netlab.py, no-udp: up to ~2.7 s on a loaded machine),
// and the fake microphone starts when the page opens it. The call lasts `callSeconds`.
const JUDGE_SECONDS = 4;

/** correlate.py's peak envelope correlation (0..1) of SENT with RECEIVED. */
export function correlate(sent, received, judgeFromSeconds) {
  return Number(execFileSync('python3', [correlateScript, sent, received, String(JUDGE_SECONDS),
    String(judgeFromSeconds)], { encoding: 'utf8' }).trim());
}

/** The fingerprint line `parley` prints: "fingerprint: EMOJI (WORDS)". */
export function cliFingerprint(output) {
  const match = output.match(/^fingerprint: (.+) \((.+)\)$/m);
  return match ? { emoji: match[1].trim(), words: match[2].trim() } : null;
}

/**
 * What the native client received, from its `--stats` file (one JSON line a second,
 * `t` seconds into the call, `packets_received` authenticated media packets so far):
 * media packets per second from its first line at or after `fromSeconds` to its last at or
 * before `toSeconds`; null when they are less than 2 s apart.
 */
export function nativeReceiveRate(statsFile, fromSeconds, toSeconds) {
  let lines;
  try {
    lines = readFileSync(statsFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  } catch {
    return null;
  }
  const first = lines.find((l) => l.t >= fromSeconds);
  const last = lines.filter((l) => l.t <= toSeconds).pop();
  if (!first || !last || last.t - first.t < 2) return null;
  return {
    from_s: first.t,
    to_s: last.t,
    packets_per_s: Math.round(((last.packets_received - first.packets_received) / (last.t - first.t)) * 10) / 10,
  };
}

/**
 * One call between the page (`app`, an AppDriver, signed in) and a native client run by
 * `nativeArgv(...parleyArgs)` (a full argv, e.g. with `ip netns exec` in front).
 * direction 'browser-calls-native' or 'native-calls-browser'. `browserSends`: the WAV the
 * fake microphone plays; `nativeSends`: the native client's input. Writes recordings to
 * `work`. `dialBy`: 'contact' (the contact's call button) or 'input' (dial-input).
 * `nativeOptions`: more `parley` call options (e.g. `--data-saving`); `tag` names the
 * call's files (default a/b by direction). The page's `parleyTest.quality()` is sampled
 * every 500 ms (`quality_samples`: seconds after "in call", frame ms, Opus kbit/s, sent kbit/s,
 * sealed packets and bytes sent so far, the bitrate controller's wire budget in kbit/s,
 * main-thread stalls, own lateness taken off the peer's last queue figure).
 * `pageStalls` { everyMs, forMs }: from "in call" until the recording is taken, the page's
 * main thread is kept busy for `forMs` every `everyMs` (a busy loop the test puts in the
 * page, as a loaded machine's stalls), removed before the recording is taken.
 * Returns the figures; throws with the page's and the client's view on failure.
 */
export async function runCall({ direction, app, procs, nativeArgv, nativeName, browserName, work,
  browserSends, nativeSends, shots = {}, dialBy = 'contact', callSeconds = 8, judgeFromSeconds = 2,
  nativeOptions = [], tag = direction === 'browser-calls-native' ? 'a' : 'b', pageStalls = null }) {
  const nativeRecording = path.join(work, `native_heard_${tag}.wav`);
  const browserRecording = path.join(work, `browser_heard_${tag}.wav`);
  const nativeStats = path.join(work, `native_stats_${tag}.jsonl`);
  const common = ['--in', nativeSends, '--out', nativeRecording, '--stats', nativeStats, ...nativeOptions];
  let native;
  const started = Date.now();
  if (direction === 'browser-calls-native') {
    native = procs.start(`native_listen_${tag}`, nativeArgv('listen', '--auto-answer', '--once', ...common));
    await waitForLog(native, /Waiting for calls/, 15);
    if (dialBy === 'contact') await app.callContact(nativeName);
    else await app.dial(nativeName);
  } else {
    native = procs.start(`native_call_${tag}`, nativeArgv('call', browserName, '--max-duration', '30', ...common));
    await app.waitForIncoming(nativeName);
    if (shots.incoming) await app.shoot(shots.incoming);
    await app.answer();
  }
  try {
    await app.waitInCall();
  } catch (error) {
    throw new Error(`${error.message}\nnative client:\n${readLog(native)}`);
  }
  const connectedAfterMs = Date.now() - started;
  const inCallAt = Date.now();
  if (pageStalls) {
    await app.page.evaluate(({ everyMs, forMs }) => {
      window.parleyTestStalls = setInterval(() => {
        const until = performance.now() + forMs;
        while (performance.now() < until) { /* the main thread held up */ }
      }, everyMs);
    }, pageStalls);
  }
  await app.startRecording();
  // Sampling the page's figures costs one evaluate each (no rendering; see the screenshot note below).
  const qualitySamples = [];
  const sampleUntil = async (ms) => {
    while (Date.now() - inCallAt < ms) {
      const q = await app.quality();
      if (q) {
        qualitySamples.push([Math.round((Date.now() - inCallAt) / 100) / 10, q.frameMs, q.opusKbps, q.sendKbps,
          q.sealedPacketsSent, q.sealedBytesSent, q.targetKbps, q.mainThreadStalls, q.ownSendDelayMs]);
      }
      await sleep(Math.min(500, Math.max(0, ms - (Date.now() - inCallAt))));
    }
  };
  await sampleUntil(3000);
  const quality = await app.quality();
  const qualityText = await app.qualityText();
  const pageFingerprint = await app.fingerprint();
  await sampleUntil(callSeconds * 1000);
  if (pageStalls) await app.page.evaluate(() => clearInterval(window.parleyTestStalls));
  const heard = await app.takeRecording();
  // The screenshot comes after the judged audio: rendering it stalls the page's main
  // thread (where the media is encoded and sent) for long enough that the far end's
  // jitter buffer grows by up to a second, which moves the lag correlate.py looks for.
  if (shots.inCall) await app.shoot(shots.inCall);
  // The page records from "in call" on, a moment after the far end started sending;
  // correlate.py looks for the recording 0..3 s behind the input, so 1 s of silence in
  // front lets it find a recording that starts up to 1 s late.
  const leadIn = new Float32Array(48000 + heard.length);
  leadIn.set(heard, 48000);
  writeWav(browserRecording, 48000, leadIn);
  await app.hangUp();
  // The native side hears of the page's hang-up through the hub at once (measured 0.5-1 s
  // to its exit); 5 s leaves room for a loaded machine, not for a hang-up that is lost.
  const exit = await Promise.race([native.exited, sleep(5000).then(() => 'still running 5 s after hang-up')]);
  const nativeOutput = readLog(native);
  const nativeFingerprint = cliFingerprint(nativeOutput);
  const result = {
    direction,
    connected_after_ms: connectedAfterMs,
    native_exit: exit,
    page_fingerprint: pageFingerprint,
    cli_fingerprint: nativeFingerprint,
    fingerprints_equal: Boolean(nativeFingerprint) && pageFingerprint.emoji === nativeFingerprint.emoji &&
      pageFingerprint.words === nativeFingerprint.words,
    quality,
    quality_text: qualityText,
    // [s after in call, frame ms, Opus kbit/s, sent kbit/s, packets, bytes, budget kbit/s,
    //  main-thread stalls so far, own sending lateness taken off the last report's queue (ms)]
    quality_samples: qualitySamples,
    page_stalls: pageStalls,
    native_receive: nativeReceiveRate(nativeStats, judgeFromSeconds + 1, callSeconds),
    browser_heard_seconds: heard.length / 48000,
    browser_recording_lead_in_s: 1, // the silence put in front of browser_heard_*.wav
    // What each end heard against what the other end sent, and against its own input
    // (an echo or a loopback would correlate there instead).
    judged_from_s: judgeFromSeconds,
    correlation_native_to_browser: correlate(nativeSends, browserRecording, judgeFromSeconds),
    correlation_browser_to_native: correlate(browserSends, nativeRecording, judgeFromSeconds),
    correlation_browser_unrelated: correlate(browserSends, browserRecording, judgeFromSeconds),
  };
  result.audio_ok = result.correlation_native_to_browser > 0.6 && result.correlation_browser_to_native > 0.6 &&
    result.correlation_browser_unrelated < Math.min(result.correlation_native_to_browser, result.correlation_browser_to_native);
  result.ok = result.fingerprints_equal && result.audio_ok && exit === 0;
  if (!result.ok) result.native_output = nativeOutput.slice(-2000);
  return result;
}
