// Capability probe: what a page on a self-signed https origin gets in Debian's headless
// Chromium (secure context, AudioWorklet, WebCodecs Opus, IndexedDB, Ed25519, service
// worker, fake microphone). Prints JSON; README.md records the answers.
// Usage: node probe.mjs SPEECH.wav [URL]   (without URL it serves its own page on 127.0.0.1)

import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from './browser.mjs';
import { readWav, writeWav } from './wav.mjs';

const speech = process.argv[2];
if (!speech) {
  console.error('Give a 16-bit PCM speech WAV: node probe.mjs build/testdata/speech_en_male.wav');
  process.exit(2);
}
const work = mkdtempSync(path.join(os.tmpdir(), 'parley_probe_'));

const page = `<!doctype html><meta charset="utf-8"><title>probe</title><p>probe</p>`;
const worklet = `
class Tap extends AudioWorkletProcessor {
  process(inputs) { const ch = inputs[0][0]; if (ch) this.port.postMessage(ch.slice(0)); return true; }
}
registerProcessor('tap', Tap);`;
const serviceWorker = `self.addEventListener('fetch', () => {});`;

function serveSelfSigned() {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', path.join(work, 'key.pem'), '-out', path.join(work, 'cert.pem'), '-days', '1',
    '-subj', '/CN=parley.test'], { stdio: 'ignore' });
  const files = { '/': ['text/html', page], '/tap.js': ['text/javascript', worklet],
    '/sw.js': ['text/javascript', serviceWorker] };
  const server = https.createServer({ key: readFileSync(path.join(work, 'key.pem')),
    cert: readFileSync(path.join(work, 'cert.pem')) }, (req, res) => {
    const file = files[req.url.split('?')[0]];
    if (!file) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': file[0] });
    res.end(file[1]);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ server, url: `https://127.0.0.1:${server.address().port}/` })));
}

const own = process.argv[3] ? null : await serveSelfSigned();
const url = process.argv[3] ?? own.url;
const { browser, context } = await launchBrowser({ fakeAudioWav: path.resolve(speech) });
try {
  const tab = await context.newPage();
  await tab.goto(url);
  const facts = await tab.evaluate(async ({ recordSeconds, own }) => {
    const out = { userAgent: navigator.userAgent, isSecureContext: window.isSecureContext };
    const attempt = async (name, fn) => {
      try { out[name] = await fn(); } catch (e) { out[name] = `error: ${e && e.message ? e.message : e}`; }
    };
    await attempt('indexedDB', () => new Promise((resolve, reject) => {
      const request = indexedDB.open('probe', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('keys');
      request.onsuccess = () => { request.result.close(); resolve(true); };
      request.onerror = () => reject(request.error);
    }));
    await attempt('webcryptoEd25519NonExtractable', async () => {
      const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
      const sig = await crypto.subtle.sign('Ed25519', pair.privateKey, new Uint8Array([1, 2, 3]));
      // A non-extractable CryptoKey can be stored in IndexedDB (structured clone).
      await new Promise((resolve, reject) => {
        const request = indexedDB.open('probe', 1);
        request.onsuccess = () => {
          const tx = request.result.transaction('keys', 'readwrite');
          tx.objectStore('keys').put(pair.privateKey, 'k');
          tx.oncomplete = () => resolve(); tx.onerror = () => reject(tx.error);
        };
        request.onerror = () => reject(request.error);
      });
      return `sign ok (${sig.byteLength} bytes), stored in IndexedDB`;
    });
    await attempt('webcryptoX25519', async () => {
      await crypto.subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
      return true;
    });
    out.audioEncoderType = typeof AudioEncoder;
    out.audioDecoderType = typeof AudioDecoder;
    await attempt('audioEncoderOpus', async () => (await AudioEncoder.isConfigSupported(
      { codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: 24000 })).supported);
    await attempt('audioDecoderOpus', async () => (await AudioDecoder.isConfigSupported(
      { codec: 'opus', sampleRate: 48000, numberOfChannels: 1 })).supported);
    await attempt('opusRoundTrip', async () => {
      const chunks = [];
      const encoder = new AudioEncoder({ output: (c) => chunks.push(c), error: (e) => { throw e; } });
      encoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: 24000,
        opus: { frameDuration: 20000 } });
      for (let i = 0; i < 10; i++) {
        const pcm = new Float32Array(960).map((_, n) => 0.3 * Math.sin((i * 960 + n) * 2 * Math.PI * 440 / 48000));
        encoder.encode(new AudioData({ format: 'f32', sampleRate: 48000, numberOfFrames: 960,
          numberOfChannels: 1, timestamp: i * 20000, data: pcm }));
      }
      await encoder.flush();
      let decodedFrames = 0;
      const decoder = new AudioDecoder({ output: (d) => { decodedFrames += d.numberOfFrames; d.close(); },
        error: (e) => { throw e; } });
      decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
      for (const c of chunks) decoder.decode(c);
      await decoder.flush();
      return `${chunks.length} packets of ${chunks.map((c) => c.byteLength).join('/')} bytes, ${decodedFrames} frames decoded`;
    });
    if (own) {
      await attempt('serviceWorker', async () => {
        const reg = await navigator.serviceWorker.register('sw.js');
        return `registered, scope ${reg.scope}`;
      });
    }
    await attempt('audioContextState', async () => {
      const ctx = new AudioContext({ sampleRate: 48000 });
      return `${ctx.state} at ${ctx.sampleRate} Hz`;
    });
    const ctx = new AudioContext({ sampleRate: 48000 });
    const samples = [];
    await attempt('audioWorklet', async () => {
      if (!own) return 'not tried on a foreign URL';
      await ctx.audioWorklet.addModule('tap.js');
      return true;
    });
    await attempt('microphone', async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true,
        noiseSuppression: true, autoGainControl: true } });
      const track = stream.getAudioTracks()[0];
      if (own) {
        const tap = new AudioWorkletNode(ctx, 'tap');
        tap.port.onmessage = (e) => { for (const s of e.data) samples.push(s); };
        ctx.createMediaStreamSource(stream).connect(tap);
        await new Promise((r) => setTimeout(r, recordSeconds * 1000));
        stream.getTracks().forEach((t) => t.stop());
      }
      return `${track.label}, settings ${JSON.stringify(track.getSettings())}`;
    });
    out.recorded = samples;
    return out;
  }, { recordSeconds: 5, own: Boolean(own) });
  const recorded = facts.recorded;
  delete facts.recorded;
  facts.recordedSeconds = recorded.length / 48000;
  if (recorded.length > 0) {
    const out = path.join(work, 'mic.wav');
    writeWav(out, 48000, recorded);
    const sent = readWav(speech);
    facts.sentRate = sent.rate;
    facts.recordedWav = out;
    const peak = recorded.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    facts.recordedPeak = Number(peak.toFixed(3));
  }
  console.log(JSON.stringify(facts, null, 2));
} finally {
  await browser.close();
  if (own) own.server.close();
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
}
