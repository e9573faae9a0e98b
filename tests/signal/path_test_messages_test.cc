// path_test and path_test_tickets (docs/protocol.md, "Path self-test"): canonical
// round trips, direction, and the parser's one-sentence errors.
#include <gtest/gtest.h>

#include "parley/crypto/encoding.h"
#include "parley/signal/messages.h"

namespace parley::signal {
namespace {

std::vector<uint8_t> Bytes(uint8_t first, std::size_t n) {
  std::vector<uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

PathTestTickets Sample() {
  PathTestTickets t;
  t.id = 7;
  for (std::size_t i = 0; i < t.call_id.size(); ++i) t.call_id[i] = static_cast<uint8_t>(0xc0 + i);
  t.host = "relay.example.org";
  t.port = 443;
  t.ticket_0 = Bytes(0x10, 73);
  t.hop_key_0 = Bytes(0x20, 32);
  t.ticket_1 = Bytes(0x30, 73);
  t.hop_key_1 = Bytes(0x40, 32);
  t.bind_key = Bytes(0x50, 32);
  return t;
}

TEST(PathTestMessagesTest, RequestRoundTripsAndIsAClientMessage) {
  const Message request = PathTest{5};
  EXPECT_EQ(SerializeMessage(request), R"({"type":"path_test","id":5})");
  auto parsed = ParseMessage(R"({"type":"path_test","id":5})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, request);
  EXPECT_TRUE(IsClientMessage(*parsed));
  EXPECT_TRUE(IsKnownType("path_test"));
  auto bare = ParseMessage(R"({"type":"path_test"})");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(MessageId(*bare).has_value());
}

TEST(PathTestMessagesTest, TicketsRoundTripInCanonicalOrderAndComeFromTheServer) {
  const Message tickets = Sample();
  const std::string text = SerializeMessage(tickets);
  EXPECT_EQ(text.rfind(R"({"type":"path_test_tickets","id":7,"call_id":")", 0), 0u) << text;
  const std::size_t t0 = text.find("\"ticket_0\""), h0 = text.find("\"hop_key_0\""),
                    t1 = text.find("\"ticket_1\""), h1 = text.find("\"hop_key_1\""), b = text.find("\"bind_key\"");
  ASSERT_NE(b, std::string::npos);
  EXPECT_TRUE(t0 < h0 && h0 < t1 && t1 < h1 && h1 < b) << text;
  auto parsed = ParseMessage(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, tickets);
  EXPECT_FALSE(IsClientMessage(*parsed));
  EXPECT_TRUE(IsKnownType("path_test_tickets"));
}

// Replaces `"field":<value>` in the sample's JSON.
std::string WithField(const std::string& field, const std::string& json_value) {
  std::string text = SerializeMessage(Sample());
  const std::string key = "\"" + field + "\":";
  const std::size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos);
  const std::size_t start = at + key.size();
  std::size_t end = start;
  if (text[start] == '"') {
    end = text.find('"', start + 1) + 1;
  } else {
    while (end < text.size() && text[end] != ',' && text[end] != '}') ++end;
  }
  return text.substr(0, start) + json_value + text.substr(end);
}

std::string ErrorOf(const std::string& text) {
  auto parsed = ParseMessage(text);
  EXPECT_FALSE(parsed.ok()) << text;
  return parsed.ok() ? std::string() : parsed.error().message;
}

TEST(PathTestMessagesTest, ParserErrorsNameTheField) {
  EXPECT_NE(ErrorOf(WithField("hop_key_0", "\"" + crypto::ToBase64(Bytes(1, 31)) + "\"")).find("hop_key_0"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithField("hop_key_1", "\"" + crypto::ToBase64(Bytes(1, 33)) + "\"")).find("hop_key_1"),
            std::string::npos);
  EXPECT_NE(ErrorOf(WithField("bind_key", "7")).find("bind_key"), std::string::npos);
  EXPECT_NE(ErrorOf(WithField("ticket_0", "\"\"")).find("ticket_0"), std::string::npos);
  EXPECT_NE(ErrorOf(WithField("ticket_1", "\"!!\"")).find("ticket_1"), std::string::npos);
  EXPECT_NE(ErrorOf(WithField("port", "0")).find("port"), std::string::npos);
  EXPECT_NE(ErrorOf(WithField("port", "65536")).find("port"), std::string::npos);
  EXPECT_NE(ErrorOf(WithField("host", "\"\"")).find("host"), std::string::npos);
  EXPECT_NE(ErrorOf(WithField("call_id", "\"AAAA\"")).find("call_id"), std::string::npos);
  // A missing field, an unknown field.
  std::string missing = SerializeMessage(Sample());
  missing.erase(missing.find(",\"bind_key\""), std::string::npos);
  missing += "}";
  EXPECT_NE(ErrorOf(missing).find("bind_key"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"type":"path_test","id":1,"call_id":"AAAA"})").find("call_id"), std::string::npos);
  EXPECT_FALSE(ErrorOf(R"({"type":"path_test","id":-1})").empty());
}

}  // namespace
}  // namespace parley::signal
