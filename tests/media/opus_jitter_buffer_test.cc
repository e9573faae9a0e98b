// The jitter buffer with real Opus (encoder and decoder) on a synthetic voiced signal:
// clean playout, FEC and PLC recovery, jitter with time stretching, and the playout
// timestamp still naming the audio that is heard.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numbers>

#include "parley/base/random.h"
#include "parley/media/jitter_buffer.h"
#include "parley/media/opus_decoder.h"
#include "parley/media/opus_encoder.h"

namespace parley::media {
namespace {

// Vowel-like: 14 harmonics of a 140 Hz voice with a falling spectrum and a slow pitch glide.
Samples Voiced(int samples) {
  Samples x(static_cast<size_t>(samples));
  double phase = 0;
  for (int i = 0; i < samples; ++i) {
    const double f0 = 140 + 10 * std::sin(2 * std::numbers::pi * 0.5 * i / kSampleRateHz);
    phase += 2 * std::numbers::pi * f0 / kSampleRateHz;
    double v = 0;
    for (int h = 1; h <= 14; ++h) v += std::sin(h * phase + 0.3 * h) / h;
    x[static_cast<size_t>(i)] = static_cast<Sample>(std::lround(4000 * v));
  }
  return x;
}

double Correlation(std::span<const Sample> a, std::span<const Sample> b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0;
}

struct Outcome {
  JitterBufferStats stats;
  Samples played;
  std::vector<std::optional<uint32_t>> timestamps;
  size_t first_real_block = 0;
};

// The input in 20 ms Opus frames with in-band FEC (or as configured).
std::vector<EncodedFrame> Encode(const Samples& input, bool fec = true,
                                 OpusEncoderConfig config = {.frame_ms = 20, .bitrate_bps = 32000}) {
  config.fec = fec;
  config.expected_loss_percent = 10;
  auto encoder = OpusEncoder::Create(config);
  EXPECT_TRUE(encoder.ok());
  std::vector<EncodedFrame> frames;
  const auto n = static_cast<size_t>((*encoder)->FrameSamples());
  for (size_t k = 0; k + n <= input.size(); k += n) {
    auto frame = (*encoder)->Encode(std::span<const Sample>(input).subspan(k, n));
    EXPECT_TRUE(frame.ok());
    frames.push_back(*frame);
  }
  return frames;
}

// Sends frame k at (k+1)·frame_ms + delay(k) (negative: lost); pulls every 10 ms for
// the whole signal plus `tail_ms`.
template <typename DelayFn>
Outcome Simulate(const std::vector<EncodedFrame>& frames, DelayFn delay_ms, JitterBufferConfig config = {},
                 double tail_ms = 300, int frame_ms = 20) {
  auto decoder = OpusDecoder::Create();
  EXPECT_TRUE(decoder.ok());
  std::multimap<double, MediaPacket> schedule;
  for (size_t k = 0; k < frames.size(); ++k) {
    const double delay = delay_ms(static_cast<int>(k));
    if (delay < 0) continue;
    MediaPacket packet;
    packet.sequence = static_cast<uint16_t>(k);
    packet.primary = frames[k];
    schedule.emplace(static_cast<double>(k + 1) * frame_ms + delay, std::move(packet));
  }
  JitterBuffer jb(**decoder, config);
  Outcome out;
  for (double t = 5; t < static_cast<double>(frames.size()) * frame_ms + tail_ms; t += 10) {
    while (!schedule.empty() && schedule.begin()->first <= t) {
      jb.Insert(schedule.begin()->second, TimePoint{} + FromMillis(schedule.begin()->first));
      schedule.erase(schedule.begin());
    }
    std::array<Sample, kBlockSamples> block{};
    jb.Pull(TimePoint{} + FromMillis(t), block);
    out.played.insert(out.played.end(), block.begin(), block.end());
    out.timestamps.push_back(jb.LastPlayoutTimestamp());
  }
  out.stats = jb.stats();
  while (out.first_real_block < out.timestamps.size() && !out.timestamps[out.first_real_block]) ++out.first_real_block;
  return out;
}

// Largest sample-to-sample step once playout is under way (the signal's onset from
// silence at the start is its own step, not the buffer's).
int MaxStep(const Outcome& out) {
  int step = 0;
  for (size_t i = (out.first_real_block + 2) * kBlockSamples; i < out.played.size(); ++i) {
    step = std::max(step, std::abs(out.played[i] - out.played[i - 1]));
  }
  return step;
}

// Fraction of real blocks whose audio best matches the input at the block's timestamp
// (less Opus' lookahead) within 1 ms, over every third block. The lag search spans less than half a pitch
// period either way, so a timestamp off by a stretched period would show.
double TimestampAgreement(const Outcome& out, const Samples& input) {
  constexpr int kLookahead = 312, kSearch = 150, kTolerance = 48;
  int real = 0, agree = 0;
  for (size_t b = 0; b < out.timestamps.size(); b += 3) {  // a sample of blocks keeps it quick
    if (!out.timestamps[b]) continue;
    const int64_t at = static_cast<int64_t>(*out.timestamps[b]) - kLookahead;
    if (at < kSearch || at + kBlockSamples + kSearch > static_cast<int64_t>(input.size())) continue;
    ++real;
    const auto heard = std::span<const Sample>(out.played).subspan(b * kBlockSamples, kBlockSamples);
    int best_lag = 0;
    double best = -2;
    const auto try_lag = [&](int lag) {
      const double c = Correlation(heard, std::span<const Sample>(input).subspan(static_cast<size_t>(at + lag), kBlockSamples));
      if (c > best) {
        best = c;
        best_lag = lag;
      }
    };
    for (int lag = -kSearch; lag <= kSearch; lag += 4) try_lag(lag);  // coarse, then refine
    const int coarse = best_lag;
    for (int lag = std::max(-kSearch, coarse - 3); lag <= std::min(kSearch, coarse + 3); ++lag) try_lag(lag);
    agree += std::abs(best_lag) <= kTolerance && best > 0.5 ? 1 : 0;
  }
  return real ? static_cast<double>(agree) / real : 0;
}

TEST(OpusJitterBufferTest, CleanNetworkPlaysEverythingAtOneFrame) {
  const Samples input = Voiced(3 * kSampleRateHz);
  const Outcome out = Simulate(Encode(input, /*fec=*/false), [](int) { return 40.0; }, {}, 60);
  EXPECT_EQ(out.stats.frames_decoded, 150u);
  EXPECT_EQ(out.stats.concealed_ms, 0u);
  EXPECT_EQ(out.stats.target_delay_ms, 20);
  EXPECT_GE(TimestampAgreement(out, input), 0.95);
}

TEST(OpusJitterBufferTest, FecInTheStreamBuysOneFrameOfRoomForIt) {
  // FEC for a lost frame rides in the next packet: the target leaves room for it.
  const Samples input = Voiced(3 * kSampleRateHz);
  const Outcome out = Simulate(Encode(input, /*fec=*/true), [](int) { return 40.0; }, {}, 60);
  EXPECT_EQ(out.stats.concealed_ms, 0u);
  EXPECT_EQ(out.stats.target_delay_ms, 50);  // a frame and a playout block
}

TEST(OpusJitterBufferTest, LossIsRecoveredByFecOrConcealedSmoothly) {
  const Samples input = Voiced(4 * kSampleRateHz);
  const std::vector<EncodedFrame> frames = Encode(input);
  auto decoder = OpusDecoder::Create();
  ASSERT_TRUE(decoder.ok());
  // Lose 6 frames whose successor carries FEC (libopus adds it to some frames, not all),
  // and 6 others whose successor doesn't.
  std::vector<bool> lost_fec(frames.size(), false), lost_plc(frames.size(), false);
  int with_fec = 0, without_fec = 0;
  for (size_t k = 10; k + 1 < frames.size(); ++k) {
    const bool has_fec = (*decoder)->HasFec(frames[k + 1].payload);
    if (has_fec && with_fec < 6) {
      lost_fec[k] = true;
      ++with_fec;
      k += 8;
    } else if (!has_fec && without_fec < 6) {
      lost_plc[k] = true;
      ++without_fec;
      k += 8;
    }
  }
  ASSERT_EQ(with_fec, 6);
  ASSERT_EQ(without_fec, 6);
  const auto fec_delay = [&](int k) { return lost_fec[static_cast<size_t>(k)] ? -1.0 : 40.0; };
  const auto plc_delay = [&](int k) { return lost_plc[static_cast<size_t>(k)] ? -1.0 : 40.0; };
  // With 60 ms buffered the next packet is there in time, so its FEC is used in place.
  const Outcome fec = Simulate(frames, fec_delay, {.min_delay_ms = 60});
  EXPECT_EQ(fec.stats.frames_from_fec, 6u);
  EXPECT_EQ(fec.stats.frames_concealed, 0u);
  EXPECT_EQ(fec.stats.merge_count, 0u);
  // The buffer's own target leaves room for FEC once it has seen FEC in the stream, so
  // the next packet is there in time at the default settings too.
  const Outcome late_fec = Simulate(frames, fec_delay);
  EXPECT_EQ(late_fec.stats.frames_from_fec, 6u);
  EXPECT_EQ(late_fec.stats.frames_concealed, 0u);
  // Without FEC the loss is concealed and merged.
  const Outcome plc = Simulate(frames, plc_delay);
  EXPECT_EQ(plc.stats.frames_concealed, 6u);
  EXPECT_EQ(plc.stats.frames_from_fec, 0u);
  EXPECT_GE(plc.stats.merge_count, 6u);

  const int natural = MaxStep(Simulate(frames, [](int) { return 40.0; }));
  EXPECT_LE(MaxStep(fec), natural * 3 / 2);
  EXPECT_LE(MaxStep(late_fec), natural * 3 / 2);
  EXPECT_LE(MaxStep(plc), natural * 3 / 2);
}

// Data saving's 120 ms packets (two 60 ms SILK frames each): played whole and in
// time, and a lost one recovered in part by the next packet's FEC where it has some
// (libopus' LBRR in the first frame covers the lost packet's last 60 ms; here it codes
// it in about 40 % of packets) or concealed.
TEST(OpusJitterBufferTest, LongPacketsPlayAndLossIsRecovered) {
  const Samples input = Voiced(6 * kSampleRateHz);
  const OpusEncoderConfig long_packets{.frame_ms = 120, .bitrate_bps = 24000};
  const std::vector<EncodedFrame> frames = Encode(input, /*fec=*/true, long_packets);
  ASSERT_EQ(frames.size(), 50u);
  const Outcome clean = Simulate(frames, [](int) { return 40.0; }, {}, 300, 120);
  EXPECT_EQ(clean.stats.frames_decoded, 50u);
  EXPECT_EQ(clean.stats.malformed_frames, 0u);
  EXPECT_LE(clean.stats.concealed_ms, 20u);  // at most one start-up wait
  EXPECT_GE(TimestampAgreement(clean, input), 0.9);

  auto decoder = OpusDecoder::Create();
  ASSERT_TRUE(decoder.ok());
  int with_fec = 0;
  for (size_t k = 1; k < frames.size(); ++k) with_fec += (*decoder)->HasFec(frames[k].payload);
  EXPECT_GT(with_fec, 10);
  const Outcome lossy = Simulate(frames, [](int k) { return k % 10 == 5 ? -1.0 : 40.0; }, {}, 300, 120);
  EXPECT_EQ(lossy.stats.frames_decoded, 45u);
  EXPECT_EQ(lossy.stats.frames_from_fec + lossy.stats.frames_concealed, 5u);
  EXPECT_GE(lossy.stats.frames_from_fec, 1u);
  EXPECT_GE(TimestampAgreement(lossy, input), 0.8);
}

TEST(OpusJitterBufferTest, JitterIsAbsorbedByStretchingAndTimestampsStayExact) {
  const Samples input = Voiced(5 * kSampleRateHz);
  const std::vector<EncodedFrame> frames = Encode(input);
  Random rng(21);
  std::vector<double> delays;
  for (size_t k = 0; k < frames.size(); ++k) delays.push_back(40 + rng.Uniform() * 30);
  const Outcome out = Simulate(frames, [&](int k) { return delays[static_cast<size_t>(k)]; });
  EXPECT_LE(out.stats.late_frames, 4u);
  EXPECT_GT(out.stats.accelerate_count + out.stats.expand_count, 0u);
  EXPECT_GE(TimestampAgreement(out, input), 0.9);
  EXPECT_LE(MaxStep(out), MaxStep(Simulate(frames, [](int) { return 40.0; })) * 3 / 2);
}

}  // namespace
}  // namespace parley::media
