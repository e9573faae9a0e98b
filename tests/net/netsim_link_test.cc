// Tests for one simulated link: each impairment measured over many packets with fixed
// seeds, plus scripting, determinism and the event-loop interface.
#include "parley/net/netsim_link.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace parley::net {
namespace {

const TimePoint kStart = TimePoint{} + seconds(1000);

NetsimSpec Spec(const std::string& text) {
  auto spec = ParseNetsimSpec(text);
  PARLEY_CHECK_MSG(spec.ok(), spec.ok() ? "" : spec.error().message.c_str());
  return *spec;
}

struct RunResult {
  std::vector<NetsimPacket> packets;  // in delivery order
  NetsimStats stats;
};

// Sends `count` packets of `size` bytes every `interval` from kStart, receiving as it
// goes (as an event loop would), then drains the link.
RunResult RunLink(const std::string& text, uint64_t seed, int count, Duration interval,
              size_t size = 100) {
  NetsimLink link(Spec(text), seed, kStart);
  RunResult result;
  auto take = [&](TimePoint now) {
    for (auto& p : link.Receive(now)) {
      EXPECT_EQ(p.delivered <= now, true);
      result.packets.push_back(std::move(p));
    }
  };
  for (int i = 0; i < count; ++i) {
    TimePoint now = kStart + i * interval;
    take(now);
    std::vector<uint8_t> bytes(size, static_cast<uint8_t>(i));
    link.Send(std::move(bytes), now);
  }
  while (auto next = link.NextDeliveryTime()) take(*next);
  EXPECT_EQ(link.in_flight(), 0u);
  result.stats = link.stats();
  return result;
}

std::vector<double> ExtraDelaysMs(const RunResult& r, Duration base) {
  std::vector<double> out;
  for (const auto& p : r.packets) out.push_back(ToMillis(p.delivered - p.sent - base));
  return out;
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

// Mean length of runs of consecutive lost ids.
double MeanLossBurst(const RunResult& r, int count) {
  std::vector<bool> got(count, false);
  for (const auto& p : r.packets) got[p.id] = true;
  int lost = 0, bursts = 0;
  for (int i = 0; i < count; ++i) {
    if (!got[i]) {
      ++lost;
      if (i == 0 || got[i - 1]) ++bursts;
    }
  }
  return bursts ? static_cast<double>(lost) / bursts : 0;
}

TEST(NetsimLinkTest, CleanLinkDeliversEverythingAfterTheDelayInOrder) {
  RunResult r = RunLink("delay=40ms", 1, 500, milliseconds(20), 160);
  ASSERT_EQ(r.packets.size(), 500u);
  for (size_t i = 0; i < r.packets.size(); ++i) {
    EXPECT_EQ(r.packets[i].id, i);
    EXPECT_EQ(r.packets[i].delivered - r.packets[i].sent, milliseconds(40));
    EXPECT_EQ(r.packets[i].bytes, std::vector<uint8_t>(160, static_cast<uint8_t>(i)));
    EXPECT_FALSE(r.packets[i].duplicate);
  }
  EXPECT_EQ(r.stats.sent, 500u);
  EXPECT_EQ(r.stats.delivered, 500u);
  EXPECT_EQ(r.stats.lost(), 0u);
  EXPECT_EQ(r.stats.reordered, 0u);
}

TEST(NetsimLinkTest, JitterIsExponentialWithTheConfiguredMeanAndNeverEarly) {
  const int n = 100000;
  RunResult r = RunLink("delay=40ms,jitter=30ms", 11, n, milliseconds(20));
  ASSERT_EQ(r.packets.size(), static_cast<size_t>(n));
  std::vector<double> extra = ExtraDelaysMs(r, milliseconds(40));
  EXPECT_GE(*std::min_element(extra.begin(), extra.end()), 0.0);
  // Exponential(mean 30 ms): mean 30, median 30 ln 2, 99th percentile 30 ln 100.
  // The standard error of the mean is 30/sqrt(n) = 0.1 ms.
  EXPECT_NEAR(Mean(extra), 30.0, 0.5);
  EXPECT_NEAR(Quantile(extra, 0.5), 30.0 * std::log(2.0), 0.6);
  EXPECT_NEAR(Quantile(extra, 0.99), 30.0 * std::log(100.0), 6.0);
  // Skewed late: the mean sits well above the median.
  EXPECT_GT(Mean(extra), Quantile(extra, 0.5) * 1.3);

  // RFC 3550 interarrival jitter is the mean |transit(i+1) - transit(i)| by sequence;
  // for iid exponential extra delays that is the mean too.
  std::vector<double> transit_by_id(n);
  for (const auto& p : r.packets) transit_by_id[p.id] = ToMillis(p.delivered - p.sent);
  double sum = 0;
  for (int i = 1; i < n; ++i) sum += std::abs(transit_by_id[i] - transit_by_id[i - 1]);
  EXPECT_NEAR(sum / (n - 1), 30.0, 0.8);

  // With 20 ms between packets, that much jitter reorders.
  EXPECT_GT(r.stats.reordered, static_cast<uint64_t>(n / 10));
}

TEST(NetsimLinkTest, FifoKeepsOrderUnderJitter) {
  RunResult r = RunLink("delay=40ms,jitter=30ms,fifo=on", 12, 20000, milliseconds(20));
  ASSERT_EQ(r.packets.size(), 20000u);
  for (size_t i = 0; i < r.packets.size(); ++i) {
    EXPECT_EQ(r.packets[i].id, i);
    EXPECT_GE(r.packets[i].delivered - r.packets[i].sent, milliseconds(40));
  }
  EXPECT_EQ(r.stats.reordered, 0u);
  // Packets wait behind late ones, so the mean extra delay exceeds the jitter mean.
  EXPECT_GT(Mean(ExtraDelaysMs(r, milliseconds(40))), 30.0);
}

TEST(NetsimLinkTest, ReorderSwapsAPacketWithTheNextOne) {
  const int n = 50000;
  RunResult r = RunLink("delay=40ms,reorder=10%", 13, n, milliseconds(20));
  ASSERT_EQ(r.packets.size(), static_cast<size_t>(n));
  // A held packet is never held twice in a row, so the share held is q / (1 + q).
  double expected = 0.1 / 1.1;
  double share = static_cast<double>(r.stats.reordered) / n;
  EXPECT_NEAR(share, expected, expected * 0.06);
  // Every reordered packet comes 1 ns after the packet sent right after it.
  int swaps = 0;
  for (size_t i = 1; i < r.packets.size(); ++i) {
    if (r.packets[i].id < r.packets[i - 1].id) {
      ++swaps;
      EXPECT_EQ(r.packets[i].id + 1, r.packets[i - 1].id);
      EXPECT_EQ(r.packets[i].delivered, r.packets[i - 1].delivered + Duration{1});
    }
  }
  EXPECT_EQ(static_cast<uint64_t>(swaps), r.stats.reordered);
}

TEST(NetsimLinkTest, ReorderAlsoWorksWithFifo) {
  RunResult r = RunLink("delay=40ms,jitter=5ms,fifo=on,reorder=10%", 14, 5000, milliseconds(20));
  EXPECT_GT(r.stats.reordered, 300u);
}

TEST(NetsimLinkTest, HeldPacketIsReleasedAfterTheHoldLimitWhenNothingFollows) {
  NetsimLink link(Spec("delay=40ms,reorder=100%"), 1, kStart);
  link.Send({1, 2, 3}, kStart);
  ASSERT_TRUE(link.NextDeliveryTime().has_value());
  EXPECT_EQ(*link.NextDeliveryTime(), kStart + milliseconds(40) + kReorderHoldLimit);
  EXPECT_TRUE(link.Receive(kStart + milliseconds(139)).empty());
  auto got = link.Receive(kStart + milliseconds(140));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delivered, kStart + milliseconds(140));
}

TEST(NetsimLinkTest, DuplicatesAreDeliveredTwice) {
  const int n = 50000;
  RunResult r = RunLink("delay=40ms,jitter=5ms,dup=10%", 15, n, milliseconds(20));
  std::map<uint64_t, int> copies;
  std::map<uint64_t, TimePoint> original_at;
  for (const auto& p : r.packets) {
    ++copies[p.id];
    if (!p.duplicate) original_at[p.id] = p.delivered;
  }
  ASSERT_EQ(copies.size(), static_cast<size_t>(n));
  int twice = 0;
  for (auto [id, c] : copies) {
    ASSERT_LE(c, 2);
    twice += c == 2;
  }
  EXPECT_EQ(static_cast<uint64_t>(twice), r.stats.duplicated);
  EXPECT_EQ(r.packets.size(), static_cast<size_t>(n + twice));
  EXPECT_EQ(r.stats.delivered, r.packets.size());
  EXPECT_NEAR(static_cast<double>(twice) / n, 0.10, 0.006);
  for (const auto& p : r.packets) {
    if (!p.duplicate) continue;
    EXPECT_GE(p.delivered, original_at[p.id]);  // the copy never beats its original
    EXPECT_EQ(p.bytes, std::vector<uint8_t>(100, static_cast<uint8_t>(p.id)));
  }
}

TEST(NetsimLinkTest, BernoulliLossRateMatchesAndIsNotBursty) {
  const int n = 100000;
  RunResult r = RunLink("delay=40ms,loss=10%", 16, n, milliseconds(20));
  double rate = static_cast<double>(r.stats.lost_random) / n;
  EXPECT_NEAR(rate, 0.10, 0.004);  // sigma is 0.00095
  EXPECT_EQ(r.stats.lost(), r.stats.lost_random);
  EXPECT_EQ(r.packets.size() + r.stats.lost(), static_cast<size_t>(n));
  // Independent losses come in runs of mean 1 / (1 - p).
  EXPECT_NEAR(MeanLossBurst(r, n), 1 / 0.9, 0.03);
}

TEST(NetsimLinkTest, GilbertElliottLossRateAndBurstLengthMatch) {
  const int n = 200000;
  RunResult r = RunLink("delay=40ms,loss=5%,burst=3", 17, n, milliseconds(20));
  double rate = static_cast<double>(r.stats.lost_burst) / n;
  EXPECT_NEAR(rate, 0.05, 0.004);
  EXPECT_EQ(r.stats.lost(), r.stats.lost_burst);
  EXPECT_NEAR(MeanLossBurst(r, n), 3.0, 0.15);
}

TEST(NetsimLinkTest, UnderfedRateLimitAddsOnlySerialization) {
  // 100 bytes every 20 ms = 40 kbit/s through 64 kbit/s: 12.5 ms on the wire, no queue.
  RunResult r = RunLink("delay=40ms,rate=64kbit", 18, 1000, milliseconds(20));
  ASSERT_EQ(r.packets.size(), 1000u);
  for (const auto& p : r.packets) {
    EXPECT_EQ(p.delivered - p.sent, milliseconds(40) + microseconds(12500));
  }
}

TEST(NetsimLinkTest, OverfedRateLimitQueuesThenDrops) {
  // 100 bytes every 20 ms = 40 kbit/s into 32 kbit/s: 25 ms per packet on the wire.
  const int n = 2000;
  RunResult r = RunLink("delay=40ms,rate=32kbit", 19, n, milliseconds(20));
  ASSERT_GT(r.stats.lost_queue, 0u);
  EXPECT_EQ(r.stats.lost(), r.stats.lost_queue);
  // In the long run a fifth is dropped.
  EXPECT_NEAR(static_cast<double>(r.stats.lost_queue) / n, 0.2, 0.01);

  // Throughput never beats the rate: packets leave the bottleneck 25 ms apart at least.
  for (size_t i = 1; i < r.packets.size(); ++i) {
    EXPECT_GE(r.packets[i].delivered - r.packets[i - 1].delivered, milliseconds(25));
  }
  // Queueing delay grows by 5 ms a packet until the 200 ms default limit, then stays.
  std::vector<Duration> queueing;
  for (const auto& p : r.packets) {
    queueing.push_back(p.delivered - p.sent - milliseconds(40) - milliseconds(25));
  }
  for (size_t i = 1; i < 40; ++i) {
    EXPECT_EQ(queueing[i], queueing[i - 1] + milliseconds(5)) << i;
  }
  Duration most = *std::max_element(queueing.begin(), queueing.end());
  EXPECT_LE(most, milliseconds(200));
  EXPECT_GE(most, milliseconds(180));
  // The first drop comes only once the queue is (nearly) full.
  uint64_t first_lost = 0;
  while (first_lost < r.packets.size() && r.packets[first_lost].id == first_lost) ++first_lost;
  EXPECT_GE(queueing[first_lost - 1], milliseconds(195));
}

TEST(NetsimLinkTest, QueueLimitInPackets) {
  NetsimLink link(Spec("rate=8kbit,queue=5pkt"), 1, kStart);
  for (int i = 0; i < 20; ++i) link.Send(std::vector<uint8_t>(10), kStart);
  EXPECT_EQ(link.stats().lost_queue, 15u);
  // 10 bytes at 8 kbit/s is 10 ms each; one packet left, so one more fits.
  link.Send(std::vector<uint8_t>(10), kStart + milliseconds(10));
  link.Send(std::vector<uint8_t>(10), kStart + milliseconds(10));
  EXPECT_EQ(link.stats().lost_queue, 16u);
  auto got = link.Receive(kStart + seconds(1));
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.back().delivered, kStart + milliseconds(60));
}

