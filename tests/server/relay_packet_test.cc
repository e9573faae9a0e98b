// Tests for the relay's plain UDP framing: round trips, clear errors at every length
// boundary, and the session token.
#include "parley/net/relay_packet.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>

namespace parley::net {
namespace {

std::vector<uint8_t> Bytes(std::size_t n, uint8_t fill) { return std::vector<uint8_t>(n, fill); }

std::string ErrorOf(const std::vector<uint8_t>& datagram) {
  auto parsed = ParseRelayPacket(datagram);
  return parsed.ok() ? std::string("(parsed)") : parsed.error().message;
}

TEST(RelayPacketTest, BindRoundTrips) {
  const auto ticket = Bytes(65, 0xaa);
  for (std::size_t sealed_size : {std::size_t{0}, kMinSealedSize, std::size_t{100}, kMaxSealedSize}) {
    const auto sealed = Bytes(sealed_size, 0x55);
    const auto packet = MakeRelayBindPacket(ticket, sealed);
    EXPECT_EQ(packet.size(), 2 + 65 + sealed_size);
    auto parsed = ParseRelayPacket(packet);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->kind, RelayPacketKind::kBind);
    EXPECT_TRUE(std::equal(parsed->ticket.begin(), parsed->ticket.end(), ticket.begin(), ticket.end()));
    EXPECT_TRUE(std::equal(parsed->sealed.begin(), parsed->sealed.end(), sealed.begin(), sealed.end()));
  }
}

TEST(RelayPacketTest, DataRoundTrips) {
  const auto sealed = Bytes(100, 0x42);
  const auto packet = MakeRelayDataPacket(0x0123456789abcdefull, sealed);
  EXPECT_EQ(packet.size(), 109u);
  auto parsed = ParseRelayPacket(packet);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->kind, RelayPacketKind::kData);
  EXPECT_EQ(parsed->token, 0x0123456789abcdefull);
  EXPECT_EQ(parsed->sealed.size(), 100u);
  EXPECT_EQ(parsed->sealed.data(), packet.data() + 9);  // a view, not a copy
}

TEST(RelayPacketTest, EmptyAndUnknownType) {
  EXPECT_EQ(ErrorOf({}), "The relay packet is empty.");
  EXPECT_EQ(ErrorOf({0x00, 1, 2}), "The relay packet has unknown type 0; only bind (1) and data (2) exist.");
  EXPECT_NE(ErrorOf({0xff}).find("unknown type 255"), std::string::npos);
}

TEST(RelayPacketTest, TooLong) {
  auto packet = MakeRelayBindPacket(Bytes(255, 1), Bytes(kMaxSealedSize, 2));
  EXPECT_EQ(packet.size(), kMaxRelayPacketSize);
  EXPECT_TRUE(ParseRelayPacket(packet).ok());
  packet.push_back(0);
  EXPECT_NE(ErrorOf(packet).find("at most 1457"), std::string::npos);
}

