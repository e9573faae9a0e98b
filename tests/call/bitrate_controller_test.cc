// BitrateController on hand-made reports: settings fit their wire budget (padding
// buckets and UDP/IP counted), a rising queue cuts to below what arrived, a flat high
// queue holds, quiet grows, no report changes nothing, loss buys protection and not a
// cut, data saving from either side.
#include "parley/call/bitrate_controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "parley/crypto/padding_policy.h"

namespace parley::call {
namespace {

constexpr Duration kInterval = seconds(1);

// Feeds `kbps` of 20 ms packets of the right size for a second, then a report.
struct Driver {
  BitrateController controller;
  TimePoint now{};
  explicit Driver(BitrateControllerConfig config = {}) : controller(config) {}
  void SendFor(Duration d, double wire_kbps) {
    const auto packets = d / milliseconds(20);
    const auto sealed = static_cast<std::size_t>(wire_kbps * 1000 / 8 / 50 - 28);
    for (int64_t i = 0; i < packets; ++i) {
      now += milliseconds(20);
      controller.OnPacketSent(sealed, now);
    }
  }
  const MediaSettings& Report(double queue_ms, double received_kbps, double loss = 0) {
    QualityReport r;
    r.queue_delay_ms = static_cast<uint16_t>(queue_ms);
    r.received_bps = static_cast<uint32_t>(received_kbps * 1000 * 0.8);  // sealed share, roughly
    r.loss_before_recovery = LossUnits(loss);
    return controller.OnQualityReport(r, now);
  }
};

double WireBps(const MediaSettings& s) { return s.expected_wire_bps; }

TEST(BitrateControllerTest, SettingsFitTheBudget) {
  for (double budget : {17000.0, 20000.0, 24000.0, 32000.0, 48000.0, 64000.0, 96000.0}) {
    const MediaSettings s = BitrateController::ChooseSettings(budget, {}, false, 20, 28);
    EXPECT_LE(WireBps(s), budget) << budget;
    EXPECT_GE(s.opus_bitrate_bps, 6000);
    EXPECT_LE(s.opus_bitrate_bps, 64000);
  }
  // The floor: 6 kbit/s in 60 ms frames is 45 bytes, + 7 + 25 sealed -> the 96-byte
  // bucket, + 28 UDP/IP = 124 bytes 16.7 times a second. No smaller budget buys less.
  const MediaSettings floor = BitrateController::ChooseSettings(12000, {}, false, 20, 28);
  EXPECT_EQ(floor.frame_ms, 60);
  EXPECT_EQ(floor.opus_bitrate_bps, 6000);
  EXPECT_NEAR(floor.expected_wire_bps, 16533, 1);
  // 20 ms packets cost at least (64 + 28) * 8 * 50 = 36.8 kbit/s: below that, longer frames.
  EXPECT_GT(BitrateController::ChooseSettings(30000, {}, false, 20, 28).frame_ms, 20);
  EXPECT_EQ(BitrateController::ChooseSettings(64000, {}, false, 20, 28).frame_ms, 20);
  // Below the 24 kbit/s bottleneck the best is 60 ms at more than 10 kbit/s.
  const MediaSettings at_20k = BitrateController::ChooseSettings(21000, {}, false, 20, 28);
  EXPECT_EQ(at_20k.frame_ms, 60);
  EXPECT_GT(at_20k.opus_bitrate_bps, 10000);
}

TEST(BitrateControllerTest, CopiesArePaidFromTheBudget) {
  LossProtection copies;
  copies.redundant_distances = {1, 2};
  const MediaSettings plain = BitrateController::ChooseSettings(64000, {}, false, 20, 28);
  const MediaSettings safe = BitrateController::ChooseSettings(64000, copies, false, 20, 28);
  EXPECT_EQ(safe.protection.redundant_distances.size(), 2u);
  EXPECT_LT(safe.opus_bitrate_bps, plain.opus_bitrate_bps);
  EXPECT_LE(WireBps(safe), 64000);
  // Too little budget for two copies: fewer.
  const MediaSettings tight = BitrateController::ChooseSettings(14000, copies, false, 60, 28);
  EXPECT_LT(tight.protection.redundant_distances.size(), 2u);
}

TEST(BitrateControllerTest, RisingQueueCutsBelowWhatArrived) {
  Driver d;
  d.SendFor(kInterval, 60);
  d.Report(0, 60);
  d.SendFor(kInterval, 60);
  d.Report(10, 60);
  d.SendFor(kInterval, 60);
  d.Report(120, 24);  // a queue builds and only 24 kbit/s get through
  EXPECT_LE(d.controller.target_wire_bps(), 0.85 * 24000 + 1);
  EXPECT_LE(d.controller.settings().expected_wire_bps, 24000);
  // The queue drains (still high, but falling): no second cut.
  const double after_cut = d.controller.target_wire_bps();
  d.SendFor(kInterval, 20);
  d.Report(60, 24);
  EXPECT_GE(d.controller.target_wire_bps(), after_cut);
}

TEST(BitrateControllerTest, FlatHighQueueHoldsAndQuietGrows) {
  Driver d;
  d.SendFor(kInterval, 60);
  d.Report(150, 60);  // first report: no trend yet, no loss: a long path, not our queue
  const double start = d.controller.target_wire_bps();
  for (int i = 0; i < 5; ++i) {
    d.SendFor(kInterval, 60);
    d.Report(150, 60);
  }
  EXPECT_EQ(d.controller.target_wire_bps(), start);
  BitrateControllerConfig config;
  config.start_wire_bps = 20000;
  Driver quiet(config);
  quiet.SendFor(kInterval, 20);
  quiet.Report(0, 20);
  EXPECT_NEAR(quiet.controller.target_wire_bps(), 24000, 1);  // +20 % a second
}

TEST(BitrateControllerTest, NoReportsNoChange) {
  Driver d;
  d.SendFor(kInterval, 60);
  d.Report(0, 60);
  const MediaSettings before = d.controller.settings();
  d.SendFor(seconds(5), 60);  // an outage: nothing comes back
  EXPECT_EQ(d.controller.settings(), before);
}

TEST(BitrateControllerTest, RandomLossBuysProtectionNotACut) {
  Driver d;
  d.SendFor(kInterval, 60);
  d.Report(0, 60);
  const double before = d.controller.target_wire_bps();
  d.SendFor(kInterval, 60);
  const MediaSettings& s = d.Report(2, 51, 0.15);
  EXPECT_EQ(s.protection.redundant_distances.size(), 2u);
  EXPECT_GE(d.controller.target_wire_bps(), before);
}

TEST(BitrateControllerTest, OlderPeerStillSteersProtection) {
  BitrateController c;
  EXPECT_TRUE(c.OnReceiverReportLoss(0.02, TimePoint{}).protection.fec);
  // Once quality reports come, 0x01 loss no longer counts.
  c.OnQualityReport({}, TimePoint{} + seconds(1));
  const MediaSettings s = c.OnReceiverReportLoss(0.5, TimePoint{} + seconds(2));
  EXPECT_TRUE(s.protection.redundant_distances.empty());
}

// A sender that spends a share of its budget (`speech`: 1 spends it all, less is VBR
// speech in pauses) through a fluid drop-tail bottleneck, 20 ms packets padded up to
// the controller's floor while it probes, a report every second with the mean queue
// over it (as the peer measures it).
struct Bottleneck {
  BitrateController controller;
  TimePoint now{};
  double rate_bps = 1e6;
  double queue_ms = 0;  // drop-tail at 200 ms
  double max_queue_ms = 0;
  double sent_bits = 0, delivered_bits = 0;
  double speech = 1;
  int probes = 0;
  Duration longest_probe{};
  std::optional<TimePoint> probe_since;

