// Tests for the two-way simulated path: independent directions, shared script.
#include "parley/net/netsim_path.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::net {
namespace {

const TimePoint kStart = TimePoint{} + seconds(10);

std::vector<uint64_t> DeliveredIds(NetsimLink& link, int count) {
  for (int i = 0; i < count; ++i) link.Send({static_cast<uint8_t>(i)}, kStart + i * milliseconds(20));
  std::vector<uint64_t> ids;
  for (const auto& p : link.Receive(kStart + seconds(3600))) ids.push_back(p.id);
  return ids;
}

TEST(NetsimPathTest, DirectionsAreIndependentButScriptedTogether) {
  auto spec = ParseNetsimSpec("delay=40ms,loss=20%,outage=1s+200ms");
  ASSERT_TRUE(spec.ok());
  NetsimPath path(*spec, 9, kStart);
  auto ab = DeliveredIds(path.a_to_b(), 1000);
  auto ba = DeliveredIds(path.b_to_a(), 1000);
  EXPECT_NE(ab, ba);  // different loss patterns
  EXPECT_EQ(path.a_to_b().stats().lost_outage, 10u);
  EXPECT_EQ(path.b_to_a().stats().lost_outage, 10u);
  EXPECT_NEAR(static_cast<double>(ab.size()) / 990, 0.8, 0.05);
  EXPECT_NEAR(static_cast<double>(ba.size()) / 990, 0.8, 0.05);
}

TEST(NetsimPathTest, SameSeedSamePath) {
  auto spec = NetsimPreset("mobile");
  ASSERT_TRUE(spec.ok());
  NetsimPath one(*spec, 5, kStart);
  NetsimPath two(*spec, 5, kStart);
  EXPECT_EQ(DeliveredIds(one.a_to_b(), 2000), DeliveredIds(two.a_to_b(), 2000));
  EXPECT_EQ(DeliveredIds(one.b_to_a(), 2000), DeliveredIds(two.b_to_a(), 2000));
}

TEST(NetsimPathTest, EachDirectionCanHaveItsOwnConditions) {
  auto fast = ParseNetsimSpec("delay=10ms");
  auto slow = ParseNetsimSpec("delay=300ms");
  ASSERT_TRUE(fast.ok() && slow.ok());
  NetsimPath path(*fast, *slow, 1, kStart);
  path.a_to_b().Send({1}, kStart);
  path.b_to_a().Send({2}, kStart);
  EXPECT_EQ(path.NextDeliveryTime(), kStart + milliseconds(10));
  EXPECT_EQ(path.a_to_b().Receive(kStart + milliseconds(10)).size(), 1u);
  EXPECT_EQ(path.NextDeliveryTime(), kStart + milliseconds(300));
  EXPECT_EQ(path.b_to_a().PropagationDelay(kStart), milliseconds(300));
}

}  // namespace
}  // namespace parley::net
