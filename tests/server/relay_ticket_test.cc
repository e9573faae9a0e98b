// Tests for relay tickets: round trip, opacity, expiry, forgery and mutation.
#include "parley/server/relay_ticket.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace parley::server {
namespace {

std::array<uint8_t, 32> Key(uint8_t fill) {
  std::array<uint8_t, 32> key;
  key.fill(fill);
  return key;
}

RelayTicketClaims Claims(uint8_t call_byte, uint8_t participant, int64_t expires) {
  RelayTicketClaims claims{};
  claims.call_id.fill(call_byte);
  claims.participant = participant;
  claims.expires_unix_s = expires;
  claims.issued_unix_ms = expires * 1000 - 3'600'123;
  return claims;
}

TEST(RelayTicketTest, RoundTripsClaims) {
  const RelayTicketIssuer issuer(Key(7));
  for (uint8_t participant : {0, 1}) {
    const RelayTicketClaims claims = Claims(0xab, participant, 1'700'000'100);
    const auto ticket = issuer.Issue(claims);
    ASSERT_EQ(ticket.size(), RelayTicketIssuer::kTicketSize);
    auto verified = issuer.Verify(ticket, 1'700'000'000);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(*verified, claims);
  }
}

TEST(RelayTicketTest, IsOpaqueAndRandomised) {
  const RelayTicketIssuer issuer(Key(7));
  const RelayTicketClaims claims = Claims(0x5a, 0, 1'700'000'100);
  const auto a = issuer.Issue(claims);
  const auto b = issuer.Issue(claims);
  EXPECT_NE(a, b);
  // The call id (16 bytes of 0x5a) appears nowhere in the ticket.
  const std::array<uint8_t, 4> probe{0x5a, 0x5a, 0x5a, 0x5a};
  EXPECT_EQ(std::search(a.begin(), a.end(), probe.begin(), probe.end()), a.end());
}

TEST(RelayTicketTest, ExpiresAtExpiryTime) {
  const RelayTicketIssuer issuer(Key(7));
  const auto ticket = issuer.Issue(Claims(1, 0, 1000));
  EXPECT_TRUE(issuer.Verify(ticket, 999).ok());
  auto at = issuer.Verify(ticket, 1000);
  ASSERT_FALSE(at.ok());
  EXPECT_NE(at.error().message.find("expired"), std::string::npos);
  EXPECT_FALSE(issuer.Verify(ticket, 5000).ok());
}

TEST(RelayTicketTest, RefusesAnotherServersTicket) {
  const RelayTicketIssuer issuer(Key(7));
  const RelayTicketIssuer other(Key(8));
  const auto ticket = other.Issue(Claims(1, 0, 1000));
  auto verified = issuer.Verify(ticket, 0);
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().message.find("not issued by this server"), std::string::npos);
}

TEST(RelayTicketTest, RefusesEveryBitFlip) {
  const RelayTicketIssuer issuer(Key(7));
  const auto ticket = issuer.Issue(Claims(1, 1, 1000));
  for (std::size_t i = 0; i < ticket.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto mutated = ticket;
      mutated[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(issuer.Verify(mutated, 0).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(RelayTicketTest, RefusesWrongSizes) {
  const RelayTicketIssuer issuer(Key(7));
  const auto ticket = issuer.Issue(Claims(1, 1, 1000));
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, ticket.size() - 1}) {
    auto verified = issuer.Verify(std::span<const uint8_t>(ticket.data(), size), 0);
    ASSERT_FALSE(verified.ok());
    EXPECT_NE(verified.error().message.find("bytes, not 73"), std::string::npos);
  }
  auto longer = ticket;
  longer.push_back(0);
  EXPECT_FALSE(issuer.Verify(longer, 0).ok());
}

TEST(RelayTicketTest, HopKeyIsPerTicketAndPerServerBindKeyPerServer) {
  const RelayTicketIssuer issuer(Key(7));
  const RelayTicketIssuer same(Key(7));
  const RelayTicketIssuer other(Key(8));
  const auto a = issuer.Issue(Claims(1, 0, 1000));
  const auto b = issuer.Issue(Claims(1, 0, 1000));
  EXPECT_TRUE(issuer.HopKey(a) == same.HopKey(a)) << "the relay recomputes what the hub sent";
  EXPECT_FALSE(issuer.HopKey(a) == issuer.HopKey(b));
  EXPECT_FALSE(issuer.HopKey(a) == other.HopKey(a));
  EXPECT_EQ(issuer.bind_key(), same.bind_key());
  EXPECT_NE(issuer.bind_key(), other.bind_key());
  // Neither is the server key itself nor the hop key.
  EXPECT_NE(issuer.bind_key(), Key(7));
  EXPECT_NE(0, std::memcmp(issuer.bind_key().data(), issuer.HopKey(a).data(), 32));
}

}  // namespace
}  // namespace parley::server
