// PathSelfTest in simulated time: two fake paths over a NetsimPath stand for the relay.
// Round trip and loss figures, a side the relay never acknowledges, a relay that
// forwards nothing, foreign packets, and what the test packets look like on the wire.
#include "parley/call/path_self_test.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "netsim_packet_path.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/padding_policy.h"
#include "parley/net/netsim_path.h"

namespace parley::call {
namespace {

using testing::NetsimPacketPath;

// Records every datagram a path sends, for wire checks.
class RecordingPath final : public net::PacketPath {
 public:
  explicit RecordingPath(net::PacketPath& inner) : inner_(inner) {}
  Status Send(std::span<const uint8_t> sealed, TimePoint now) override {
    sent.emplace_back(sealed.begin(), sealed.end());
    return inner_.Send(sealed, now);
  }
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override { return inner_.Receive(now); }
  void Tick(TimePoint now) override { inner_.Tick(now); }
  int fd() const override { return -1; }
  bool ready() const override { return inner_.ready(); }
  bool open() const override { return true; }
  net::PathKind kind() const override { return inner_.kind(); }
  std::string description() const override { return inner_.description(); }
  net::PacketPathStats stats() const override { return inner_.stats(); }
  std::vector<std::vector<uint8_t>> sent;

 private:
  net::PacketPath& inner_;
};

struct Bench {
  explicit Bench(const std::string& spec, Duration b_ready_at = milliseconds(30))
      : network(net::ParseNetsimSpec(spec).value(), 5, start),
        a_inner(net::PathKind::kRelayUdp, "a", network.a_to_b(), network.b_to_a(), start + milliseconds(20)),
        b_inner(net::PathKind::kRelayTls, "b", network.b_to_a(), network.a_to_b(), start + b_ready_at),
        a(a_inner),
        b(b_inner) {}

  PathSelfTestResult Run(PathSelfTestOptions options = {}) {
    PathSelfTest test(a, b, start, keys, options);
    TimePoint now = start;
    while (!test.done()) {
      test.Step(now);
      now += milliseconds(5);
      if (now - start > seconds(30)) ADD_FAILURE() << "the self-test never finished";
      if (now - start > seconds(30)) break;
    }
    elapsed = now - start;
    return test.result();
  }

  const TimePoint start = TimePoint{} + seconds(50);
  crypto::SeededKeySource keys{11};
  net::NetsimPath network;
  NetsimPacketPath a_inner, b_inner;
  RecordingPath a, b;
  Duration elapsed{};
};

TEST(PathSelfTestTest, CleanPathReportsRoundTripAndNoLoss) {
  Bench bench("delay=40ms");
  const PathSelfTestResult r = bench.Run();
  EXPECT_TRUE(r.works());
  EXPECT_TRUE(r.a_ready);
  EXPECT_TRUE(r.b_ready);
  EXPECT_EQ(r.requests_sent, 6);
  EXPECT_EQ(r.requests_received, 6);
  EXPECT_EQ(r.replies_received, 6);
  EXPECT_EQ(r.foreign_packets, 0);
  EXPECT_DOUBLE_EQ(r.loss(), 0.0);
  ASSERT_TRUE(r.median_rtt.has_value());
  EXPECT_GE(*r.median_rtt, milliseconds(80));
  EXPECT_LE(*r.median_rtt, milliseconds(90));  // 2 x 40 ms plus up to two 5 ms steps
  // Done as soon as the last reply is in, not at a timeout.
  EXPECT_LT(bench.elapsed, milliseconds(30 + 5 * 100 + 100));
}

TEST(PathSelfTestTest, TestPacketsLookLikeSealedPacketsOfACall) {
  Bench bench("delay=10ms");
  ASSERT_TRUE(bench.Run().works());
  std::vector<std::vector<uint8_t>> all = bench.a.sent;
  all.insert(all.end(), bench.b.sent.begin(), bench.b.sent.end());
  ASSERT_EQ(all.size(), 12u);
  std::size_t distinct_sizes = 0;
  std::vector<std::size_t> sizes;
  for (const auto& packet : all) {
    EXPECT_EQ(packet[0] & 0xC0, 0x40) << "first byte 01xxxxxx like every sealed packet";
    EXPECT_NE(std::find(crypto::kPaddingBuckets.begin(), crypto::kPaddingBuckets.end(), packet.size()),
              crypto::kPaddingBuckets.end())
        << packet.size() << " is not a padding bucket";
    sizes.push_back(packet.size());
  }
  std::sort(sizes.begin(), sizes.end());
  distinct_sizes = std::unique(sizes.begin(), sizes.end()) - sizes.begin();
  EXPECT_GE(distinct_sizes, 1u);
  // No two packets share a first 8 bytes (no constant prefix).
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      EXPECT_FALSE(std::equal(all[i].begin(), all[i].begin() + 8, all[j].begin())) << i << " " << j;
    }
  }
}

TEST(PathSelfTestTest, SideNeverAcknowledgedTimesOutAsNotWorking) {
  Bench bench("delay=10ms", /*b_ready_at=*/seconds(100));
  PathSelfTestOptions options;
  options.ready_timeout = seconds(3);
  const PathSelfTestResult r = bench.Run(options);
  EXPECT_FALSE(r.works());
  EXPECT_TRUE(r.a_ready);
  EXPECT_FALSE(r.b_ready);
  EXPECT_EQ(r.requests_sent, 0);
  EXPECT_DOUBLE_EQ(r.loss(), 1.0);
  EXPECT_GE(bench.elapsed, seconds(3));
  EXPECT_LT(bench.elapsed, seconds(3) + milliseconds(20));
}

TEST(PathSelfTestTest, BoundButNothingForwarded) {
  Bench bench("delay=10ms,loss=100%");
  const PathSelfTestResult r = bench.Run();
  EXPECT_TRUE(r.a_ready);
  EXPECT_TRUE(r.b_ready);
  EXPECT_EQ(r.requests_sent, 6);
  EXPECT_EQ(r.requests_received, 0);
  EXPECT_FALSE(r.works());
  EXPECT_FALSE(r.median_rtt.has_value());
}

TEST(PathSelfTestTest, LossyPathReportsPartialLoss) {
  Bench bench("delay=20ms,loss=30%");
  PathSelfTestOptions options;
  options.probes = 40;
  options.probe_interval = milliseconds(20);
  const PathSelfTestResult r = bench.Run(options);
  EXPECT_TRUE(r.works());
  EXPECT_GT(r.loss(), 0.2);  // round trip: 1 - 0.7^2 = 0.51 expected
  EXPECT_LT(r.loss(), 0.8);
  EXPECT_EQ(r.requests_sent, 40);
}

TEST(PathSelfTestTest, ForeignPacketsAreCountedAndIgnored) {
  Bench bench("delay=10ms");
  // Something else arrives at B before the test starts: an unrelated sealed-looking packet.
  std::vector<uint8_t> junk(96, 0x55);
  junk[0] = 0x41;
  bench.network.a_to_b().Send(junk, bench.start);
  bench.network.b_to_a().Send(std::vector<uint8_t>(64, 0x42), bench.start);
  const PathSelfTestResult r = bench.Run();
  EXPECT_TRUE(r.works());
  EXPECT_EQ(r.foreign_packets, 2);
  EXPECT_EQ(r.replies_received, 6);
}

}  // namespace
}  // namespace parley::call
