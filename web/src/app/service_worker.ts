// The service worker (built to sw.js, scoped to the invite path): keeps the app shell
// for offline start and changes version only with a new build. It never caches
// config.json or anything outside the app's files (the WebSocket path is outside).
import { cacheStrategy } from './cache_policy';

// The build writes {"version": ..., "files": [...]} here (vite.config.ts, parleyServiceWorker).
const BUILD: { version: string; files: string[] } = JSON.parse('__PARLEY_BUILD__') as { version: string; files: string[] };

// The few service-worker types used here (the DOM lib has no WebWorker scope).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface WorkerScope {
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
}
const worker = self as unknown as WorkerScope;

const CACHE = `parley-${BUILD.version}`;
const scope = worker.registration.scope;
const precached = new Set(BUILD.files);

worker.addEventListener('install', (event) => {
  // A new version waits until no page of the old one is open, so a running call never
  // loses files it still needs; the next start uses it.
  event.waitUntil(caches.open(CACHE).then((cache) =>
    cache.addAll(BUILD.files.map((file) => new Request(new URL(file, scope), { cache: 'reload' })))));
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('parley-') && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => worker.clients.claim()));
});

worker.addEventListener('fetch', (event) => {
  const request = event.request;
  const strategy = cacheStrategy(request.method, request.url, scope, precached);
  if (strategy === 'network-only') return; // the browser fetches as if there were no worker
  const key = new URL(request.url);
  const cached = () => caches.open(CACHE).then((cache) => cache.match(key.href)).then((hit) => {
    if (!hit) throw new Error('not cached');
    return hit;
  });
  if (strategy === 'cache-first') {
    event.respondWith(cached().catch(() => fetch(request)));
  } else {
    // Whatever the server answers wins (a revoked invite gets the decoy's 404); the
    // installed copy is only for when the network fails.
    event.respondWith(fetch(request).catch(() => cached()));
  }
});