TEST(NetsimLinkTest, QueueLimitInBytesAcceptsABigPacketIntoAnEmptyQueue) {
  NetsimLink link(Spec("rate=8kbit,queue=1000byte"), 1, kStart);
  for (int i = 0; i < 4; ++i) link.Send(std::vector<uint8_t>(300), kStart);
  EXPECT_EQ(link.stats().lost_queue, 1u);  // 900 fit, 1200 would not
  link.Send(std::vector<uint8_t>(5000), kStart + seconds(10));  // empty again
  EXPECT_EQ(link.stats().lost_queue, 1u);
  EXPECT_EQ(link.Receive(kStart + seconds(100)).size(), 4u);
}

TEST(NetsimLinkTest, QueueLimitInTimeBoundsTheWait) {
  NetsimLink link(Spec("rate=8kbit,queue=100ms"), 1, kStart);
  // 10 bytes at 8 kbit/s = 10 ms: the k-th packet waits 10k ms, accepted while <= 100.
  for (int i = 0; i < 20; ++i) link.Send(std::vector<uint8_t>(10), kStart);
  EXPECT_EQ(link.stats().lost_queue, 9u);
}

TEST(NetsimLinkTest, OutageDropsExactlyItsWindow) {
  RunResult r = RunLink("delay=40ms,outage=1s+500ms", 20, 300, milliseconds(10));
  EXPECT_EQ(r.stats.lost_outage, 50u);
  EXPECT_EQ(r.stats.lost(), 50u);
  std::vector<bool> got(300, false);
  for (const auto& p : r.packets) got[p.id] = true;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(got[i], i < 100 || i >= 150) << i;  // sent at 10 ms * i
  }
}

