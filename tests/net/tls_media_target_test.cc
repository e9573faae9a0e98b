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
    EXPECT_EQ(*parsed, ticket);
  }
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
           good + "/",
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
