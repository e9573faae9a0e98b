// Entry point of the web client's page: loads libsodium, the server's config.json and
// this browser's identity key, then wires signaling, calls, media and the UI together.
import './app/styles.css';
import { AppView } from './app/app_view';
import { ClientController } from './app/client_controller';
import { testHooks } from './app/test_hooks';
import { loadOrCreateDeviceIdentity } from './keys/device_identity';
import { IndexedDbDeviceKeyStore } from './keys/indexeddb_device_key_store';
import { IndexedDbKnownPeerStorage } from './keys/indexeddb_known_peer_storage';
import { IndexedDbRecords } from './keys/indexeddb_records';
import { KnownPeers } from './keys/known_peers';
import { BrowserCallMedia } from './media/browser_call_media';
import { SystemKeySource } from './protocol/crypto/key_source';
import { loadSodium } from './protocol/sodium';
import { IndexedDbAccountStore } from './signal/account_store';
import { type AppConfig, inviteLink, mediaSocketUrl, parseAppConfig, signalingUrl } from './signal/app_config';
import { browserSocketFactory, browserTimers } from './signal/browser_socket';
import { SignalingClient } from './signal/signaling_client';

async function loadConfig(): Promise<AppConfig> {
  let response: Response;
  try {
    response = await fetch('./config.json', { cache: 'no-store' });
  } catch {
    throw new Error('The server cannot be reached; check your connection and reload the page.');
  }
  if (!response.ok) throw new Error('This invite link no longer works; ask for a new one.');
  return parseAppConfig(await response.text());
}

async function openMicrophone(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('this page has no microphone access; open it over https');
  }
  return navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
}

// Scoped to the invite path (the script's directory). A browser that does not trust
// the certificate refuses service workers; the app works without one. A new build's
// worker waits until no page of this version is open, so the page says it is ready.
function registerServiceWorker(controller: ClientController): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('./sw.js').then((registration) => {
    registration.addEventListener('updatefound', () => {
      const next = registration.installing;
      next?.addEventListener('statechange', () => {
        if (next.state === 'installed' && navigator.serviceWorker.controller) {
          controller.notify('A new version of Parley is ready; it starts the next time you open Parley (close every Parley tab first).');
        }
      });
    });
  }).catch((e: unknown) => {
    console.info(`Parley works without offline start here: ${String(e)}`);
  });
}

async function main(root: HTMLElement): Promise<void> {
  await loadSodium();
  const config = await loadConfig();
  const records = new IndexedDbRecords();
  const keys = new SystemKeySource();
  const identity = await loadOrCreateDeviceIdentity(new IndexedDbDeviceKeyStore(records), keys);
  const peerStorage = new IndexedDbKnownPeerStorage(records);
  const peers = new KnownPeers(peerStorage, await peerStorage.load());
  const host = window.location.host;

  let controller: ClientController | undefined;
  const signaling = new SignalingClient({
    url: signalingUrl(host, config), serverName: config.server, identity, socketFactory: browserSocketFactory,
    timers: browserTimers,
  }, {
    onStatus: (status, sentence) => controller?.onStatus(status, sentence),
    onWelcome: (welcome) => controller?.onWelcome(welcome),
    onMessage: (message) => controller?.onMessage(message),
    onDisconnected: () => controller?.onDisconnected(),
  });
  controller = new ClientController({
    signaling, identity, peers, keys, accounts: new IndexedDbAccountStore(records, keys), now: () => Date.now(),
    createAudioContext: () => new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' }),
    openMicrophone,
    startMedia: (options) => BrowserCallMedia.start(options),
    mediaSocketUrl: (ticket, relay) => mediaSocketUrl(host, config, ticket, relay),
    inviteLink: (invite) => inviteLink(host, invite),
  });
  new AppView(root, controller, () => Date.now());
  const ticking = controller;
  window.setInterval(() => void ticking.tick(), 1000);
  if (window.location.hash === '#test') window.parleyTest = testHooks(controller);
  registerServiceWorker(controller);
  await controller.resume();
}

const root = document.getElementById('app');
if (root) {
  main(root).catch((error: unknown) => {
    root.textContent = error instanceof Error ? error.message : `Parley could not start: ${String(error)}`;
    root.classList.add('fatal');
  });
}
