// Length edge cases (issue #7) for the server's binary parsers: the node-bus records'
// length-prefixed fields (what Redis hands back) and the relay ticket's size. Each
// table sets a length to 0, 1, remaining - 1, remaining, remaining + 1 and its type's
// maximum and expects the exact error sentence (or success).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "parley/server/node_bus_codec.h"
#include "parley/server/relay_ticket.h"

#include "../length_case.h"

namespace parley::server {
namespace {

using test::ExpectOutcome;
using test::LengthCase;

// Writes `value` big-endian over `width` bytes at `at`.
void SetBig(std::vector<uint8_t>& bytes, std::size_t at, std::size_t width, uint64_t value) {
  for (std::size_t i = 0; i < width; ++i) {
    bytes[at + i] = static_cast<uint8_t>(value >> (8 * (width - 1 - i)));
  }
}

const std::string kEnvelope = "A node envelope from the node bus ";

// version, type, kind, flags, connection (8), "east", "alice", "laptop", text "hello".
NodeEnvelope SampleEnvelope() {
  NodeEnvelope e;
  e.kind = NodeEnvelope::Kind::kFromParty;
  e.from_node = "east";
  e.connection = 9;
  e.user = "alice";
  e.device = "laptop";
  e.text = "hello";
  return e;
}
constexpr std::size_t kUserLengthAt = 2 + 2 + 8 + 1 + 4;          // 17
constexpr std::size_t kAfterUserLength = 5 + 1 + 6 + 4 + 5;       // 21 bytes follow it
constexpr std::size_t kTextLengthAt = kUserLengthAt + 1 + 5 + 1 + 6;  // 30

// A length in the middle of the record: a wrong one makes the next field read from the
// wrong bytes, and the error names the field where that becomes visible.
TEST(ServerLengthFieldsTest, NodeEnvelopeUserLength) {
  const std::vector<uint8_t> valid = EncodeNodeEnvelope(SampleEnvelope());
  ASSERT_EQ(valid[kUserLengthAt], 5);
  ASSERT_EQ(valid.size(), kUserLengthAt + 1 + kAfterUserLength);
  const std::vector<LengthCase> cases = {
      // "alice" read as a device length: 'a' = 97.
      {"0", 0, kEnvelope + "has a device of 97 bytes (at most 64)."},
      {"1", 1, kEnvelope + "has a device of 108 bytes (at most 64)."},  // 'l'
      {"remaining - 1", kAfterUserLength - 1, kEnvelope + "has a device of 111 bytes (at most 64)."},  // 'o'
      {"remaining", kAfterUserLength, kEnvelope + "is truncated in its device."},
      {"remaining + 1", kAfterUserLength + 1, kEnvelope + "is truncated in its user."},
      {"field maximum + 1", kMaxBusNameBytes + 1, kEnvelope + "has a user of 65 bytes (at most 64)."},
      {"u8 maximum", 255, kEnvelope + "has a user of 255 bytes (at most 64)."},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> bytes = valid;
    SetBig(bytes, kUserLengthAt, 1, c.length);
    ExpectOutcome(DecodeNodeEnvelope(bytes), c);
  }
}

// The last field (u32 text length): what follows it is exactly the text.
TEST(ServerLengthFieldsTest, NodeEnvelopeTextLength) {
  const std::vector<uint8_t> valid = EncodeNodeEnvelope(SampleEnvelope());
  ASSERT_EQ(valid.size(), kTextLengthAt + 4 + 5);
  const std::vector<LengthCase> cases = {
      {"0", 0, kEnvelope + "has 5 bytes after its last field."},
      {"1", 1, kEnvelope + "has 4 bytes after its last field."},
      {"remaining - 1", 4, kEnvelope + "has 1 bytes after its last field."},
      {"remaining", 5, ""},
      {"remaining + 1", 6, kEnvelope + "is truncated in its text."},
      {"field maximum", kMaxBusTextBytes, kEnvelope + "is truncated in its text."},
      {"field maximum + 1", kMaxBusTextBytes + 1, kEnvelope + "has a text of 65537 bytes (at most 65536)."},
      {"u32 maximum", UINT32_MAX, kEnvelope + "has a text of 4294967295 bytes (at most 65536)."},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> bytes = valid;
    SetBig(bytes, kTextLengthAt, 4, c.length);
    const auto decoded = DecodeNodeEnvelope(bytes);
    ExpectOutcome(decoded, c);
    if (decoded.ok()) {
      EXPECT_EQ(*decoded, SampleEnvelope());
    }
  }
}

// The record's own size: cut after 0, 1, ... bytes, or one byte too long.
TEST(ServerLengthFieldsTest, NodeEnvelopeRecordSize) {
  const std::vector<uint8_t> valid = EncodeNodeEnvelope(SampleEnvelope());
  const std::vector<LengthCase> cases = {
      {"0", 0, kEnvelope + "is empty."},
      {"1", 1, kEnvelope + "is truncated after its version byte."},
      {"2 (header only)", 2, kEnvelope + "is truncated in its kind."},
      {"size - 1", valid.size() - 1, kEnvelope + "is truncated in its text."},
      {"size", valid.size(), ""},
      {"size + 1", valid.size() + 1, kEnvelope + "has 1 bytes after its last field."},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> bytes = valid;
    bytes.resize(c.length, 0);
    ExpectOutcome(DecodeNodeEnvelope(bytes), c);
  }
}

// A presence record's node id (u8 length, 1..64 bytes of a restricted alphabet) is
// followed by the device ("laptop": 7 bytes with its length).
TEST(ServerLengthFieldsTest, PresenceNodeLength) {
  const std::string kPresence = "A presence record from the node bus ";
  PresenceRecord record;
  record.node = "west";
  record.connection = 3;
  record.device = "laptop";
  const std::vector<uint8_t> valid = EncodePresenceRecord(record);
  constexpr std::size_t kNodeLengthAt = 2 + 8 + 8;  // version, type, login time, connection
  constexpr std::size_t kAfter = 4 + 1 + 6;  // 11
  ASSERT_EQ(valid.size(), kNodeLengthAt + 1 + kAfter);
  const std::string bad_id = kPresence + "has a node that is not 1-64 characters of A-Z a-z 0-9 _ . -.";
  const std::vector<LengthCase> cases = {
      {"0", 0, bad_id},
      {"1", 1, kPresence + "has a device of 101 bytes (at most 64)."},  // "est" read on: 'e'
      {"remaining - 1", kAfter - 1, bad_id},  // the device's length byte (6) is in the id
      {"remaining", kAfter, bad_id},
      {"remaining + 1", kAfter + 1, kPresence + "is truncated in its node."},
      {"u8 maximum", 255, kPresence + "has a node of 255 bytes (at most 64)."},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> bytes = valid;
    SetBig(bytes, kNodeLengthAt, 1, c.length);
    ExpectOutcome(DecodePresenceRecord(bytes), c);
  }
}

// A relay record's host (u8 length, at most 255: the type's maximum is the field's).
TEST(ServerLengthFieldsTest, RelayHostLength) {
  const std::string kRelay = "A relay record from the node bus ";
  RelayRecord relay;
  relay.id = "r1";
  relay.host = "relay.example";
  relay.port = 4433;
  relay.calls = 2;
  relay.capacity = 100;
  const std::vector<uint8_t> valid = EncodeRelayRecord(relay);
  constexpr std::size_t kHostLengthAt = 2 + 1 + 2;
  constexpr std::size_t kAfter = 13 + 2 + 4 + 4;  // 23
  ASSERT_EQ(valid.size(), kHostLengthAt + 1 + kAfter);
  const std::vector<LengthCase> cases = {
      {"0", 0, kRelay + "has an empty host."},
      {"1", 1, kRelay + "has 12 bytes after its last field."},
      {"remaining - 1", kAfter - 1, kRelay + "is truncated in its port."},
      {"remaining", kAfter, kRelay + "is truncated in its port."},
      {"remaining + 1", kAfter + 1, kRelay + "is truncated in its host."},
      {"u8 maximum", 255, kRelay + "is truncated in its host."},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> bytes = valid;
    SetBig(bytes, kHostLengthAt, 1, c.length);
    ExpectOutcome(DecodeRelayRecord(bytes), c);
  }
}

// A relay ticket has one size (73 bytes); its length is the bind's or the URL's.
TEST(ServerLengthFieldsTest, RelayTicketSize) {
  std::array<uint8_t, 32> key{};
  key.fill(7);
  const RelayTicketIssuer issuer(key);
  RelayTicketClaims claims{};
  claims.participant = 1;
  claims.expires_unix_s = 2000;
  const std::vector<uint8_t> valid = issuer.Issue(claims);
  ASSERT_EQ(valid.size(), RelayTicketIssuer::kTicketSize);
  const auto wrong = [](std::size_t size) {
    return "The relay ticket is " + std::to_string(size) + " bytes, not 73: ask the server for a new ticket.";
  };
  const std::vector<LengthCase> cases = {
      {"0", 0, wrong(0)},
      {"1", 1, wrong(1)},
      {"size - 1", 72, wrong(72)},
      {"size", 73, ""},
      {"size + 1", 74, wrong(74)},
      {"u16 maximum", 65535, wrong(65535)},
  };
  for (const LengthCase& c : cases) {
    std::vector<uint8_t> bytes = valid;
    bytes.resize(c.length, 0);
    ExpectOutcome(issuer.Verify(bytes, 1000), c);
  }
}

}  // namespace
}  // namespace parley::server
