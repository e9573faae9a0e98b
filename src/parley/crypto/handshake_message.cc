// Encoding and strict parsing of the key-agreement messages.
#include "parley/crypto/handshake_message.h"

#include <algorithm>
#include <string>

#include "parley/base/check.h"

namespace parley::crypto {
namespace {

bool HasIdentity(HandshakeType type) { return type != HandshakeType::kReveal; }

std::size_t SizeOf(HandshakeType type) {
  return type == HandshakeType::kReveal ? kRevealSize : kCommitSize;
}

}  // namespace

std::vector<uint8_t> SerializeHandshakeMessage(const HandshakeMessage& m) {
  std::vector<uint8_t> out;
  out.reserve(SizeOf(m.type));
  out.push_back(kHandshakeVersion);
  out.push_back(static_cast<uint8_t>(m.type));
  out.insert(out.end(), m.call_id.begin(), m.call_id.end());
  if (HasIdentity(m.type)) out.insert(out.end(), m.identity.begin(), m.identity.end());
  out.insert(out.end(), m.key.begin(), m.key.end());
  out.insert(out.end(), m.signature.begin(), m.signature.end());
  PARLEY_CHECK(out.size() == SizeOf(m.type));
  return out;
}

Result<HandshakeMessage> ParseHandshakeMessage(std::span<const uint8_t> bytes) {
  if (bytes.size() < 2) return Error{"handshake message too short (" + std::to_string(bytes.size()) + " bytes)"};
  if (bytes[0] != kHandshakeVersion) {
    return Error{"handshake message has version " + std::to_string(bytes[0]) + ", this Parley speaks " +
                 std::to_string(kHandshakeVersion) + "; the peer may need to update"};
  }
  if (bytes[1] < 1 || bytes[1] > 3) {
    return Error{"unknown handshake message type " + std::to_string(bytes[1])};
  }
  HandshakeMessage m;
  m.type = static_cast<HandshakeType>(bytes[1]);
  if (bytes.size() != SizeOf(m.type)) {
    return Error{"handshake message of type " + std::to_string(bytes[1]) + " must be " +
                 std::to_string(SizeOf(m.type)) + " bytes, got " + std::to_string(bytes.size())};
  }
  auto take = [&bytes](auto& field, std::size_t offset) {
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), field.size(), field.begin());
    return offset + field.size();
  };
  std::size_t at = take(m.call_id, 2);
  if (HasIdentity(m.type)) at = take(m.identity, at);
  at = take(m.key, at);
  at = take(m.signature, at);
  PARLEY_CHECK(at == bytes.size());
  return m;
}

std::span<const uint8_t> SignedPrefix(std::span<const uint8_t> encoded) {
  PARLEY_CHECK(encoded.size() >= 64);
  return encoded.first(encoded.size() - 64);
}

}  // namespace parley::crypto
