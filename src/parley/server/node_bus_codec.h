// The bytes parleyd nodes exchange through Redis: NodeEnvelope, PresenceRecord and
// RelayRecord as compact, versioned binary records (docs/protocol.md, "Between nodes (Redis)").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/server/node_bus.h"

namespace parley::server {

// Why binary and not JSON: `text` is itself a JSON signaling message, which JSON would
// have to escape; a fixed field order gives one encoding per value, so a record read back
// from Redis compares equal byte for byte (compare-and-delete scripts rely on that).
// Version 2: the presence record carries its login time (version 1 had none).
inline constexpr uint8_t kNodeBusFormatVersion = 2;
inline constexpr std::size_t kMaxNodeIdBytes = 64;       // NodeBus::node_id(): [A-Za-z0-9_.-]
inline constexpr std::size_t kMaxBusNameBytes = 64;      // user, device, relay id
inline constexpr std::size_t kMaxBusHostBytes = 255;     // relay host
inline constexpr std::size_t kMaxBusTextBytes = 64 * 1024;  // signal::kMaxMessageBytes

// True if `id` is 1..64 bytes of [A-Za-z0-9_.-] (a node id, also used in Redis keys).
bool IsValidNodeId(std::string_view id);

// Encoders check the same limits as the decoders (a caller's broken invariant aborts):
// whatever they return decodes back to an equal value.
std::vector<uint8_t> EncodeNodeEnvelope(const NodeEnvelope& envelope);
std::vector<uint8_t> EncodePresenceRecord(const PresenceRecord& record);
std::vector<uint8_t> EncodeRelayRecord(const RelayRecord& relay);

// Decoders take bytes from outside (Redis) and return one sentence saying what was
// wrong: unknown version, wrong record type, truncated, a field out of range, trailing bytes.
Result<NodeEnvelope> DecodeNodeEnvelope(std::span<const uint8_t> bytes);
Result<PresenceRecord> DecodePresenceRecord(std::span<const uint8_t> bytes);
Result<RelayRecord> DecodeRelayRecord(std::span<const uint8_t> bytes);

}  // namespace parley::server
