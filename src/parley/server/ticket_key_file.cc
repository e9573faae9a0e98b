// The shared ticket key file: raw 32 bytes or their base64 text.
#include "parley/server/ticket_key_file.h"

#include <fstream>
#include <iterator>
#include <string_view>
#include <vector>

#include "parley/crypto/encoding.h"

namespace parley::server {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxFileBytes = 4096;

bool IsSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Error Bad(const std::string& path, const std::string& what) {
  return Error{"The ticket key file " + path + " " + what +
               "; it must hold the 32-byte key, raw or as base64 (make one with "
               "`head -c 32 /dev/urandom | base64 > FILE`) and be the same on every node and relay."};
}

}  // namespace

Result<crypto::Secret<32>> ParseTicketKeyFile(std::span<const uint8_t> contents, const std::string& path) {
  if (contents.size() == kKeyBytes) return crypto::Secret<32>(contents.first<kKeyBytes>());
  std::size_t begin = 0, end = contents.size();
  while (begin < end && IsSpace(contents[begin])) ++begin;
  while (end > begin && IsSpace(contents[end - 1])) --end;
  if (begin == end) return Bad(path, "is empty");
  if (end - begin > 100) return Bad(path, "is too long for a key");
  // Standard base64 as `base64` writes it, or base64url: both to strict base64url.
  std::string text;
  for (std::size_t i = begin; i < end; ++i) {
    const char c = static_cast<char>(contents[i]);
    if (c == '=') {
      if (i + 1 < end && contents[i + 1] != '=') return Bad(path, "has '=' padding before the end");
      continue;
    }
    text += c == '+' ? '-' : c == '/' ? '_' : c;
  }
  auto decoded = crypto::FromBase64(text);
  if (!decoded) return Bad(path, "is neither 32 raw bytes nor base64 text");
  if (decoded->size() != kKeyBytes) {
    return Bad(path, "holds " + std::to_string(decoded->size()) + " bytes of base64, not 32");
  }
  return crypto::Secret<32>(std::span<const uint8_t, kKeyBytes>(decoded->data(), kKeyBytes));
}

Result<crypto::Secret<32>> ReadTicketKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"Cannot read the ticket key file " + path +
                 " (relay.ticket_key_file); check the path and that parleyd may read it."};
  }
  std::vector<uint8_t> bytes;
  bytes.reserve(kMaxFileBytes);
  char c = 0;
  while (bytes.size() <= kMaxFileBytes && in.get(c)) bytes.push_back(static_cast<uint8_t>(c));
  if (bytes.size() > kMaxFileBytes) return Bad(path, "is too long for a key");
  return ParseTicketKeyFile(bytes, path);
}

}  // namespace parley::server
