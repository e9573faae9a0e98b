// Padding policies and the ISO/IEC 7816-4 padding.
#include "parley/crypto/padding_policy.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::crypto {
namespace {

TEST(PaddingPolicyTest, BucketsPickTheSmallestThatFits) {
  const PaddingPolicy p = PaddingPolicy::Buckets();
  EXPECT_EQ(p.SealedSize(0).value(), 64u);
  EXPECT_EQ(p.SealedSize(64 - 25).value(), 64u);
  EXPECT_EQ(p.SealedSize(64 - 24).value(), 96u);
  EXPECT_EQ(p.SealedSize(100).value(), 128u);
  EXPECT_EQ(p.SealedSize(kMaxContentSize).value(), 1200u);
  EXPECT_FALSE(p.SealedSize(kMaxContentSize + 1).ok());
  for (std::size_t n = 0; n <= kMaxContentSize; ++n) {
    const std::size_t size = p.SealedSize(n).value();
    EXPECT_NE(std::find(kPaddingBuckets.begin(), kPaddingBuckets.end(), size), kPaddingBuckets.end());
    EXPECT_GE(size, n + kSealOverhead);
  }
}

TEST(PaddingPolicyTest, OffAndConstant) {
  EXPECT_EQ(PaddingPolicy::Off().SealedSize(100).value(), 125u);
  auto constant = PaddingPolicy::Constant(256).value();
  EXPECT_EQ(constant.SealedSize(0).value(), 256u);
  EXPECT_EQ(constant.SealedSize(231).value(), 256u);
  auto too_big = constant.SealedSize(232);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("lower the bitrate"), std::string::npos);
  EXPECT_FALSE(PaddingPolicy::Constant(24).ok());
  EXPECT_FALSE(PaddingPolicy::Constant(1201).ok());
}

TEST(PaddingPolicyTest, ParsesItsTextForm) {
  EXPECT_EQ(PaddingPolicy::Parse("off")->mode(), PaddingPolicy::Mode::kOff);
  EXPECT_EQ(PaddingPolicy::Parse("buckets")->mode(), PaddingPolicy::Mode::kBuckets);
  EXPECT_EQ(PaddingPolicy::Parse("constant:300")->constant_size(), 300u);
  for (const char* bad : {"", "Buckets", "constant:", "constant:abc", "constant:12x", "constant:5000", "on"}) {
    EXPECT_FALSE(PaddingPolicy::Parse(bad).ok()) << bad;
  }
}

TEST(PaddingTest, PadsAndUnpadsEverySize) {
  for (std::size_t padded = 1; padded <= 300; padded += 7) {
    for (std::size_t content = 0; content < padded; ++content) {
      std::vector<uint8_t> buffer(padded, 0x80);  // content full of marker bytes: worst case
      PadInPlace(buffer, content, padded);
      EXPECT_EQ(buffer[content], 0x80);
      for (std::size_t i = content + 1; i < padded; ++i) ASSERT_EQ(buffer[i], 0);
      ASSERT_EQ(UnpaddedSize(buffer).value(), content);
    }
  }
}

TEST(PaddingTest, RefusesMalformedPadding) {
  EXPECT_FALSE(UnpaddedSize(std::vector<uint8_t>{}).ok());
  EXPECT_FALSE(UnpaddedSize(std::vector<uint8_t>{0, 0, 0}).ok());
  EXPECT_FALSE(UnpaddedSize(std::vector<uint8_t>{1, 0x80, 1}).ok());
  EXPECT_FALSE(UnpaddedSize(std::vector<uint8_t>{1, 2, 3}).ok());
  EXPECT_EQ(UnpaddedSize(std::vector<uint8_t>{0x80}).value(), 0u);
}

}  // namespace
}  // namespace parley::crypto
