// NodeBus records as bytes: round trips, one encoding per value, and each clear error.
#include "parley/server/node_bus_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::server {
namespace {

NodeEnvelope SampleEnvelope() {
  NodeEnvelope envelope;
  envelope.kind = NodeEnvelope::Kind::kFromParty;
  envelope.from_node = "node-a.1";
  envelope.connection = 0x0102030405060708ULL;
  envelope.user = "alice";
  envelope.device = "laptop";
  envelope.call = signal::CallId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  envelope.ends_call = true;
  envelope.text = R"({"type":"hangup","call_id":"AQIDBAUGBwgJCgsMDQ4PEA"})";
  return envelope;
}

std::string DecodeEnvelopeError(const std::vector<uint8_t>& bytes) {
  auto decoded = DecodeNodeEnvelope(bytes);
  EXPECT_FALSE(decoded.ok());
  return decoded.ok() ? "" : decoded.error().message;
}

TEST(NodeBusCodecTest, EnvelopeRoundTripsWithAndWithoutCall) {
  NodeEnvelope envelope = SampleEnvelope();
  auto decoded = DecodeNodeEnvelope(EncodeNodeEnvelope(envelope));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, envelope);

  envelope.call.reset();
  envelope.ends_call = false;
  envelope.kind = NodeEnvelope::Kind::kReplaced;
  envelope.text.clear();
  envelope.device.clear();
  decoded = DecodeNodeEnvelope(EncodeNodeEnvelope(envelope));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, envelope);
}

TEST(NodeBusCodecTest, EnvelopeLayoutIsFixed) {
  NodeEnvelope envelope;
  envelope.kind = NodeEnvelope::Kind::kDeliver;
  envelope.from_node = "n";
  envelope.connection = 7;
  envelope.user = "u";
  envelope.text = "{}";
  std::vector<uint8_t> expected = {2, 1,  // version, record type
                                   1, 0,  // kind, flags
                                   0, 0, 0, 0, 0, 0, 0, 7,  // connection
                                   1, 'n', 1, 'u', 0,        // from_node, user, device
                                   0, 0, 0, 2, '{', '}'};    // text
  EXPECT_EQ(EncodeNodeEnvelope(envelope), expected);
}

TEST(NodeBusCodecTest, EnvelopeErrorsSayWhatWasWrong) {
  const std::vector<uint8_t> good = EncodeNodeEnvelope(SampleEnvelope());
  EXPECT_EQ(DecodeEnvelopeError({}), "A node envelope from the node bus is empty.");
  std::vector<uint8_t> bytes = good;
  bytes[0] = 1;  // before presence records carried a login time
  EXPECT_NE(DecodeEnvelopeError(bytes).find("format version 1 but this parleyd reads only version 2"),
            std::string::npos);
  bytes = good;
  bytes[1] = 2;
  EXPECT_NE(DecodeEnvelopeError(bytes).find("record type 2 where type 1"), std::string::npos);
  bytes = good;
  bytes[2] = 9;
  EXPECT_NE(DecodeEnvelopeError(bytes).find("unknown kind 9"), std::string::npos);
  bytes[2] = 0;
  EXPECT_NE(DecodeEnvelopeError(bytes).find("unknown kind 0"), std::string::npos);
  bytes = good;
  bytes[3] |= 0x80;
  EXPECT_NE(DecodeEnvelopeError(bytes).find("unknown flag bits"), std::string::npos);
  bytes = good;
  bytes.push_back(0);
  EXPECT_NE(DecodeEnvelopeError(bytes).find("1 bytes after its last field"), std::string::npos);
  bytes = good;
  bytes.pop_back();
  EXPECT_NE(DecodeEnvelopeError(bytes).find("truncated in its text"), std::string::npos);
  bytes.resize(3);
  EXPECT_NE(DecodeEnvelopeError(bytes).find("truncated in its flags"), std::string::npos);
  bytes.resize(1);
  EXPECT_NE(DecodeEnvelopeError(bytes).find("truncated after its version byte"), std::string::npos);
  // The sending node must be a valid node id: here "node-a.1" becomes "node a.1".
  bytes = good;
  bytes[12 + 1 + 4] = ' ';
  EXPECT_NE(DecodeEnvelopeError(bytes).find("sending node that is not"), std::string::npos);
  // The call flag set where no call id follows.
  NodeEnvelope envelope = SampleEnvelope();
  envelope.call.reset();
  bytes = EncodeNodeEnvelope(envelope);
  bytes[3] |= 0x01;  // says a call id follows where the text length is
  EXPECT_FALSE(DecodeNodeEnvelope(bytes).ok());
}

