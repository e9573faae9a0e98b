// A device's long-term Ed25519 identity key: signs the key-agreement messages of every
// call, and is what the peer remembers (trust on first use) and verifies.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "parley/base/result.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/secret.h"

namespace parley::crypto {

using IdentityPublicKey = std::array<uint8_t, 32>;  // Ed25519 public key (RFC 8032)
using Signature = std::array<uint8_t, 64>;          // Ed25519 signature

// Owns the secret key; wiped on destruction. Movable, not copyable, so the secret has
// one owner. Pure except for the file functions, which any thread may call for a
// profile directory no other process is writing.
class IdentityKey {
 public:
  // The 32-byte RFC 8032 seed is the whole secret (crypto_sign_seed_keypair).
  static IdentityKey FromSeed(std::span<const uint8_t, 32> seed);
  static IdentityKey Generate(KeySource& keys);

  IdentityKey(IdentityKey&&) = default;
  IdentityKey& operator=(IdentityKey&&) = default;
  IdentityKey(const IdentityKey&) = delete;
  IdentityKey& operator=(const IdentityKey&) = delete;

  const IdentityPublicKey& public_key() const { return public_key_; }
  Signature Sign(std::span<const uint8_t> message) const;
  // Strict RFC 8032 verification as libsodium does it: rejects small-order and
  // non-canonical public keys and non-canonical signatures.
  static bool Verify(const IdentityPublicKey& key, std::span<const uint8_t> message,
                     const Signature& signature);

  // Profile file "identity_key" (docs/protocol.md, "Identity store files").
  static constexpr std::string_view kFileName = "identity_key";
  std::string SerializeFile() const;
  // Parses the file's text; every failure names what is wrong. Outside input: fuzzed.
  static Result<IdentityKey> ParseFile(std::string_view text);
  // Loads PROFILE/identity_key, or creates it (and PROFILE, mode 0700) with a fresh
  // key from `keys` if it does not exist. Refuses a key file that group or others may
  // read, as ssh does, because a copied identity key lets its holder impersonate us.
  static Result<IdentityKey> LoadOrCreate(const std::filesystem::path& profile_dir, KeySource& keys);

 private:
  IdentityKey() = default;
  Secret<32> seed_;
  Secret<64> secret_key_;  // libsodium's expanded form: seed || public key
  IdentityPublicKey public_key_{};
};

}  // namespace parley::crypto
