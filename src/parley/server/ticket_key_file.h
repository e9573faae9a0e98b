// relay.ticket_key_file: the relay ticket key that every signaling node and relay of one
// community shares (docs/protocol.md, "Relay (obfuscated UDP)": any relay holding it
// accepts the node's tickets and derives the same hop and bind keys).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "parley/base/result.h"
#include "parley/crypto/secret.h"

namespace parley::server {

// The file's contents: exactly 32 bytes (raw), or 32 bytes as base64 or base64url text
// (padding optional) with surrounding whitespace allowed. `path` names the file in
// errors, which are one sentence saying how to make a good one.
Result<crypto::Secret<32>> ParseTicketKeyFile(std::span<const uint8_t> contents, const std::string& path);

// Reads and parses the file (at most 4 KiB are read).
Result<crypto::Secret<32>> ReadTicketKeyFile(const std::string& path);

}  // namespace parley::server
