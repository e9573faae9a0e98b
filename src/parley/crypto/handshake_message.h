// The three key-agreement messages (commit, accept, reveal): their fields, binary
// encoding and parser. Byte layout: docs/protocol.md, "Key agreement messages".
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/crypto/identity_key.h"

namespace parley::crypto {

using CallId = std::array<uint8_t, 16>;
using X25519PublicKey = std::array<uint8_t, 32>;
using Commitment = std::array<uint8_t, 32>;

enum class HandshakeType : uint8_t {
  kCommit = 1,  // caller -> callee: identity key, commitment to the ephemeral key
  kAccept = 2,  // callee -> caller: identity key, ephemeral key
  kReveal = 3,  // caller -> callee: ephemeral key
};

// Handshake messages travel inside (TLS-protected) signaling, not on the media path,
// so they carry a version byte; media packets carry none.
inline constexpr uint8_t kHandshakeVersion = 1;
inline constexpr std::size_t kCommitSize = 1 + 1 + 16 + 32 + 32 + 64;  // 146
inline constexpr std::size_t kAcceptSize = kCommitSize;                // 146
inline constexpr std::size_t kRevealSize = 1 + 1 + 16 + 32 + 64;       // 114

struct HandshakeMessage {
  HandshakeType type = HandshakeType::kCommit;
  CallId call_id{};
  IdentityPublicKey identity{};  // commit and accept only; zero in reveal
  // commit: the commitment; accept: the callee's X25519 key; reveal: the caller's.
  std::array<uint8_t, 32> key{};
  Signature signature{};

  bool operator==(const HandshakeMessage&) const = default;
};

// Canonical: Parse(Serialize(m)) == m, and Serialize(Parse(b)) == b for every b
// Parse accepts. Parse checks structure only (version, type, exact length); the
// signature and keys are checked by KeyAgreement. Pure; any thread.
std::vector<uint8_t> SerializeHandshakeMessage(const HandshakeMessage& message);
Result<HandshakeMessage> ParseHandshakeMessage(std::span<const uint8_t> bytes);

// The bytes a message's signature covers are its encoding without the signature.
std::span<const uint8_t> SignedPrefix(std::span<const uint8_t> encoded);

}  // namespace parley::crypto
