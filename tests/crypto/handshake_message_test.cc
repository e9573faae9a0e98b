// Handshake message encoding and the text codecs it travels in.
#include "parley/crypto/handshake_message.h"

#include <gtest/gtest.h>

#include "crypto_test_support.h"

namespace parley::crypto {
namespace {

TEST(HandshakeMessageTest, RoundTripsEachType) {
  testing::HonestCall call;
  call.Run();
  for (const auto* bytes : {&call.commit, &call.accept, &call.reveal}) {
    auto parsed = ParseHandshakeMessage(*bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(SerializeHandshakeMessage(*parsed), *bytes);
  }
  EXPECT_EQ(call.commit.size(), kCommitSize);
  EXPECT_EQ(call.accept.size(), kAcceptSize);
  EXPECT_EQ(call.reveal.size(), kRevealSize);
  EXPECT_EQ(ParseHandshakeMessage(call.reveal)->type, HandshakeType::kReveal);
}

TEST(HandshakeMessageTest, RefusesWrongVersionTypeAndLength) {
  testing::HonestCall call;
  call.Run();
  auto commit = call.commit;
  struct Case {
    std::vector<uint8_t> bytes;
    std::string error;
  };
  auto with = [&](std::size_t at, uint8_t value) {
    auto copy = commit;
    copy[at] = value;
    return copy;
  };
  std::vector<uint8_t> longer = commit;
  longer.push_back(0);
  const Case cases[] = {
      {{}, "too short"},
      {{1}, "too short"},
      {with(0, 2), "version 2"},
      {with(0, 0), "version 0"},
      {with(1, 0), "unknown handshake message type 0"},
      {with(1, 4), "unknown handshake message type 4"},
      {with(1, 3), "must be 114 bytes"},  // a commit-sized reveal
      {std::vector<uint8_t>(commit.begin(), commit.end() - 1), "must be 146 bytes, got 145"},
      {longer, "got 147"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseHandshakeMessage(c.bytes);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message.find(c.error), std::string::npos) << parsed.error().message;
  }
}

TEST(EncodingTest, Base64UrlWithoutPaddingIsStrict) {
  const std::vector<uint8_t> bytes = {0xfb, 0xff, 0x00, 0x10};
  EXPECT_EQ(ToBase64(bytes), "-_8AEA");
  EXPECT_EQ(FromBase64("-_8AEA").value(), bytes);
  EXPECT_EQ(FromBase64("").value(), std::vector<uint8_t>{});
  // "QUJD\xe5RA": libsodium alone decodes the non-ASCII byte as a digit.
  for (const char* bad : {"-_8AEA==", "+/8AEA", "-_8A EA", "A", "-_8AEB", "!!!!", "QUJD\xe5RA", "\x80\x80\x80\x80"}) {
    EXPECT_FALSE(FromBase64(bad).ok()) << bad;
  }
}

TEST(EncodingTest, Hex) {
  EXPECT_EQ(ToHex(std::vector<uint8_t>{0x00, 0xab}), "00ab");
  EXPECT_EQ(FromHex("00AB").value(), (std::vector<uint8_t>{0x00, 0xab}));
  EXPECT_FALSE(FromHex("0").ok());
  EXPECT_FALSE(FromHex("0g").ok());
  EXPECT_FALSE(FromHex("00 ab").ok());
}

}  // namespace
}  // namespace parley::crypto
