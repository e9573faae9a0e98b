// Two CallMedia ends, each over a MultipathTransport with several simulated paths, in
// simulated time: the call starts on the path that works, moves when its path dies
// with less than a second of audio concealed, probes are sealed like everything else,
// and the stats name the path.
#include "parley/call/multipath_transport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "netsim_packet_path.h"
#include "parley/call/call_media.h"
#include "parley/crypto/call_keys.h"
#include "parley/crypto/padding_policy.h"
#include "parley/net/netsim_path.h"
#include "parley/net/netsim_spec.h"

namespace parley::call {
namespace {

using net::PathKind;
using testing::NetsimPacketPath;

crypto::CallKeys Keys(crypto::Role role) {
  crypto::Secret<32> prk;
  for (std::size_t i = 0; i < 32; ++i) prk.data()[i] = static_cast<uint8_t>(i * 11 + 3);
  return crypto::DeriveCallKeys(prk, role);
}

struct PathSetup {
  PathKind kind;
  std::string netsim;
  Duration ready_after{0};
};

class MultipathCall {
 public:
  explicit MultipathCall(const std::vector<PathSetup>& setups) : a_transport_(now_), b_transport_(now_) {
    for (std::size_t i = 0; i < setups.size(); ++i) {
      auto spec = net::ParseNetsimSpec(setups[i].netsim);
      EXPECT_TRUE(spec.ok());
      links_.push_back(std::make_unique<net::NetsimPath>(*spec, 100 + i, now_));
      net::NetsimPath& link = *links_.back();
      const TimePoint ready = now_ + setups[i].ready_after;
      a_transport_.AddPath(std::make_unique<NetsimPacketPath>(setups[i].kind, "a" + std::to_string(i),
                                                              link.a_to_b(), link.b_to_a(), ready, &wire_sizes_),
                           now_);
      b_transport_.AddPath(std::make_unique<NetsimPacketPath>(setups[i].kind, "b" + std::to_string(i),
                                                              link.b_to_a(), link.a_to_b(), ready, &wire_sizes_),
                           now_);
    }
    a_ = CallMedia::Create(Keys(crypto::Role::kCaller), {}, a_transport_, now_).value();
    b_ = CallMedia::Create(Keys(crypto::Role::kCallee), {}, b_transport_, now_).value();
  }

  // Runs until `seconds_since_start`: both ends send a tone and play what arrives.
  void RunUntil(double seconds_since_start) {
    const TimePoint end = TimePoint{} + FromMillis(seconds_since_start * 1000);
    std::array<media::Sample, media::kBlockSamples> block{}, out{};
    while (now_ < end) {
      now_ += milliseconds(10);
      for (media::Sample& s : block) {
        s = static_cast<media::Sample>(6000 * std::sin(2 * M_PI * 440 * static_cast<double>(n_++) / 48000));
      }
      ASSERT_TRUE(a_->OnCapturedBlock(block, now_).ok());
      ASSERT_TRUE(b_->OnCapturedBlock(block, now_).ok());
      while (auto p = a_transport_.Receive(now_)) a_->OnPacket(p->sealed, now_, p->path);
      while (auto p = b_transport_.Receive(now_)) {
        b_->OnPacket(p->sealed, now_, p->path);
        if (!b_first_media_ && b_->stats().media_packets_received > 0) b_first_media_ = now_;
      }
      a_->Pull(now_, out);
      b_->Pull(now_, out);
      ASSERT_TRUE(a_->OnTick(now_).ok());
      ASSERT_TRUE(b_->OnTick(now_).ok());
    }
  }

  CallMedia& a() { return *a_; }
  CallMedia& b() { return *b_; }
  MultipathTransport& a_transport() { return a_transport_; }
  MultipathTransport& b_transport() { return b_transport_; }
  std::optional<TimePoint> b_first_media() const { return b_first_media_; }
  const std::vector<std::size_t>& wire_sizes() const { return wire_sizes_; }

