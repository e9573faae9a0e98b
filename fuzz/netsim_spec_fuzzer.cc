// Fuzzes the network spec parser: any text either fails with a message or parses to a
// spec that describes and reparses to itself and runs a link without breaking invariants.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "parley/base/check.h"
#include "parley/net/netsim_link.h"
#include "parley/net/netsim_spec.h"

namespace {

using parley::TimePoint;
using parley::net::NetsimLink;

void RunLink(const parley::net::NetsimSpec& spec, const uint8_t* data, size_t size) {
  uint64_t seed = 0;
  for (size_t i = 0; i < size; ++i) seed = seed * 131 + data[i];
  const TimePoint start = TimePoint{} + std::chrono::seconds(1);
  NetsimLink link(spec, seed, start);
  uint64_t received = 0;
  auto check = [&](TimePoint now) {
    for (const auto& p : link.Receive(now)) {
      PARLEY_CHECK(p.delivered <= now);
      PARLEY_CHECK(p.delivered - p.sent >= link.PropagationDelay(p.sent));
      ++received;
    }
  };
  for (int i = 0; i < 300; ++i) {
    TimePoint now = start + i * std::chrono::milliseconds(20);
    check(now);
    size_t bytes = size ? 20 + data[i % size] * 4 : 100;
    link.Send(std::vector<uint8_t>(bytes), now);
  }
  while (auto next = link.NextDeliveryTime()) check(*next);
  const auto& stats = link.stats();
  PARLEY_CHECK(stats.sent == 300);
  PARLEY_CHECK(stats.delivered == received);
  PARLEY_CHECK(stats.sent - stats.lost() + stats.duplicated == stats.delivered);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = parley::net::ParseNetsimSpecOrPreset(text);
  if (!spec.ok()) {
    PARLEY_CHECK(!spec.error().message.empty());
    return 0;
  }
  std::string described = parley::net::DescribeNetsimSpec(*spec);
  auto again = parley::net::ParseNetsimSpec(described);
  PARLEY_CHECK_MSG(again.ok(), described.c_str());
  PARLEY_CHECK_MSG(*again == *spec, described.c_str());
  PARLEY_CHECK(parley::net::DescribeNetsimSpec(*again) == described);
  RunLink(*spec, data, size);
  return 0;
}
