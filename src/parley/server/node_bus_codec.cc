// Binary records between parleyd nodes: docs/protocol.md, "Between nodes (Redis)".
#include "parley/server/node_bus_codec.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "parley/base/check.h"

namespace parley::server {
namespace {

enum class RecordType : uint8_t { kEnvelope = 1, kPresence = 2, kRelay = 3 };

constexpr uint8_t kFlagHasCall = 0x01;
constexpr uint8_t kFlagEndsCall = 0x02;
constexpr uint8_t kKnownFlags = kFlagHasCall | kFlagEndsCall;

bool IsNodeIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

// Appends big-endian integers and length-prefixed strings.
class RecordWriter {
 public:
  RecordWriter(RecordType type) { bytes_ = {kNodeBusFormatVersion, static_cast<uint8_t>(type)}; }
  void U8(uint8_t v) { bytes_.push_back(v); }
  void U16(uint16_t v) { Big(v, 2); }
  void U32(uint32_t v) { Big(v, 4); }
  void U64(uint64_t v) { Big(v, 8); }
  void String8(std::string_view s) {
    PARLEY_CHECK(s.size() <= 255);
    U8(static_cast<uint8_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void String32(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void Raw(std::span<const uint8_t> raw) { bytes_.insert(bytes_.end(), raw.begin(), raw.end()); }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  void Big(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

// Reads what RecordWriter wrote; the first failure is kept as `error` and later reads are no-ops.
class RecordReader {
 public:
  RecordReader(std::span<const uint8_t> bytes, const char* what) : bytes_(bytes), what_(what) {}

  bool Header(RecordType expected) {
    if (bytes_.empty()) return Fail("is empty");
    if (bytes_[0] != kNodeBusFormatVersion) {
      return Fail("has format version " + std::to_string(bytes_[0]) + " but this parleyd reads only version " +
                  std::to_string(kNodeBusFormatVersion) + " (run the same parleyd version on every node)");
    }
    if (bytes_.size() < 2) return Fail("is truncated after its version byte");
    if (bytes_[1] != static_cast<uint8_t>(expected)) {
      return Fail("has record type " + std::to_string(bytes_[1]) + " where type " +
                  std::to_string(static_cast<int>(expected)) + " was expected");
    }
    pos_ = 2;
    return true;
  }
  uint8_t U8(const char* field) { return static_cast<uint8_t>(Big(1, field)); }
  uint16_t U16(const char* field) { return static_cast<uint16_t>(Big(2, field)); }
  uint32_t U32(const char* field) { return static_cast<uint32_t>(Big(4, field)); }
  uint64_t U64(const char* field) { return Big(8, field); }
  std::string String8(const char* field, std::size_t max_bytes) {
    std::size_t size = U8(field);
    return Bytes(size, max_bytes, field);
  }
  std::string String32(const char* field, std::size_t max_bytes) {
    std::size_t size = U32(field);
    return Bytes(size, max_bytes, field);
  }
  template <std::size_t N>
  void Raw(std::array<uint8_t, N>& out, const char* field) {
    if (!Need(N, field)) return;
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_), N, out.begin());
    pos_ += N;
  }
  bool Fail(const std::string& why) {
    if (error_.empty()) error_ = std::string("A ") + what_ + " from the node bus " + why + ".";
    return false;
  }
  // The error, if any, including trailing bytes after a complete record.
  std::optional<Error> Finish() {
    if (error_.empty() && pos_ != bytes_.size()) {
      Fail("has " + std::to_string(bytes_.size() - pos_) + " bytes after its last field");
    }
    if (error_.empty()) return std::nullopt;
    return Error{error_};
  }
  bool failed() const { return !error_.empty(); }

 private:
  bool Need(std::size_t n, const char* field) {
    if (!error_.empty()) return false;
    if (bytes_.size() - pos_ < n) return Fail(std::string("is truncated in its ") + field);
    return true;
  }
  uint64_t Big(std::size_t width, const char* field) {
    if (!Need(width, field)) return 0;
    uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | bytes_[pos_ + i];
    pos_ += width;
    return v;
  }
  std::string Bytes(std::size_t size, std::size_t max_bytes, const char* field) {
    if (!error_.empty()) return {};
    if (size > max_bytes) {
      Fail(std::string("has a ") + field + " of " + std::to_string(size) + " bytes (at most " +
           std::to_string(max_bytes) + ")");
      return {};
    }
    if (!Need(size, field)) return {};
    std::string out(reinterpret_cast<const char*>(bytes_.data() + pos_), size);
    pos_ += size;
    return out;
  }

  std::span<const uint8_t> bytes_;
  const char* what_;
  std::size_t pos_ = 0;
  std::string error_;
};

void CheckNodeId(RecordReader& reader, const std::string& id, const char* field) {
  if (!reader.failed() && !IsValidNodeId(id)) {
    reader.Fail(std::string("has a ") + field + " that is not 1-64 characters of A-Z a-z 0-9 _ . -");
  }
}

}  // namespace

bool IsValidNodeId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxNodeIdBytes && std::all_of(id.begin(), id.end(), IsNodeIdChar);
}

std::vector<uint8_t> EncodeNodeEnvelope(const NodeEnvelope& envelope) {
  PARLEY_CHECK(IsValidNodeId(envelope.from_node));
  PARLEY_CHECK(envelope.user.size() <= kMaxBusNameBytes && envelope.device.size() <= kMaxBusNameBytes);
  PARLEY_CHECK(envelope.text.size() <= kMaxBusTextBytes);
  RecordWriter writer(RecordType::kEnvelope);
  writer.U8(static_cast<uint8_t>(envelope.kind));
  writer.U8(static_cast<uint8_t>((envelope.call ? kFlagHasCall : 0) | (envelope.ends_call ? kFlagEndsCall : 0)));
  writer.U64(envelope.connection);
  writer.String8(envelope.from_node);
  writer.String8(envelope.user);
  writer.String8(envelope.device);
  if (envelope.call) writer.Raw(*envelope.call);
  writer.String32(envelope.text);
  return writer.Take();
}

Result<NodeEnvelope> DecodeNodeEnvelope(std::span<const uint8_t> bytes) {
  RecordReader reader(bytes, "node envelope");
  NodeEnvelope envelope;
  if (reader.Header(RecordType::kEnvelope)) {
    uint8_t kind = reader.U8("kind");
    if (!reader.failed() && (kind < 1 || kind > 5)) reader.Fail("has unknown kind " + std::to_string(kind));
    envelope.kind = static_cast<NodeEnvelope::Kind>(kind);
    uint8_t flags = reader.U8("flags");
    if (!reader.failed() && (flags & ~kKnownFlags) != 0) reader.Fail("has unknown flag bits set");
    envelope.ends_call = (flags & kFlagEndsCall) != 0;
    envelope.connection = reader.U64("connection");
    envelope.from_node = reader.String8("sending node", kMaxNodeIdBytes);
    CheckNodeId(reader, envelope.from_node, "sending node");
    envelope.user = reader.String8("user", kMaxBusNameBytes);
    envelope.device = reader.String8("device", kMaxBusNameBytes);
    if (flags & kFlagHasCall) {
      signal::CallId call{};
      reader.Raw(call, "call id");
      envelope.call = call;
    }
    envelope.text = reader.String32("text", kMaxBusTextBytes);
  }
  if (auto error = reader.Finish()) return *error;
  return envelope;
}

std::vector<uint8_t> EncodePresenceRecord(const PresenceRecord& record) {
  PARLEY_CHECK(IsValidNodeId(record.node));
  PARLEY_CHECK(record.device.size() <= kMaxBusNameBytes);
  PARLEY_CHECK(record.login_unix_ms >= 0);
  RecordWriter writer(RecordType::kPresence);
  // The login time first: RedisNodeBus's login script reads it (and the connection and
  // node after it) at these fixed offsets to order logins.
  writer.U64(static_cast<uint64_t>(record.login_unix_ms));
  writer.U64(record.connection);
  writer.String8(record.node);
  writer.String8(record.device);
  return writer.Take();
}

Result<PresenceRecord> DecodePresenceRecord(std::span<const uint8_t> bytes) {
  RecordReader reader(bytes, "presence record");
  PresenceRecord record;
  if (reader.Header(RecordType::kPresence)) {
    const uint64_t login_unix_ms = reader.U64("login time");
    if (!reader.failed() && login_unix_ms > static_cast<uint64_t>(INT64_MAX)) {
      reader.Fail("has a login time out of range");
    }
    record.login_unix_ms = static_cast<int64_t>(login_unix_ms);
    record.connection = reader.U64("connection");
    record.node = reader.String8("node", kMaxNodeIdBytes);
    CheckNodeId(reader, record.node, "node");
    record.device = reader.String8("device", kMaxBusNameBytes);
  }
  if (auto error = reader.Finish()) return *error;
  return record;
}

std::vector<uint8_t> EncodeRelayRecord(const RelayRecord& relay) {
  PARLEY_CHECK(!relay.id.empty() && relay.id.size() <= kMaxBusNameBytes);
  PARLEY_CHECK(!relay.host.empty() && relay.host.size() <= kMaxBusHostBytes);
  PARLEY_CHECK(relay.port != 0);
  RecordWriter writer(RecordType::kRelay);
  writer.String8(relay.id);
  writer.String8(relay.host);
  writer.U16(relay.port);
  writer.U32(relay.calls);
  writer.U32(relay.capacity);
  return writer.Take();
}

Result<RelayRecord> DecodeRelayRecord(std::span<const uint8_t> bytes) {
  RecordReader reader(bytes, "relay record");
  RelayRecord relay;
  if (reader.Header(RecordType::kRelay)) {
    relay.id = reader.String8("relay id", kMaxBusNameBytes);
    if (!reader.failed() && relay.id.empty()) reader.Fail("has an empty relay id");
    relay.host = reader.String8("host", kMaxBusHostBytes);
    if (!reader.failed() && relay.host.empty()) reader.Fail("has an empty host");
    relay.port = reader.U16("port");
    if (!reader.failed() && relay.port == 0) reader.Fail("has port 0");
    relay.calls = reader.U32("call count");
    relay.capacity = reader.U32("capacity");
  }
  if (auto error = reader.Finish()) return *error;
  return relay;
}

}  // namespace parley::server