TEST(NetsimLinkTest, StepsChangeConditionsAtTheirTime) {
  NetsimSpec spec = Spec("delay=40ms;at=1s:delay=100ms,loss=100%;at=2s:loss=0%");
  RunResult r = RunLink(DescribeNetsimSpec(spec), 21, 300, milliseconds(10));
  EXPECT_EQ(r.stats.lost_random, 100u);
  for (const auto& p : r.packets) {
    Duration since = p.sent - kStart;
    ASSERT_TRUE(since < seconds(1) || since >= seconds(2)) << p.id;
    EXPECT_EQ(p.delivered - p.sent, since < seconds(1) ? milliseconds(40) : milliseconds(100));
  }
  NetsimLink link(spec, 1, kStart);
  EXPECT_EQ(link.PropagationDelay(kStart - seconds(5)), milliseconds(40));
  EXPECT_EQ(link.PropagationDelay(kStart + milliseconds(999)), milliseconds(40));
  EXPECT_EQ(link.PropagationDelay(kStart + seconds(1)), milliseconds(100));
  EXPECT_EQ(link.ConditionsAt(kStart + seconds(3)).loss_percent, 0);
}

TEST(NetsimLinkTest, HandoverPresetBehavesAsDescribed) {
  auto spec = NetsimPreset("handover");
  ASSERT_TRUE(spec.ok());
  RunResult r = RunLink(DescribeNetsimSpec(*spec), 22, 1000, milliseconds(20));  // 20 s
  EXPECT_EQ(r.stats.lost_outage, 25u);  // 500 ms of 20 ms packets
  for (const auto& p : r.packets) {
    Duration since = p.sent - kStart;
    EXPECT_EQ(p.delivered - p.sent, since < seconds(10) ? milliseconds(40) : milliseconds(100));
  }
}

