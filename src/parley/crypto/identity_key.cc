// Ed25519 identity keys (RFC 8032) through libsodium's crypto_sign, and their file.
#include "parley/crypto/identity_key.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "parley/crypto/encoding.h"
#include "parley/crypto/profile_files.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {
namespace {

constexpr std::string_view kFileHeader = "parley-identity-key 1";
constexpr std::string_view kSeedPrefix = "seed ";
constexpr std::string_view kPublicPrefix = "public ";
constexpr std::size_t kMaxFileSize = 1024;

// Splits on '\n'; a final newline is optional. '\r' is not accepted.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

}  // namespace

IdentityKey IdentityKey::FromSeed(std::span<const uint8_t, 32> seed) {
  EnsureSodium();
  IdentityKey key;
  key.seed_ = Secret<32>(seed);
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_key_.data(), key.seed_.data());
  return key;
}

IdentityKey IdentityKey::Generate(KeySource& keys) {
  Secret<32> seed;
  keys.Fill(seed.span());
  return FromSeed(seed.span());
}

Signature IdentityKey::Sign(std::span<const uint8_t> message) const {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return signature;
}

bool IdentityKey::Verify(const IdentityPublicKey& key, std::span<const uint8_t> message,
                         const Signature& signature) {
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.data()) == 0;
}

std::string IdentityKey::SerializeFile() const {
  std::string text(kFileHeader);
  text += "\n";
  text += kSeedPrefix;
  // Hex of the seed: the only place a secret is turned into text, for the 0600 file.
  std::string seed_hex(seed_.size() * 2 + 1, '\0');
  sodium_bin2hex(seed_hex.data(), seed_hex.size(), seed_.data(), seed_.size());
  seed_hex.pop_back();
  text += seed_hex;
  sodium_memzero(seed_hex.data(), seed_hex.size());
  text += "\n";
  text += kPublicPrefix;
  text += ToHex(public_key_);
  text += "\n";
  return text;
}

Result<IdentityKey> IdentityKey::ParseFile(std::string_view text) {
  const std::string what = "identity key file: ";
  if (text.size() > kMaxFileSize) return Error{what + "too large"};
  auto lines = Lines(text);
  if (lines.empty() || lines[0] != kFileHeader) {
    return Error{what + "first line must be \"" + std::string(kFileHeader) + "\""};
  }
  if (lines.size() != 3) return Error{what + "expected 3 lines (header, seed, public)"};
  if (!lines[1].starts_with(kSeedPrefix)) return Error{what + "line 2 must start with \"seed \""};
  if (!lines[2].starts_with(kPublicPrefix)) return Error{what + "line 3 must start with \"public \""};
  auto seed = FromHex(lines[1].substr(kSeedPrefix.size()));
  if (!seed.ok() || seed->size() != 32) return Error{what + "the seed must be 64 hex digits"};
  auto public_key = FromHex(lines[2].substr(kPublicPrefix.size()));
  if (!public_key.ok() || public_key->size() != 32) {
    return Error{what + "the public key must be 64 hex digits"};
  }
  IdentityKey key = FromSeed(std::span<const uint8_t, 32>(seed->data(), 32));
  sodium_memzero(seed->data(), seed->size());
  // The public key is redundant on purpose: a mismatch means the file was damaged.
  if (sodium_memcmp(key.public_key_.data(), public_key->data(), 32) != 0) {
    return Error{what + "the public key does not belong to the seed; the file is damaged"};
  }
  return key;
}

Result<IdentityKey> IdentityKey::LoadOrCreate(const std::filesystem::path& profile_dir, KeySource& keys) {
  if (auto status = EnsurePrivateDirectory(profile_dir); !status.ok()) return status.error();
  const std::filesystem::path path = profile_dir / kFileName;
  bool not_found = false;
  auto text = ReadSmallFile(path, kMaxFileSize, &not_found);
  if (!text.ok()) {
    if (!not_found) return text.error();
    IdentityKey key = Generate(keys);
    std::string contents = key.SerializeFile();
    Status written = WriteFileAtomically(path, contents);
    sodium_memzero(contents.data(), contents.size());
    if (!written.ok()) return written.error();
    return key;
  }
  if (auto status = CheckOwnerOnly(path); !status.ok()) return status.error();
  auto key = ParseFile(*text);
  sodium_memzero(text->data(), text->size());
  if (!key.ok()) return Error{path.string() + ": " + key.error().message};
  return key;
}

}  // namespace parley::crypto
