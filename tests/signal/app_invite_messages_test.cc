// new_app_invite and app_invite (docs/protocol.md, "Web app and invites"): canonical
// round trips, direction, and the parser's one-sentence errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/signal/messages.h"

namespace parley::signal {
namespace {

using ::testing::HasSubstr;

TEST(AppInviteMessagesTest, RequestRoundTripsAndIsAClientMessage) {
  const Message request = NewAppInvite{22};
  EXPECT_EQ(SerializeMessage(request), R"({"type":"new_app_invite","id":22})");
  auto parsed = ParseMessage(R"({"type":"new_app_invite","id":22})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, request);
  EXPECT_TRUE(IsClientMessage(*parsed));
  EXPECT_TRUE(IsKnownType("new_app_invite"));
}

TEST(AppInviteMessagesTest, ReplyCarriesTheInviteAsItsLinkText) {
  AppInvite reply;
  reply.id = 22;
  for (std::size_t i = 0; i < reply.invite.size(); ++i) reply.invite[i] = static_cast<uint8_t>(i);
  const std::string text = SerializeMessage(reply);
  // The field is the 22 characters of the link https://HOST/<invite>/.
  EXPECT_EQ(text, R"({"type":"app_invite","id":22,"invite":"AAECAwQFBgcICQoLDA0ODw"})");
  auto parsed = ParseMessage(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, Message(reply));
  EXPECT_FALSE(IsClientMessage(*parsed));
}

TEST(AppInviteMessagesTest, RefusesAWrongSizeOrExtraFields) {
  auto short_invite = ParseMessage(R"({"type":"app_invite","invite":"AAECAwQFBgcICQoLDA0O"})");
  ASSERT_FALSE(short_invite.ok());
  EXPECT_THAT(short_invite.error().message, HasSubstr("invite"));
  auto missing = ParseMessage(R"({"type":"app_invite","id":1})");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("invite"));
  auto extra = ParseMessage(R"({"type":"new_app_invite","invite":"AAECAwQFBgcICQoLDA0ODw"})");
  ASSERT_FALSE(extra.ok());
  EXPECT_THAT(extra.error().message, HasSubstr("invite"));
}

}  // namespace
}  // namespace parley::signal
