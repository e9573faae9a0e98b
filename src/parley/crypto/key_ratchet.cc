// Symmetric key ratchet: chain_key(e+1) = KDF(chain_key(e), 0), keys(e) = KDF(chain_key(e), 1..2),
// with crypto_kdf_derive_from_key (BLAKE2b) and context "ParleyRK".
#include "parley/crypto/key_ratchet.h"

#include <sodium.h>

#include "parley/base/check.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {
namespace {
constexpr char kContext[crypto_kdf_CONTEXTBYTES + 1] = "ParleyRK";
constexpr uint64_t kNextChainKeyId = 0;
constexpr uint64_t kAeadKeyId = 1;
constexpr uint64_t kNoncePrefixId = 2;
}  // namespace

KeyRatchet::KeyRatchet(const Secret<32>& chain_key) : next_chain_key_(chain_key) {
  EnsureSodium();
  DeriveCurrent();
}

void KeyRatchet::DeriveCurrent() {
  // next_chain_key_ holds chain key `epoch_` here; afterwards it holds epoch_ + 1.
  Secret<32> chain_key = std::move(next_chain_key_);
  crypto_kdf_derive_from_key(keys_.aead_key.data(), keys_.aead_key.size(), kAeadKeyId, kContext, chain_key.data());
  crypto_kdf_derive_from_key(keys_.nonce_prefix.data(), keys_.nonce_prefix.size(), kNoncePrefixId, kContext,
                             chain_key.data());
  crypto_kdf_derive_from_key(next_chain_key_.data(), next_chain_key_.size(), kNextChainKeyId, kContext,
                             chain_key.data());
  // chain_key is wiped by its destructor here.
}

void KeyRatchet::AdvanceTo(uint64_t epoch) {
  PARLEY_CHECK_MSG(epoch >= epoch_, "a key ratchet never moves backwards");
  while (epoch_ < epoch) {
    ++epoch_;
    DeriveCurrent();
  }
}

}  // namespace parley::crypto
