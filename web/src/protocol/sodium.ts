// libsodium (WebAssembly), loaded once. The sumo build is needed: the small build has
// no crypto_stream_chacha20_ietf_xor_ic, which header protection uses.
import sodiumModule from 'libsodium-wrappers-sumo';

export type Sodium = typeof sodiumModule;

let loaded: Promise<Sodium> | undefined;
let ready = false;

// Resolves when the WebAssembly module is ready. Await it once at start-up (and in
// each test file's beforeAll) before anything calls sodium().
export function loadSodium(): Promise<Sodium> {
  loaded ??= sodiumModule.ready.then(() => {
    ready = true;
    return sodiumModule;
  });
  return loaded;
}

// The ready module. Throws if loadSodium() has not resolved yet: a programming error.
export function sodium(): Sodium {
  if (!ready) throw new Error('libsodium is not loaded yet: await loadSodium() first');
  return sodiumModule;
}