  void Second() {
    sent_bits = delivered_bits = 0;
    double queue_sum_ms = 0;
    for (int i = 0; i < 50; ++i) {
      now += milliseconds(20);
      // Sealed bytes as the padding buckets round the floor up.
      std::size_t sealed = static_cast<std::size_t>(std::max(1.0, speech * controller.target_wire_bps() * 0.02 / 8 - 28));
      if (const std::size_t floor = controller.ProbePaddingFloor(now); floor > sealed) {
        sealed = *std::find_if(crypto::kPaddingBuckets.begin(), crypto::kPaddingBuckets.end() - 1,
                               [&](std::size_t bucket) { return bucket >= floor; });
      }
      const double bits = static_cast<double>(sealed + 28) * 8;
      controller.OnPacketSent(sealed, now);
      sent_bits += bits;
      // The queue grows by what exceeds the link, drains by what it leaves unused.
      queue_ms = std::clamp(queue_ms + (bits - rate_bps * 0.02) / rate_bps * 1000, 0.0, 200.0);
      delivered_bits += std::min(bits, rate_bps * 0.02);
      max_queue_ms = std::max(max_queue_ms, queue_ms);
      queue_sum_ms += queue_ms;
      const bool probing = controller.probe_wire_bps().has_value();
      if (probing && !probe_since) {
        ++probes;
        probe_since = now;
      } else if (!probing && probe_since) {
        longest_probe = std::max(longest_probe, now - *probe_since);
        probe_since.reset();
      }
      controller.OnTick(now);
    }
    QualityReport r;
    r.queue_delay_ms = static_cast<uint16_t>(queue_sum_ms / 50);
    // Sealed bytes only, as the peer counts them.
    r.received_bps = static_cast<uint32_t>(delivered_bits * (1 - 28.0 * 8 * 50 / std::max(1.0, sent_bits)));
    r.interval_ms = 1000;
    controller.OnQualityReport(r, now);
  }
};

// The bottleneck: below it within seconds, then no standing queue; probes above
// it rare (every 4 s) and brief (500 ms, padded to their rate but never 30 ms of it
// ahead), so the queue stays under 100 ms; when it lifts, back to 90 % of the
// start within 10 s. Whatever share of its budget the speech fills once the bottleneck
// is known: probes are padded up to their rate, so quiet speech proves a lift as fast.
class BottleneckProbeTest : public testing::TestWithParam<double> {};

TEST_P(BottleneckProbeTest, ProbesAboveAKnownBottleneckRarelyAndBrieflyAndFindsItLifted) {
  Bottleneck b;
  for (int s = 0; s < 5; ++s) b.Second();
  const double before = b.controller.target_wire_bps();
  EXPECT_EQ(before, 64000);
  b.rate_bps = 24000;
  for (int s = 0; s < 5; ++s) b.Second();  // the drop: a queue, then the cut
  ASSERT_TRUE(b.controller.known_bottleneck_wire_bps());
  EXPECT_LT(*b.controller.known_bottleneck_wire_bps(), 1.1 * 24000);
  b.speech = GetParam();
  b.max_queue_ms = 0;
  b.probes = 0;
  for (int s = 0; s < 20; ++s) {
    b.Second();
    EXPECT_LT(b.controller.known_bottleneck_wire_bps().value_or(0), 1.1 * 24000) << "at " << s;
  }
  EXPECT_LT(b.max_queue_ms, 100);
  EXPECT_GE(b.probes, 3);
  // Every 4 s, and at once after one that found no queue (three clean in a row lift it:
  // a bottleneck measured 10 % low is under two probes' reach).
  EXPECT_LE(b.probes, 8);
  EXPECT_LE(b.longest_probe, milliseconds(520));
  EXPECT_TRUE(b.controller.known_bottleneck_wire_bps()) << "a probe mistook the bottleneck for lifted";

  b.rate_bps = 1e6;  // lifted
  int seconds_to_recover = 0;
  while (seconds_to_recover < 10 && b.controller.target_wire_bps() < 0.9 * before) {
    b.Second();
    ++seconds_to_recover;
  }
  EXPECT_GE(b.controller.target_wire_bps(), 0.9 * before);
  // Probes every 4 s: up to 4 s to the first after the lift, a report for each of three,
  // then 1.5x a second.
  EXPECT_LE(seconds_to_recover, 8);
}

INSTANTIATE_TEST_SUITE_P(SpeechShares, BottleneckProbeTest, testing::Values(1.0, 0.6, 0.3));

// Reports cross the same bottleneck as media: what we send of them comes out of the
// budget, and the wire total stays within it.
TEST(BitrateControllerTest, ControlPacketsArePaidFromTheBudget) {
  int cheaper = 0;
  for (double start_bps : {20000.0, 24000.0, 32000.0, 48000.0}) {
    BitrateControllerConfig config;
    config.start_wire_bps = start_bps;
    Driver quiet(config), reporting(config);
    quiet.SendFor(kInterval, start_bps / 1000);
    reporting.SendFor(kInterval, start_bps / 1000);
    // Four 64-byte reports a second: 4 x 92 x 8 = 2.9 kbit/s on the wire.
    for (int i = 0; i < 4; ++i) reporting.controller.OnControlSent(64, reporting.now - milliseconds(250 * i));
    quiet.Report(30, start_bps / 1000);  // a queue of 30 ms: hold, so both keep the budget
    reporting.Report(30, start_bps / 1000);
    ASSERT_EQ(quiet.controller.target_wire_bps(), reporting.controller.target_wire_bps());
    EXPECT_LE(reporting.controller.settings().expected_wire_bps + 4 * 92 * 8, reporting.controller.target_wire_bps() + 1)
        << start_bps;
    if (reporting.controller.settings().expected_wire_bps < quiet.controller.settings().expected_wire_bps) ++cheaper;
    // What we sent includes them.
    EXPECT_NEAR(reporting.controller.SentWireBps(reporting.now + microseconds(1)) -
                    quiet.controller.SentWireBps(quiet.now + microseconds(1)),
                4 * 92 * 8, 1);
  }
  EXPECT_GE(cheaper, 2);  // padding buckets are coarse: not at every budget
}

// A queue that still stands once the bottleneck is measured (750 ms of reports with
// it; here one report of a second), with the budget under the 60 ms floor (16.5 kbit/s,
// and the reports of a call in trouble on top), is drained in data saving's 120 ms
// packets until a model of it at the measured rate says it is gone, and no longer:
// then 60 ms or shorter again, at 85 % of the bottleneck.
TEST(BitrateControllerTest, StandingQueueDrainsBelowTheFloorUntilGone) {
  Driver d;
  d.SendFor(kInterval, 60);
  d.Report(0, 60);
  d.SendFor(kInterval, 60);
  // Four reports a second in trouble, ~2.9 kbit/s on the wire, paid from the budget.
  for (int i = 0; i < 4; ++i) d.controller.OnControlSent(64, d.now - milliseconds(250 * i));
  const MediaSettings& draining = d.Report(200, 24, 0.5);  // the drop: a full queue
  ASSERT_TRUE(d.controller.known_bottleneck_wire_bps());
  EXPECT_NEAR(*d.controller.known_bottleneck_wire_bps(), 24000, 2500);
  EXPECT_EQ(draining.frame_ms, 120);
  EXPECT_EQ(draining.opus_bitrate_bps, 6000);
  EXPECT_TRUE(draining.dtx);
  // 200 ms at ~24 kbit/s is ~4.8 kbit, drained at ~13 kbit/s: gone within half a second.
  int ticks = 0;
  while (d.controller.settings().frame_ms == 120 && ticks < 300) {
    d.now += milliseconds(10);
    if (ticks % 12 == 0) d.controller.OnPacketSent(128, d.now);
    d.controller.OnTick(d.now);
    ++ticks;
  }
  EXPECT_GT(ticks, 20);
  EXPECT_LT(ticks, 60) << "drained too long";
  EXPECT_LE(d.controller.settings().frame_ms, 60);
  EXPECT_GE(d.controller.target_wire_bps(), 0.85 * *d.controller.known_bottleneck_wire_bps() - 1);
}

// At the floor (60 ms at 6 kbit/s, 16.5 kbit/s on the wire) a cut sends no less: a queue
// that keeps rising there cuts no further than the floor's cost (the drain is what
// sends less), so the budget is not left at the 12 kbit/s minimum to climb back from.
TEST(BitrateControllerTest, NoCutBelowWhatTheFloorSends) {
  BitrateControllerConfig config;
  config.start_wire_bps = 20000;
  Driver d(config);
  d.SendFor(kInterval, 18);
  d.Report(0, 18);
  for (int i = 0; i < 6; ++i) {
    d.SendFor(kInterval, 18);
    d.Report(45 + 10 * i, 4);  // rising, and what arrives far under what was sent
  }
  // The floor's cost as the controller sees it: 16.5 kbit/s times its VBR overshoot
  // (0.8 at least), plus reports (none here).
  EXPECT_GE(d.controller.target_wire_bps(), 0.8 * 16533);
  EXPECT_GT(d.controller.target_wire_bps(), 12000) << "cut to the minimum";
}

// A delay that steps up and stays (a slower link serializes each packet longer, a
// longer route) while everything arrives is no queue: after 2 s of it flat the budget
// grows again instead of holding until the peer's 10 s baseline forgets the old delay.
TEST(BitrateControllerTest, FlatDelayWithEverythingDeliveredIsNotAQueue) {
  BitrateControllerConfig config;
  config.start_wire_bps = 20000;
  Driver d(config);
  d.SendFor(kInterval, 20);
  d.Report(0, 20);
  const double start = d.controller.target_wire_bps();
  for (int i = 0; i < 2; ++i) {
    d.SendFor(kInterval, 20);
    d.Report(58, 20);  // flat, nothing lost, everything arrives
  }
  const double held = d.controller.target_wire_bps();
  EXPECT_LE(held, start * 1.2 + 1);  // the step itself: no growth on it
  for (int i = 0; i < 3; ++i) {
    d.SendFor(kInterval, 20);
    d.Report(58, 20);
  }
  EXPECT_GT(d.controller.target_wire_bps(), held * 1.2) << "still held by a delay that is no queue";
}

// A probe's padding is spread over its packets: none is padded above 1.5 frames of the
// probe's rate, however much the probe is owed (a 384-byte packet alone is 128 ms at
// 24 kbit/s), and it owes nothing for the time before its first packet.
TEST(BitrateControllerTest, ProbePaddingIsSpreadOverPackets) {
  Bottleneck b;
  for (int s = 0; s < 5; ++s) b.Second();
  b.rate_bps = 24000;
  for (int s = 0; s < 10; ++s) b.Second();
  ASSERT_TRUE(b.controller.known_bottleneck_wire_bps());
  // Run until a probe starts, then look at the floors it asks for, 60 ms apart.
  for (int i = 0; i < 1000 && !b.controller.probe_wire_bps(); ++i) {
    b.now += milliseconds(20);
    b.controller.OnPacketSent(100, b.now);
    b.controller.OnTick(b.now);
    if (i % 50 == 49) {
      QualityReport r;
      r.received_bps = 16000;
      r.interval_ms = 1000;
      b.controller.OnQualityReport(r, b.now);
    }
  }
  ASSERT_TRUE(b.controller.probe_wire_bps());
  const double rate = *b.controller.probe_wire_bps();
  const int frame_ms = b.controller.settings().frame_ms;
  b.now += milliseconds(200);  // late: the time before the first packet owes nothing
  for (int i = 0; i < 5 && b.controller.probe_wire_bps(); ++i) {
    const std::size_t floor = b.controller.ProbePaddingFloor(b.now);
    EXPECT_LE(static_cast<double>(floor + 28), 1.5 * rate * frame_ms / 1000 / 8) << i;
    b.controller.OnPacketSent(std::max<std::size_t>(floor, 100), b.now);
    b.now += milliseconds(frame_ms);
    b.controller.OnTick(b.now);
  }
}

TEST(BitrateControllerTest, DataSavingFromEitherSide) {
  BitrateControllerConfig config;
  config.data_saving = true;
  BitrateController local(config);
  EXPECT_TRUE(local.data_saving());
  EXPECT_EQ(local.settings().frame_ms, 120);
  EXPECT_EQ(local.settings().opus_bitrate_bps, 6000);
  EXPECT_TRUE(local.settings().dtx);
  // Every packet in the 128-byte bucket: 128 - 25 sealing - 7 payload header.
  EXPECT_EQ(local.settings().max_opus_bytes, 96);
  EXPECT_NEAR(local.settings().expected_wire_bps, (128.0 + 28) * 8 / 0.12, 1);
  EXPECT_LE(local.settings().expected_wire_bps, 12000);

  BitrateController asked;
  EXPECT_FALSE(asked.data_saving());
  QualityReport r;
  r.data_saving = true;
  EXPECT_EQ(asked.OnQualityReport(r, TimePoint{} + seconds(1)).frame_ms, 120);
  EXPECT_TRUE(asked.data_saving());
  r.data_saving = false;
  const MediaSettings after = asked.OnQualityReport(r, TimePoint{} + seconds(2));
  EXPECT_FALSE(asked.data_saving());
  EXPECT_LE(after.frame_ms, 60);
  EXPECT_EQ(after.max_opus_bytes, 0);
}

}  // namespace
}  // namespace parley::call
