// CallMedia: two ends joined by an in-memory transport in simulated time carry audio
// both ways, report loss and round-trip time, and drop what does not open.
#include "parley/call/call_media.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>

#include "parley/call/control_message.h"
#include "parley/crypto/call_keys.h"

namespace parley::call {
namespace {

crypto::CallKeys Keys(crypto::Role role) {
  crypto::Secret<32> prk;
  for (std::size_t i = 0; i < 32; ++i) prk.data()[i] = static_cast<uint8_t>(i * 7 + 1);
  return crypto::DeriveCallKeys(prk, role);
}

// Delivers after a fixed delay; drops every `drop_every`-th packet (0: none), and
// everything while `cut`.
class Wire final : public MediaTransport {
 public:
  explicit Wire(Duration delay) : delay_(delay) {}
  void Send(std::span<const uint8_t> sealed, TimePoint now) override {
    ++sent;
    if (cut || (drop_every != 0 && sent % drop_every == 0)) return;
    queue_.push_back({now + delay_, {sealed.begin(), sealed.end()}});
  }
  std::optional<ReceivedPacket> Receive(TimePoint) override { return std::nullopt; }
  template <typename F>
  void Deliver(TimePoint now, F&& to) {
    while (!queue_.empty() && queue_.front().first <= now) {
      to(queue_.front().second);
      queue_.pop_front();
    }
  }
  int sent = 0;
  int drop_every = 0;
  bool cut = false;

