// Call key derivation from the PRK (docs/protocol.md, "Key derivation").
#include "parley/crypto/call_keys.h"

#include <sodium.h>

#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {
namespace {

constexpr char kContext[crypto_kdf_CONTEXTBYTES + 1] = "ParleyCK";

// Subkey ids (crypto_kdf): never reuse or renumber.
enum SubkeyId : uint64_t {
  kMediaChainCallerToCallee = 1,
  kMediaChainCalleeToCaller = 2,
  kControlChainCallerToCallee = 3,
  kControlChainCalleeToCaller = 4,
  kMediaHeaderCallerToCallee = 5,
  kMediaHeaderCalleeToCaller = 6,
  kControlHeaderCallerToCallee = 7,
  kControlHeaderCalleeToCaller = 8,
  kFingerprint = 9,
};

Secret<32> Derive(const Secret<32>& prk, uint64_t id) {
  Secret<32> out;
  crypto_kdf_derive_from_key(out.data(), out.size(), id, kContext, prk.data());
  return out;
}

DirectionKeys Direction(const Secret<32>& prk, uint64_t chain_id, uint64_t header_id) {
  return DirectionKeys{Derive(prk, chain_id), Derive(prk, header_id)};
}

}  // namespace

Secret<32> ExtractPrk(std::span<const uint8_t, 32> shared_secret, std::span<const uint8_t, 32> transcript_hash) {
  EnsureSodium();
  Secret<32> prk;
  crypto_generichash(prk.data(), prk.size(), shared_secret.data(), shared_secret.size(),
                     transcript_hash.data(), transcript_hash.size());
  return prk;
}

CallKeys DeriveCallKeys(const Secret<32>& prk, Role role) {
  EnsureSodium();
  DirectionKeys media_ab = Direction(prk, kMediaChainCallerToCallee, kMediaHeaderCallerToCallee);
  DirectionKeys media_ba = Direction(prk, kMediaChainCalleeToCaller, kMediaHeaderCalleeToCaller);
  DirectionKeys control_ab = Direction(prk, kControlChainCallerToCallee, kControlHeaderCallerToCallee);
  DirectionKeys control_ba = Direction(prk, kControlChainCalleeToCaller, kControlHeaderCalleeToCaller);
  Secret<32> fingerprint_secret = Derive(prk, kFingerprint);
  const bool caller = role == Role::kCaller;
  CallKeys keys;
  keys.media.send = caller ? media_ab : media_ba;
  keys.media.receive = caller ? media_ba : media_ab;
  keys.control.send = caller ? control_ab : control_ba;
  keys.control.receive = caller ? control_ba : control_ab;
  keys.fingerprint = Fingerprint::FromSecret(fingerprint_secret.span());
  return keys;
}

}  // namespace parley::crypto
