// The media upgrade target: round trip, and every malformed target refused with an error.
#include "parley/net/tls_media_target.h"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

constexpr char kPath[] = "/ws/secret-path";

TEST(TlsMediaTargetTest, RoundTripsTickets) {
  for (size_t size : {1, 2, 3, 65, 255}) {
    std::vector<uint8_t> ticket(size);
    for (size_t i = 0; i < size; ++i) ticket[i] = static_cast<uint8_t>(i * 37 + 200);
    const std::string target = MediaUpgradeTarget(kPath, ticket);
    EXPECT_EQ(target.rfind(std::string(kPath) + "/m/", 0), 0u);
    EXPECT_EQ(target.find_first_of("+/=", sizeof(kPath) + 2), std::string::npos) << target;  // URL-safe
    auto parsed = ParseMediaUpgradeTarget(kPath, target);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->ticket, ticket);
    EXPECT_FALSE(parsed->relay.has_value());  // this front's own relay
  }
}

TEST(TlsMediaTargetTest, RoundTripsTheNamedRelay) {
  const std::vector<uint8_t> ticket(65, 9);
  for (const MediaTargetRelay& relay : {MediaTargetRelay{"relay2.example.org", 3478}, MediaTargetRelay{"::1", 1},
                                        MediaTargetRelay{"192.0.2.7", 65535}, MediaTargetRelay{std::string(255, 'r'), 443}}) {
    const std::string target = MediaUpgradeTarget(kPath, ticket, relay);
    EXPECT_EQ(target.rfind(MediaUpgradeTarget(kPath, ticket) + "/", 0), 0u);
    EXPECT_EQ(target.find_first_of("+=:", 1), std::string::npos) << target;  // URL-safe, no raw host
    auto parsed = ParseMediaUpgradeTarget(kPath, target);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->ticket, ticket);
    EXPECT_EQ(parsed->relay, relay);
  }
  // The documented example: port 3478 = 0x0d96, then "relay.example.org".
  EXPECT_EQ(MediaUpgradeTarget("/ws/x", std::vector<uint8_t>{0xfb, 0xff}, MediaTargetRelay{"r.example", 3478}),
            "/ws/x/m/-_8/DZZyLmV4YW1wbGU");
}

TEST(TlsMediaTargetTest, RefusesBadRelayNames) {
  const std::vector<uint8_t> ticket(65, 9);
  const std::string base = MediaUpgradeTarget(kPath, ticket) + "/";
  auto encoded = [](std::vector<uint8_t> bytes) { return MediaUpgradeTarget("/p", bytes).substr(5); };
  for (const std::string& target : {
           base,                                                   // nothing after the slash
           base + encoded({0x0d, 0x96}),                           // no host
           base + encoded({0x00, 0x00, 'h'}),                      // port 0
           base + encoded({0x0d, 0x96, 'a', ' ', 'b'}),            // not printable
           base + encoded({0x0d, 0x96, 'a', 0x0a}),                // a line feed for the log
           base + encoded(std::vector<uint8_t>(2 + 256, 'h')),     // host over 255 bytes
           base + encoded({0x0d, 0x96, 'h'}) + "/",                // a third segment
           base + encoded({0x0d, 0x96, 'h'}) + "=",                // padding
           base + "a+b",                                           // not base64url
       }) {
    auto parsed = ParseMediaUpgradeTarget(kPath, target);
    EXPECT_FALSE(parsed.ok()) << target;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().message.back(), '.');
    }
  }
  EXPECT_FALSE(IsValidMediaTargetRelay({"", 1}));
  EXPECT_FALSE(IsValidMediaTargetRelay({"h", 0}));
  EXPECT_FALSE(IsValidMediaTargetRelay({"h\x7f", 1}));
  EXPECT_TRUE(IsValidMediaTargetRelay({"h", 1}));
}

TEST(TlsMediaTargetTest, RefusesEverythingElse) {
  const std::vector<uint8_t> ticket(65, 9);
  const std::string good = MediaUpgradeTarget(kPath, ticket);
  for (const std::string& target : {
           std::string(kPath),
           std::string(kPath) + "/m/",
           std::string(kPath) + "/m",
           std::string("/ws/secret-patH/m/") + good.substr(good.rfind('/') + 1),
           std::string("/ws/secret-path/x/") + good.substr(good.rfind('/') + 1),
           good + "=",
           good + "?a=b",
           good.substr(0, good.size() - 1) + "B",  // non-zero trailing bits
           std::string(kPath) + "/m/" + std::string(341, 'A'),
           std::string(kPath) + "/m/" + std::string(400, 'A'),
           std::string("/"),
           std::string(""),
       }) {
    auto parsed = ParseMediaUpgradeTarget(kPath, target);
    EXPECT_FALSE(parsed.ok()) << target;
    if (!parsed.ok()) {
      EXPECT_FALSE(parsed.error().message.empty());
      EXPECT_EQ(parsed.error().message.back(), '.');
    }
  }
  EXPECT_FALSE(ParseMediaUpgradeTarget("", "/m/AAAA").ok());
}

}  // namespace
}  // namespace parley::net
