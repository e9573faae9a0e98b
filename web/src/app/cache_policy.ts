// Which requests the service worker answers from its cache: the app shell only. Pure,
// so Vitest checks it; service_worker.ts applies it.

export type CacheStrategy =
  | 'network-only' // never cached: config.json, anything unknown, other paths, non-GET
  | 'network-first' // the page and unhashed files: fresh when online, the installed copy offline
  | 'cache-first'; // content-hashed build files: never change under one name

// `scope` is the registration's scope (https://host/<invite>/); `precached` the paths
// relative to it that the build listed ('' is the page itself).
export function cacheStrategy(method: string, url: string, scope: string, precached: ReadonlySet<string>): CacheStrategy {
  if (method !== 'GET') return 'network-only';
  const target = new URL(url);
  const base = new URL(scope);
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname) || target.search !== '') {
    return 'network-only';
  }
  const path = target.pathname.slice(base.pathname.length);
  if (path === 'config.json' || !precached.has(path)) return 'network-only';
  return path.startsWith('assets/') ? 'cache-first' : 'network-first';
}

// What the service worker puts in its cache at install: the page ('' and
// index.html) and every built file, relative to the scope.
export function precacheList(buildFiles: readonly string[]): string[] {
  const files = buildFiles.filter((f) => f !== 'sw.js' && f !== 'config.json' && !f.endsWith('.map') && f !== 'index.html');
  return ['', ...[...new Set(files)].sort()];
}
