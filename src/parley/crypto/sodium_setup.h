// One-time libsodium initialisation, safe to call from any thread any number of times.
#pragma once

namespace parley::crypto {

// Initialises libsodium once (sodium_init picks the fastest implementations and seeds
// randombytes). Every crypto entry point calls this first; it costs one atomic load
// after the first call. Aborts if libsodium cannot initialise: nothing here is safe then.
void EnsureSodium();

}  // namespace parley::crypto
