// The keys one call uses, derived from the X25519 secret and the whole handshake
// transcript; docs/protocol.md, "Key derivation".
#pragma once

#include <cstdint>
#include <span>

#include "parley/crypto/fingerprint.h"
#include "parley/crypto/secret.h"

namespace parley::crypto {

enum class Role : uint8_t { kCaller, kCallee };

// One direction of one stream (media or control): the first chain key of its ratchet
// (KeyRatchet) and the header-protection key that masks packet counters.
struct DirectionKeys {
  Secret<32> chain_key;
  Secret<32> header_key;
};

// A stream's two directions, from this side's point of view.
struct StreamKeys {
  DirectionKeys send;
  DirectionKeys receive;
};

// Everything the call layer gets from a completed key agreement. Wiped on
// destruction; move it into the PacketProtectors and let it go.
struct CallKeys {
  StreamKeys media;
  StreamKeys control;  // in-call control messages: separate keys, separate counters
  Fingerprint fingerprint;
};

// PRK = BLAKE2b-256(key = transcript_hash, message = shared_secret): an HKDF-Extract
// (RFC 5869 §2.2) with keyed BLAKE2b in place of HMAC; libsodium 1.0.18 has no HKDF.
Secret<32> ExtractPrk(std::span<const uint8_t, 32> shared_secret, std::span<const uint8_t, 32> transcript_hash);

// Expands the PRK with crypto_kdf_derive_from_key (context "ParleyCK", ids in
// docs/protocol.md) and assigns send/receive by role. Pure; any thread.
CallKeys DeriveCallKeys(const Secret<32>& prk, Role role);

}  // namespace parley::crypto