TEST(NetsimLinkTest, ScriptTimeStartsAtTheGivenStart) {
  TimePoint start = kStart + seconds(5);
  NetsimLink link(Spec("outage=1s+10ms"), 1, start);
  link.Send({1}, kStart + seconds(1));  // before start: not in the outage
  link.Send({2}, start + seconds(1));   // in it
  link.Send({3}, start + seconds(1) + milliseconds(10));
  EXPECT_EQ(link.stats().lost_outage, 1u);
  EXPECT_EQ(link.Receive(start + seconds(2)).size(), 2u);
}

std::vector<std::tuple<uint64_t, TimePoint, bool>> Schedule(const RunResult& r) {
  std::vector<std::tuple<uint64_t, TimePoint, bool>> out;
  for (const auto& p : r.packets) out.emplace_back(p.id, p.delivered, p.duplicate);
  return out;
}

TEST(NetsimLinkTest, SameSeedSameScheduleDifferentSeedDifferent) {
  const std::string rich =
      "delay=60ms,jitter=20ms,loss=3%,burst=4,reorder=2%,dup=1%,rate=64kbit;"
      "at=30s:loss=10%,burst=off,fifo=on";
  RunResult a = RunLink(rich, 42, 3000, milliseconds(20));
  RunResult b = RunLink(rich, 42, 3000, milliseconds(20));
  RunResult c = RunLink(rich, 43, 3000, milliseconds(20));
  EXPECT_EQ(Schedule(a), Schedule(b));
  EXPECT_NE(Schedule(a), Schedule(c));
  EXPECT_GT(a.stats.lost_burst, 0u);
  EXPECT_GT(a.stats.lost_random, 0u);
}

