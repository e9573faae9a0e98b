// Fingerprint tables and rendering, and the safety number.
#include "parley/crypto/fingerprint.h"

#include <gtest/gtest.h>

#include <set>

#include "crypto_test_support.h"
#include "parley/crypto/safety_number.h"

namespace parley::crypto {
namespace {

TEST(FingerprintTest, TablesHave256DistinctEntries) {
  std::set<std::string_view> emoji(Fingerprint::EmojiTable().begin(), Fingerprint::EmojiTable().end());
  std::set<std::string_view> words(Fingerprint::WordTable().begin(), Fingerprint::WordTable().end());
  EXPECT_EQ(emoji.size(), 256u);
  EXPECT_EQ(words.size(), 256u);
  for (std::string_view word : words) {
    ASSERT_FALSE(word.empty());
    for (char c : word) EXPECT_TRUE(c >= 'a' && c <= 'z') << word;
  }
  for (std::string_view e : emoji) {
    // One code point in UTF-8 (4 bytes above U+FFFF, 3 below), no variation selector.
    ASSERT_TRUE(e.size() == 3 || e.size() == 4) << e;
  }
}

TEST(FingerprintTest, RendersTheSameSymbolsAsEmojiAndWords) {
  std::array<uint8_t, 32> secret{};
  secret = {0, 1, 88, 255, 159};
  Fingerprint fp = Fingerprint::FromSecret(secret);
  EXPECT_EQ(fp.Emoji(), "🐶 🐱 🍎 ⏰ 🚀");
  EXPECT_EQ(fp.Words(), "dog cat apple alarm rocket");
  secret[4] = 160;
  EXPECT_NE(Fingerprint::FromSecret(secret), fp);
}

TEST(SafetyNumberTest, SameOnBothSidesAndChangesWithEitherKey) {
  auto a = testing::IdentityFromSeed(1).public_key();
  auto b = testing::IdentityFromSeed(2).public_key();
  auto c = testing::IdentityFromSeed(3).public_key();
  const SafetyNumber ab = SafetyNumber::Compute(a, b);
  EXPECT_EQ(ab, SafetyNumber::Compute(b, a));
  EXPECT_NE(ab, SafetyNumber::Compute(a, c));
  EXPECT_NE(ab, SafetyNumber::Compute(c, b));
  const std::string text = ab.ToString();
  ASSERT_EQ(text.size(), 12u * 5 + 11);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i % 6 == 5) {
      EXPECT_EQ(text[i], ' ');
    } else {
      EXPECT_TRUE(text[i] >= '0' && text[i] <= '9');
    }
  }
}

}  // namespace
}  // namespace parley::crypto