 private:
  TimePoint now_{};
  uint64_t n_ = 0;
  std::vector<std::unique_ptr<net::NetsimPath>> links_;
  std::vector<std::size_t> wire_sizes_;
  MultipathTransport a_transport_;
  MultipathTransport b_transport_;
  std::unique_ptr<CallMedia> a_, b_;
  std::optional<TimePoint> b_first_media_;
};

// Audio the jitter buffer had to make up (PLC) over the run, in ms.
double ConcealedMs(const CallMedia& media) { return media.stats().frames_concealed * 20.0; }

TEST(MultipathCallTest, UdpBlockedFromTheStartStartsOnTls) {
  MultipathCall call({{PathKind::kRelayUdp, "loss=100%"},
                      {PathKind::kRelayTls, "delay=60ms,jitter=10ms,fifo=on", milliseconds(300)}});
  call.RunUntil(10);
  ASSERT_TRUE(call.b_first_media());
  const double first_audio_ms = ToMillis(*call.b_first_media() - TimePoint{});
  std::printf("udp blocked: first media at b after %.0f ms (TLS ready at 300 ms)\n", first_audio_ms);
  EXPECT_LT(first_audio_ms, 1000);
  for (CallMedia* m : {&call.a(), &call.b()}) {
    EXPECT_EQ(m->stats().paths.active_kind, "relay-tls");
    EXPECT_EQ(m->stats().paths.switches, 0u);
    ASSERT_EQ(m->stats().paths.paths.size(), 2u);
    EXPECT_TRUE(m->stats().paths.paths[1].status.rtt_ms);
    EXPECT_GT(m->stats().probes_sent, 0u);
  }
  EXPECT_EQ(call.a().stats().paths.active_description, "relay-tls a1");
  EXPECT_GT(call.b().stats().media_packets_received, 400u);
}

TEST(MultipathCallTest, RelayBlockedMidCallMovesWithLessThanOneSecondConcealed) {
  MultipathCall call({{PathKind::kRelayUdp, "delay=30ms,jitter=5ms,outage=10s+1000s"},
                      {PathKind::kRelayTls, "delay=50ms,jitter=10ms,fifo=on"}});
  call.RunUntil(9.5);
  EXPECT_EQ(call.a().stats().paths.active_kind, "relay-udp");
  EXPECT_EQ(call.b().stats().paths.active_kind, "relay-udp");
  const double a_before = ConcealedMs(call.a()), b_before = ConcealedMs(call.b());
  call.RunUntil(20);
  const double a_gap = ConcealedMs(call.a()) - a_before, b_gap = ConcealedMs(call.b()) - b_before;
  std::printf("relay blocked at 10 s: concealed around the move a %.0f ms, b %.0f ms\n", a_gap, b_gap);
  EXPECT_LT(a_gap, 1000);
  EXPECT_LT(b_gap, 1000);
  for (CallMedia* m : {&call.a(), &call.b()}) {
    EXPECT_EQ(m->stats().paths.active_kind, "relay-tls");
    EXPECT_EQ(m->stats().paths.switches, 1u);
    EXPECT_EQ(m->stats().paths.paths[0].status.state, PathState::kDown);
  }
}

TEST(MultipathCallTest, ProbesAreSealedInTheSameBucketsAsEverythingElse) {
  MultipathCall call({{PathKind::kRelayUdp, "delay=20ms"}, {PathKind::kDirectUdp, "delay=20ms"}});
  call.RunUntil(5);
  EXPECT_GT(call.a().stats().probes_sent, 5u);
  EXPECT_GT(call.a().stats().probe_replies_sent, 5u);
  const auto& buckets = crypto::kPaddingBuckets;
  for (std::size_t size : call.wire_sizes()) {
    EXPECT_NE(std::find(buckets.begin(), buckets.end(), size), buckets.end()) << size;
  }
  // Both paths measured, the call on P2P, the probes cost little next to the media.
  for (const PathReport& path : call.a().stats().paths.paths) EXPECT_TRUE(path.status.rtt_ms);
  EXPECT_EQ(call.a().stats().paths.active_kind, "p2p");
  EXPECT_LT(call.a().stats().probes_sent * 10, call.a().stats().media_packets_sent);
}

}  // namespace
}  // namespace parley::call