TEST(NodeBusCodecTest, EnvelopeFieldsOverTheirLimitsAreRefused) {
  NodeEnvelope envelope = SampleEnvelope();
  std::vector<uint8_t> bytes = EncodeNodeEnvelope(envelope);
  // The user field's length byte sits after version, type, kind, flags, connection and from_node.
  std::size_t user_length_at = 2 + 2 + 8 + 1 + envelope.from_node.size();
  ASSERT_EQ(bytes[user_length_at], envelope.user.size());
  bytes[user_length_at] = 65;
  EXPECT_NE(DecodeEnvelopeError(bytes).find("user of 65 bytes (at most 64)"), std::string::npos);

  envelope.text = std::string(kMaxBusTextBytes, 'x');
  bytes = EncodeNodeEnvelope(envelope);
  EXPECT_TRUE(DecodeNodeEnvelope(bytes).ok());
  std::size_t text_length_at = bytes.size() - kMaxBusTextBytes - 4;
  bytes[text_length_at + 3] = 1;  // 65537 bytes claimed
  EXPECT_NE(DecodeEnvelopeError(bytes).find("text of 65537 bytes"), std::string::npos);
}

TEST(NodeBusCodecTest, PresenceRoundTripsAndRefusesBadNodes) {
  PresenceRecord record{"node-b", 42, "phone", 1'767'225'600'123};
  std::vector<uint8_t> bytes = EncodePresenceRecord(record);
  auto decoded = DecodePresenceRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, record);
  EXPECT_EQ(bytes, EncodePresenceRecord(*decoded));

  // An envelope is not a presence record.
  auto wrong = DecodePresenceRecord(EncodeNodeEnvelope(SampleEnvelope()));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message,
            "A presence record from the node bus has record type 1 where type 2 was expected.");

  bytes[2 + 8 + 8] = 0;  // node length 0
  auto empty_node = DecodePresenceRecord(bytes);
  ASSERT_FALSE(empty_node.ok());
  EXPECT_NE(empty_node.error().message.find("has a node that is not 1-64 characters"), std::string::npos);
}

// RedisNodeBus's login script reads the login time, connection and node at these
// offsets: the layout is part of the Redis format.
TEST(NodeBusCodecTest, PresenceLayoutIsFixedAndItsLoginTimeInRange) {
  const PresenceRecord record{"n", 7, "d", 0x0102030405};
  const std::vector<uint8_t> expected = {2, 2,                       // version, record type
                                         0, 0, 0, 1, 2, 3, 4, 5,     // login time (unix ms)
                                         0, 0, 0, 0, 0, 0, 0, 7,     // connection
                                         1, 'n', 1, 'd'};            // node, device
  EXPECT_EQ(EncodePresenceRecord(record), expected);
  std::vector<uint8_t> bytes = expected;
  bytes[2] = 0x80;  // above INT64_MAX
  auto out_of_range = DecodePresenceRecord(bytes);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.error().message, "A presence record from the node bus has a login time out of range.");
  bytes = {1, 2, 0, 0, 0, 0, 0, 0, 0, 7, 1, 'n', 1, 'd'};  // version 1: no login time
  auto old = DecodePresenceRecord(bytes);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().message.find("format version 1"), std::string::npos);
}

// LoggedInBefore: login time first, then node id, then connection id.
TEST(NodeBusCodecTest, LoginsAreOrderedByTimeThenNodeThenConnection) {
  EXPECT_TRUE(LoggedInBefore({"n2", 9, "d", 100}, {"n1", 1, "d", 101}));
  EXPECT_FALSE(LoggedInBefore({"n1", 1, "d", 101}, {"n2", 9, "d", 100}));
  EXPECT_TRUE(LoggedInBefore({"n1", 9, "d", 100}, {"n2", 1, "d", 100}));
  EXPECT_TRUE(LoggedInBefore({"n1", 1, "d", 100}, {"n1", 2, "d", 100}));
  EXPECT_FALSE(LoggedInBefore({"n1", 2, "d", 100}, {"n1", 2, "e", 100}));  // same login: neither before
}

TEST(NodeBusCodecTest, RelayRoundTripsAndRefusesEmptyFields) {
  RelayRecord relay{"relay-1", "relay1.example.org", 3478, 12, 5000};
  std::vector<uint8_t> bytes = EncodeRelayRecord(relay);
  auto decoded = DecodeRelayRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, relay);

  std::vector<uint8_t> zero_port = bytes;
  std::size_t port_at = 2 + 1 + relay.id.size() + 1 + relay.host.size();
  zero_port[port_at] = 0;
  zero_port[port_at + 1] = 0;
  auto refused = DecodeRelayRecord(zero_port);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "A relay record from the node bus has port 0.");

  std::vector<uint8_t> empty_id = {kNodeBusFormatVersion, 3, 0};
  refused = DecodeRelayRecord(empty_id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "A relay record from the node bus has an empty relay id.");

  std::vector<uint8_t> empty_host = {kNodeBusFormatVersion, 3, 1, 'r', 0};
  refused = DecodeRelayRecord(empty_host);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "A relay record from the node bus has an empty host.");
}

TEST(NodeBusCodecTest, NodeIds) {
  EXPECT_TRUE(IsValidNodeId("a"));
  EXPECT_TRUE(IsValidNodeId("Node_1.eu-west"));
  EXPECT_TRUE(IsValidNodeId(std::string(64, 'n')));
  EXPECT_FALSE(IsValidNodeId(""));
  EXPECT_FALSE(IsValidNodeId(std::string(65, 'n')));
  EXPECT_FALSE(IsValidNodeId("a:b"));
  EXPECT_FALSE(IsValidNodeId("a b"));
}

}  // namespace
}  // namespace parley::server