 private:
  Duration delay_;
  std::deque<std::pair<TimePoint, std::vector<uint8_t>>> queue_;
};

double Energy(std::span<const media::Sample> s) {
  double e = 0;
  for (media::Sample x : s) e += static_cast<double>(x) * x;
  return s.empty() ? 0 : e / static_cast<double>(s.size());
}

struct Pair {
  Pair() : a_to_b(milliseconds(40)), b_to_a(milliseconds(40)) {
    a = CallMedia::Create(Keys(crypto::Role::kCaller), {}, a_to_b, now).value();
    b = CallMedia::Create(Keys(crypto::Role::kCallee), {}, b_to_a, now).value();
  }
  // Runs `seconds` of call: a sends a 440 Hz tone, b silence.
  void Run(double secs, std::vector<media::Sample>* b_heard) {
    std::array<media::Sample, media::kBlockSamples> block{}, out{};
    const int steps = static_cast<int>(secs * 100);
    for (int i = 0; i < steps; ++i) {
      now += milliseconds(10);
      for (std::size_t s = 0; s < block.size(); ++s) {
        block[s] = static_cast<media::Sample>(8000 * std::sin(2 * M_PI * 440 * static_cast<double>(n++) / 48000));
      }
      ASSERT_TRUE(a->OnCapturedBlock(block, now).ok());
      std::array<media::Sample, media::kBlockSamples> zeros{};
      ASSERT_TRUE(b->OnCapturedBlock(zeros, now).ok());
      a_to_b.Deliver(now, [&](auto& p) { b->OnPacket(p, now); });
      b_to_a.Deliver(now, [&](auto& p) { a->OnPacket(p, now); });
      b->Pull(now, out);
      if (b_heard) b_heard->insert(b_heard->end(), out.begin(), out.end());
      a->Pull(now, out);
      ASSERT_TRUE(a->OnTick(now).ok());
      ASSERT_TRUE(b->OnTick(now).ok());
    }
  }
  TimePoint now{};
  uint64_t n = 0;
  Wire a_to_b, b_to_a;
  std::unique_ptr<CallMedia> a, b;
};

TEST(CallMedia, CarriesAudioAndMeasuresRoundTrip) {
  Pair p;
  std::vector<media::Sample> heard;
  p.Run(3.0, &heard);
  EXPECT_EQ(p.a->stats().frames_encoded, 150u);
  EXPECT_EQ(p.a->stats().media_packets_sent, 150u);
  EXPECT_GE(p.b->stats().media_packets_received, 145u);
  EXPECT_EQ(p.a->stats().packets_refused, 0u);
  // The second half of what b played is the tone, loud.
  EXPECT_GT(Energy(std::span(heard).subspan(heard.size() / 2)), 1e6);
  ASSERT_TRUE(p.a->stats().rtt_ms.has_value());
  EXPECT_NEAR(*p.a->stats().rtt_ms, 80, 12);
  ASSERT_TRUE(p.b->stats().rtt_ms.has_value());
  EXPECT_NEAR(*p.b->stats().rtt_ms, 80, 12);
  EXPECT_GE(p.a->stats().control_packets_sent, 2u);
  EXPECT_GE(p.b->stats().control_packets_received, 2u);
  EXPECT_GT(p.a->stats().send_bitrate_kbps, 10);
  EXPECT_EQ(p.a->stats().send_loss_fraction, 0);
}

TEST(CallMedia, LossIsReportedAndTurnsProtectionOn) {
  Pair p;
  p.a_to_b.drop_every = 10;  // 10% of a's packets (media and its reports)
  p.Run(4.0, nullptr);
  // Every 10th of a's packets, reports included (4 a second while there is loss), so
  // media loses a little under 10 %; the peer's newest report covers 250 ms of it.
  EXPECT_NEAR(p.b->stats().receive_loss_fraction, 0.08, 0.05);
  EXPECT_GT(p.a->stats().send_loss_fraction, 0.0);
  EXPECT_LT(p.a->stats().send_loss_fraction, 0.35);
  EXPECT_GT(p.a->stats().redundant_copies + (p.a->stats().fec ? 1 : 0), 0);
}

TEST(CallMedia, QualityEstimateSaysNothingIsHeardInAnOutage) {
  Pair p;
  p.Run(3.0, nullptr);
  ASSERT_TRUE(p.b->stats().mos.has_value());
  EXPECT_GT(*p.b->stats().mos, 3.5);
  p.a_to_b.cut = p.b_to_a.cut = true;
  p.Run(2.0, nullptr);
  EXPECT_GT(*p.b->stats().mos, 3.5) << "2 s of nothing is not yet an outage (a lost report in a DTX pause)";
  p.Run(1.5, nullptr);
  EXPECT_LT(*p.b->stats().mos, 1.5) << "3.5 s without a packet: nothing is heard";
  p.a_to_b.cut = p.b_to_a.cut = false;
  p.Run(3.0, nullptr);
  EXPECT_GT(*p.b->stats().mos, 3.5);
}

TEST(CallMedia, PacketsThatDoNotOpenAreCountedAndDropped) {
  Pair p;
  std::vector<uint8_t> garbage(60, 0xAB);
  p.b->OnPacket(garbage, p.now);
  p.b->OnPacket({}, p.now);
  EXPECT_EQ(p.b->stats().packets_refused, 2u);
  EXPECT_EQ(p.b->stats().media_packets_received, 0u);
}

TEST(CallMedia, KeysOfAnotherCallDoNotOpen) {
  Wire wire(milliseconds(0));
  TimePoint now{};
  auto a = CallMedia::Create(Keys(crypto::Role::kCaller), {}, wire, now).value();
  // Same role on both ends: a's send keys are not b's receive keys.
  auto b = CallMedia::Create(Keys(crypto::Role::kCaller), {}, wire, now).value();
  std::array<media::Sample, media::kBlockSamples> block{};
  block.fill(1000);
  ASSERT_TRUE(a->OnCapturedBlock(block, now).ok());
  ASSERT_TRUE(a->OnCapturedBlock(block, now).ok());
  wire.Deliver(now, [&](auto& pkt) { b->OnPacket(pkt, now); });
  EXPECT_EQ(b->stats().packets_refused, 1u);
}

TEST(CallMedia, RefusesFramesThatAreNotWholeBlocks) {
  Wire wire(milliseconds(0));
  CallMediaConfig config;
  config.encoder.frame_ms = 25;
  EXPECT_FALSE(CallMedia::Create(Keys(crypto::Role::kCaller), config, wire, TimePoint{}).ok());
}

TEST(ControlMessage, ReceiverReportRoundTripsAndRefusesOthers) {
  const ReceiverReport r{50, 47, 123456, 0xFFFFFFFF, 17};
  const auto bytes = SerializeReceiverReport(r);
  EXPECT_EQ(bytes.size(), kReceiverReportSize);
  EXPECT_EQ(*ParseReceiverReport(bytes), r);
  EXPECT_EQ(ParseReceiverReport({}).error().message, "control message is empty");
  std::vector<uint8_t> other = bytes;
  other[0] = 9;
  EXPECT_EQ(ParseReceiverReport(other).error().message, "control message type 9 is unknown");
  std::vector<uint8_t> short_report(bytes.begin(), bytes.end() - 1);
  EXPECT_EQ(ParseReceiverReport(short_report).error().message, "receiver report is 20 bytes, expected 21");
}

}  // namespace
}  // namespace parley::call
