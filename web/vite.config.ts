// Build (static assets for parleyd to serve; no Node.js at run time) and unit tests.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Relative asset URLs: the app lives under an unguessable invite path, not at /.
  base: './',
  build: {
    outDir: '../build/web',
    emptyOutDir: true,
    target: 'es2022',
    // libsodium's WebAssembly is inlined in its module; one chunk over the default
    // warning size is expected.
    chunkSizeWarningLimit: 2048,
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The machines running make test are shared and often loaded.
    testTimeout: 30000,
  },
});