TEST(NetsimLinkTest, EqualDeliveryTimesComeOutInSendOrder) {
  NetsimLink link(Spec("delay=40ms"), 1, kStart);
  for (uint8_t i = 0; i < 5; ++i) link.Send({i}, kStart);
  auto got = link.Receive(kStart + milliseconds(40));
  ASSERT_EQ(got.size(), 5u);
  for (uint8_t i = 0; i < 5; ++i) EXPECT_EQ(got[i].bytes[0], i);
}

TEST(NetsimLinkTest, NextDeliveryTimeDrivesAnEventLoop) {
  NetsimLink link(Spec("delay=40ms"), 1, kStart);
  EXPECT_FALSE(link.NextDeliveryTime().has_value());
  link.Send({1}, kStart);
  link.Send({2}, kStart + milliseconds(5));
  EXPECT_EQ(link.NextDeliveryTime(), kStart + milliseconds(40));
  EXPECT_TRUE(link.Receive(kStart + milliseconds(39)).empty());
  EXPECT_EQ(link.Receive(kStart + milliseconds(40)).size(), 1u);
  EXPECT_EQ(link.NextDeliveryTime(), kStart + milliseconds(45));
  EXPECT_EQ(link.in_flight(), 1u);
}

TEST(NetsimLinkTest, MinutesOfTrafficRunThrough) {
  // Ten minutes at 50 packets/s with everything on; speed is for benchmarks to report.
  RunResult r = RunLink("delay=60ms,jitter=20ms,loss=3%,burst=4,reorder=1%,dup=1%,rate=64kbit",
                    5, 30000, milliseconds(20));
  EXPECT_EQ(r.stats.delivered, r.packets.size());
  EXPECT_EQ(r.stats.sent - r.stats.lost() + r.stats.duplicated, r.stats.delivered);
}

TEST(NetsimLinkDeathTest, TimeGoingBackwardsAborts) {
  NetsimLink link(Spec("delay=40ms"), 1, kStart);
  link.Send({1}, kStart + seconds(1));
  EXPECT_DEATH(link.Send({2}, kStart), "time went backwards");
}

}  // namespace
}  // namespace parley::net
