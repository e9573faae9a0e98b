// The relay's plain UDP framing (issue #4): bind and data packets from clients, parsed
// apart from the session table so issue #5 can swap in an obfuscated framing. Shared by
// the relay (server) and the client's RelayTransport, hence in net.
// docs/protocol.md, "Relay (plain UDP framing)".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"

namespace parley::net {

// What a client sends to the relay (all lengths in bytes):
//   bind = 0x01 || ticket_length (1, 1..255) || ticket || sealed (empty or 25..1200)
//   data = 0x02 || session_token (8) || sealed (25..1200)
// The relay forwards only `sealed`, unchanged, to the other participant: what a
// client receives from the relay is always exactly one sealed packet.
inline constexpr uint8_t kRelayBindType = 0x01;
inline constexpr uint8_t kRelayDataType = 0x02;
inline constexpr std::size_t kRelayTokenSize = 8;
inline constexpr std::size_t kMinSealedSize = 25;    // docs/protocol.md, "Sealed packet"
inline constexpr std::size_t kMaxSealedSize = 1200;
inline constexpr std::size_t kMaxTicketSize = 255;
// The largest packet a client may send the relay: a bind with the longest ticket and
// the largest sealed packet.
inline constexpr std::size_t kMaxRelayPacketSize = 2 + kMaxTicketSize + kMaxSealedSize;

// Identifies one participant's session in data packets so the 65-byte ticket is sent
// only in binds. Opaque: compared and hashed as an integer in host byte order.
using RelaySessionToken = uint64_t;

// The token a ticket stands for: the first 8 bytes of keyed BLAKE2b (key: the ASCII
// string "parley relay session token", input: the whole ticket), read as they are in
// memory. Client and relay both compute it; it reveals nothing about the ticket's claims.
RelaySessionToken SessionTokenFor(std::span<const uint8_t> ticket);

enum class RelayPacketKind : uint8_t { kBind, kData };

// A parsed packet. The spans point into the buffer given to ParseRelayPacket and live
// as long as it does.
struct RelayPacketView {
  RelayPacketKind kind;
  std::span<const uint8_t> ticket;   // bind only
  RelaySessionToken token = 0;       // data only
  std::span<const uint8_t> sealed;   // what the relay forwards; empty only in a bind
};

// Parses one datagram. Errors are one sentence naming what is wrong; the relay drops
// such packets without answering. Allocates only on error.
Result<RelayPacketView> ParseRelayPacket(std::span<const uint8_t> datagram);

// Encoders for clients, tests and the load generator. `sealed` must be empty (bind
// only) or 25..1200 bytes and `ticket` 1..255 bytes; violations are programming errors.
std::vector<uint8_t> MakeRelayBindPacket(std::span<const uint8_t> ticket, std::span<const uint8_t> sealed);
std::vector<uint8_t> MakeRelayDataPacket(RelaySessionToken token, std::span<const uint8_t> sealed);

}  // namespace parley::net
