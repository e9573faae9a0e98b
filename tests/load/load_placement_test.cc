// parley-load's placement of clients on servers: one server takes everyone; with two or
// three every pair's caller and callee are on different servers and callers are spread evenly.
#include "load_placement.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::load {
namespace {

TEST(LoadPlacementTest, OneServerTakesEveryClient) {
  for (size_t client = 0; client < 10; ++client) EXPECT_EQ(ServerOfClient(client, 1), 0u);
}

TEST(LoadPlacementTest, TwoServersPutEveryPairAcrossNodesAndAlternateCallers) {
  std::vector<size_t> callers_on(2, 0), clients_on(2, 0);
  for (size_t pair = 0; pair < 1000; ++pair) {
    size_t caller = ServerOfClient(2 * pair, 2), callee = ServerOfClient(2 * pair + 1, 2);
    ASSERT_LT(caller, 2u);
    ASSERT_LT(callee, 2u);
    EXPECT_NE(caller, callee) << "pair " << pair;
    ++callers_on[caller];
    ++clients_on[caller];
    ++clients_on[callee];
  }
  EXPECT_EQ(callers_on[0], 500u);
  EXPECT_EQ(callers_on[1], 500u);
  EXPECT_EQ(clients_on[0], 1000u);
  EXPECT_EQ(clients_on[1], 1000u);
}

TEST(LoadPlacementTest, ThreeServersStillSplitEveryPair) {
  std::vector<size_t> clients_on(3, 0);
  for (size_t pair = 0; pair < 300; ++pair) {
    size_t caller = ServerOfClient(2 * pair, 3), callee = ServerOfClient(2 * pair + 1, 3);
    EXPECT_NE(caller, callee);
    ++clients_on.at(caller);
    ++clients_on.at(callee);
  }
  for (size_t count : clients_on) EXPECT_EQ(count, 200u);
}

}  // namespace
}  // namespace parley::load