// The ticket length field at 0, 1, remaining-1, remaining, remaining+1 and max.
TEST(RelayPacketTest, BindTicketLengthBoundaries) {
  EXPECT_EQ(ErrorOf({kRelayBindType}), "The relay bind packet ends before its ticket length.");
  EXPECT_EQ(ErrorOf({kRelayBindType, 0, 1, 2}), "The relay bind packet has a zero-length ticket.");

  std::vector<uint8_t> one{kRelayBindType, 1, 9};
  auto parsed = ParseRelayPacket(one);
  ASSERT_TRUE(parsed.ok());  // a 1-byte ticket is well framed; verification refuses it
  EXPECT_EQ(parsed->ticket.size(), 1u);
  EXPECT_TRUE(parsed->sealed.empty());

  // 65-byte ticket followed by 30 bytes: remaining = 95.
  std::vector<uint8_t> packet{kRelayBindType, 0};
  packet.resize(2 + 95, 7);
  packet[1] = 95;  // remaining: the whole rest is ticket, no sealed packet
  ASSERT_TRUE(ParseRelayPacket(packet).ok());
  EXPECT_TRUE(ParseRelayPacket(packet)->sealed.empty());
  packet[1] = 96;  // remaining + 1
  EXPECT_EQ(ErrorOf(packet), "The relay bind packet's ticket length is 96 but only 95 bytes follow.");
  packet[1] = 94;  // remaining - 1: a 1-byte sealed packet is too short
  EXPECT_EQ(ErrorOf(packet),
            "The relay bind packet carries a 1-byte sealed packet; it must be 25 to 1200 bytes.");
  packet[1] = 70;  // exactly the smallest sealed packet after it
  ASSERT_TRUE(ParseRelayPacket(packet).ok());
  EXPECT_EQ(ParseRelayPacket(packet)->sealed.size(), kMinSealedSize);
  packet[1] = 255;  // max, with fewer bytes behind it
  EXPECT_NE(ErrorOf(packet).find("ticket length is 255 but only 95"), std::string::npos);
}

TEST(RelayPacketTest, BindSealedTooLong) {
  std::vector<uint8_t> packet{kRelayBindType, 1, 0};
  packet.resize(3 + kMaxSealedSize + 1, 0);
  EXPECT_EQ(ErrorOf(packet),
            "The relay bind packet carries a 1201-byte sealed packet; it must be 25 to 1200 bytes.");
}

TEST(RelayPacketTest, DataLengthBoundaries) {
  std::vector<uint8_t> packet{kRelayDataType};
  EXPECT_EQ(ErrorOf(packet), "The relay data packet is 1 bytes, too short for its session token.");
  packet.resize(1 + 7);
  EXPECT_EQ(ErrorOf(packet), "The relay data packet is 8 bytes, too short for its session token.");
  packet.resize(1 + 8);
  EXPECT_EQ(ErrorOf(packet),
            "The relay data packet carries a 0-byte sealed packet; it must be 25 to 1200 bytes.");
  packet.resize(1 + 8 + kMinSealedSize - 1);
  EXPECT_NE(ErrorOf(packet).find("24-byte"), std::string::npos);
  packet.resize(1 + 8 + kMinSealedSize);
  EXPECT_TRUE(ParseRelayPacket(packet).ok());
  packet.resize(1 + 8 + kMaxSealedSize);
  EXPECT_TRUE(ParseRelayPacket(packet).ok());
  packet.resize(1 + 8 + kMaxSealedSize + 1);
  EXPECT_NE(ErrorOf(packet).find("1201-byte"), std::string::npos);
}

// Known answer, computed independently: Python's
// hashlib.blake2b(bytes([3]*65), key=b"parley relay session token", digest_size=16).digest()[:8]
TEST(RelayPacketTest, SessionTokenKnownAnswer) {
  const RelaySessionToken token = SessionTokenFor(Bytes(65, 3));
  std::array<uint8_t, 8> bytes;
  std::memcpy(bytes.data(), &token, 8);
  const std::array<uint8_t, 8> expected{0xc3, 0x02, 0xf3, 0x22, 0x7d, 0xad, 0xf7, 0x35};
  EXPECT_EQ(bytes, expected);
  // On the wire the token is these bytes in this order.
  const auto packet = MakeRelayDataPacket(token, Bytes(25, 0));
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), packet.begin() + 1));
}

TEST(RelayPacketTest, SessionTokenIsAFunctionOfTheWholeTicket) {
  auto ticket = Bytes(65, 3);
  const RelaySessionToken token = SessionTokenFor(ticket);
  EXPECT_EQ(SessionTokenFor(ticket), token);
  ticket[64] ^= 1;
  EXPECT_NE(SessionTokenFor(ticket), token);
  ticket[64] ^= 1;
  ticket[0] ^= 0x80;
  EXPECT_NE(SessionTokenFor(ticket), token);
}

}  // namespace
}  // namespace parley::net
