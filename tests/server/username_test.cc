// Username rules: a table of names, each accepted or refused with the right reason.
#include "parley/server/username.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::server {
namespace {

struct Case {
  const char* label;     // test name
  std::string name;
  bool ok;
  std::string error;     // a part of the expected error message
};

class UsernameTest : public testing::TestWithParam<Case> {};

TEST_P(UsernameTest, AcceptsOrExplains) {
  const Case& c = GetParam();
  const Status status = ValidateUsername(c.name);
  EXPECT_EQ(status.ok(), c.ok) << c.name;
  if (!c.ok && !status.ok()) {
    EXPECT_NE(status.error().message.find(c.error), std::string::npos) << status.error().message;
  }
}

const Case kCases[] = {
    {"Shortest", "abc", true, ""},
    {"Longest", std::string(32, 'a'), true, ""},
    {"AllCharacters", "a0_.-z9", true, ""},
    {"DotsApart", "a.b.c", true, ""},
    {"EndsWithDash", "anna-", true, ""},
    {"Empty", "", false, "username is empty: use 3 to 32 characters"},
    {"TooShort", "al", false, "username \"al\" is too short: use 3 to 32 characters"},
    {"TooShortUpper", "Al", false, "username \"Al\" is too short: use 3 to 32 characters"},
    {"TooLong", std::string(33, 'a'), false, "is too long (33 characters): use 3 to 32"},
    {"HugeIsShortened", std::string(10000, 'a'), false, "aaaa...\" is too long (10000"},
    {"Uppercase", "Alice", false,
     "has uppercase letters: usernames are lowercase, so use \"alice\""},
    {"UppercaseAndSpace", "Al ice", false, "has uppercase letters"},
    {"Space", "al ice", false, "contains a space"},
    {"At", "al@ice", false, "contains '@'"},
    {"Slash", "al/ice", false, "contains '/'"},
    {"NonAscii", "j\xc3\xbcrgen", false, "contains a non-ASCII character"},
    {"ControlEscaped", "ab\ncd", false, "username \"ab\\x0acd\" contains a control character"},
    {"NulInside", std::string("ab\0cd", 5), false, "\\x00"},
    {"QuoteEscaped", "ab\"cd", false, "username \"ab\\x22cd\" contains '\"'"},
    {"StartsWithDigit", "1abc", false, "must start with a letter"},
    {"StartsWithDot", ".abc", false, "must start with a letter"},
    {"StartsWithUnderscore", "_abc", false, "must start with a letter"},
    {"DoubleDot", "a..b", false, "contains \"..\""},
    {"ReservedAdmin", "admin", false, "username \"admin\" is reserved: choose another name"},
    {"ReservedRoot", "root", false, "is reserved"},
    {"ReservedSystem", "system", false, "is reserved"},
    {"ReservedParley", "parley", false, "is reserved"},
    {"ReservedParleyPrefix", "parley-support", false, "is reserved"},
    {"ReservedEveryone", "everyone", false, "is reserved"},
    {"NotReservedLookalike", "admins", true, ""},
};

INSTANTIATE_TEST_SUITE_P(Table, UsernameTest, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.label);
                         });

TEST(UsernameReservedTest, ExactListAndPrefix) {
  EXPECT_TRUE(IsReservedUsername("admin"));
  EXPECT_TRUE(IsReservedUsername("parleyd"));
  EXPECT_TRUE(IsReservedUsername("parley.team"));
  EXPECT_FALSE(IsReservedUsername("alice"));
  EXPECT_FALSE(IsReservedUsername("myadmin"));
}

TEST(UsernameErrorTest, ErrorsArePrintableAscii) {
  std::string hostile = "x";
  for (int b = 0; b < 256; ++b) hostile += static_cast<char>(b);
  for (size_t cut = 3; cut < hostile.size(); cut += 7) {
    const Status status = ValidateUsername(std::string_view(hostile).substr(0, cut));
    ASSERT_FALSE(status.ok());
    for (char c : status.error().message) {
      const auto byte = static_cast<unsigned char>(c);
      EXPECT_TRUE(byte >= 0x20 && byte < 0x7f) << "byte " << int{byte};
    }
  }
}

}  // namespace
}  // namespace parley::server
