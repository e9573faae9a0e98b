// Build (static assets for parleyd to serve; no Node.js at run time) and unit tests.
// The service worker is a second entry built to sw.js, into which the build writes
// its version and the list of files to precache.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { precacheList } from './src/app/cache_policy';

const publicDir = fileURLToPath(new URL('./public', import.meta.url));

// Replaces '__PARLEY_BUILD__' in sw.js with {"version", "files"}: the version is a hash
// of every output, so any change of the app gives a new sw.js and a clean update.
function parleyServiceWorker(): Plugin {
  return {
    name: 'parley-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const worker = bundle['sw.js'];
      if (!worker || worker.type !== 'chunk') throw new Error('the build has no sw.js chunk');
      const hash = createHash('sha256');
      const names = Object.keys(bundle).sort();
      for (const name of names) {
        const item = bundle[name]!;
        if (name === 'sw.js') continue;
        hash.update(name);
        hash.update(item.type === 'chunk' ? item.code : item.source);
      }
      const publicFiles = readdirSync(publicDir);
      hash.update(publicFiles.sort().join('\n'));
      const build = { version: hash.digest('hex').slice(0, 16), files: precacheList([...names, ...publicFiles]) };
      const placeholder = /(["'`])__PARLEY_BUILD__\1/;
      if (!placeholder.test(worker.code)) throw new Error('sw.js lost its __PARLEY_BUILD__ placeholder');
      worker.code = worker.code.replace(placeholder, () => JSON.stringify(JSON.stringify(build)));
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the app lives under an unguessable invite path, not at /.
  base: './',
  plugins: [parleyServiceWorker()],
  build: {
    outDir: '../build/web',
    emptyOutDir: true,
    target: 'es2022',
    // libsodium's WebAssembly is inlined in its module; one chunk over the default
    // warning size is expected.
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('./index.html', import.meta.url)),
        sw: fileURLToPath(new URL('./src/app/service_worker.ts', import.meta.url)),
      },
      output: {
        // sw.js keeps its name (browsers update a worker at a fixed URL).
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The machines running make test are shared and often loaded.
    testTimeout: 30000,
  },
});
