// JitterBuffer end to end in simulated time, with a fake decoder whose output says exactly
// what was played: ordering, loss recovery, DTX, wrap, delay adaptation and continuity.
#include "parley/media/jitter_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "fake_audio_decoder.h"
#include "parley/base/random.h"
#include "parley/media/merge.h"

namespace parley::media {
namespace {

using fake::FakeAudioDecoder;
using fake::FakePayload;
using fake::FakeSignal;

struct FrameSpec {
  uint16_t sequence;
  uint32_t timestamp;
  int samples;
};

MediaPacket Packet(const FrameSpec& f, uint8_t flags = 0, const std::vector<FrameSpec>& copies = {}) {
  MediaPacket p;
  p.sequence = f.sequence;
  p.primary = {f.timestamp, FakePayload(f.timestamp, f.samples, flags)};
  for (const FrameSpec& c : copies) p.redundant.push_back({c.timestamp, FakePayload(c.timestamp, c.samples)});
  return p;
}

// A call in simulated time: packets are scheduled by arrival time, Pull runs every 10 ms
// (at pull_offset_ms + 10 k), and packets due at or before a pull are inserted first.
class Sim {
 public:
  explicit Sim(FakeSignal signal = FakeSignal::kMarker, JitterBufferConfig config = {}, double pull_offset_ms = 5)
      : decoder(signal), jb(decoder, config), next_pull_ms_(pull_offset_ms) {}

  void Deliver(double arrival_ms, MediaPacket packet) { schedule_.emplace(arrival_ms, std::move(packet)); }

  // Sends frames [first, first + count) of a stream of `frame_ms` frames whose frame k is
  // captured over [k, k+1) frame lengths after `start_ms` and sent at the end of capture.
  // `delay_ms(k)` is the network delay, negative to drop the packet.
  template <typename DelayFn>
  void SendStream(int first, int count, int frame_ms, DelayFn delay_ms, uint16_t first_sequence = 0,
                  uint32_t first_timestamp = 0, double start_ms = 0) {
    for (int k = first; k < first + count; ++k) {
      const double delay = delay_ms(k);
      if (delay < 0) continue;
      const FrameSpec f{static_cast<uint16_t>(first_sequence + k),
                        first_timestamp + static_cast<uint32_t>(k * frame_ms * kSamplesPerMs), frame_ms * kSamplesPerMs};
      Deliver(start_ms + (k + 1) * frame_ms + delay, Packet(f));
    }
  }

  void RunUntil(double end_ms) {
    while (next_pull_ms_ <= end_ms) {
      while (!schedule_.empty() && schedule_.begin()->first <= next_pull_ms_) {
        jb.Insert(schedule_.begin()->second, TimePoint{} + FromMillis(schedule_.begin()->first));
        schedule_.erase(schedule_.begin());
      }
      std::array<Sample, kBlockSamples> block{};
      jb.Pull(TimePoint{} + FromMillis(next_pull_ms_), block);
      played.insert(played.end(), block.begin(), block.end());
      block_timestamps.push_back(jb.LastPlayoutTimestamp());
      block_times_ms.push_back(next_pull_ms_);
      next_pull_ms_ += 10;
    }
  }

  // Runs until every scheduled packet is in and all buffered audio has been played, and
  // not one pull further (which would have nothing to play and conceal).
  void RunUntilDrained() {
    while (!schedule_.empty()) RunUntil(next_pull_ms_);
    while (jb.stats().current_delay_ms > 0) RunUntil(next_pull_ms_);
  }

  // Mouth-to-ear delay of block i (ms) for a stream that started capturing at `start_ms`
  // with timestamp `first_timestamp`.
  std::optional<double> MouthToEarMs(size_t i, uint32_t first_timestamp = 0, double start_ms = 0) const {
    if (!block_timestamps[i]) return std::nullopt;
    const auto offset = static_cast<uint32_t>(*block_timestamps[i] - first_timestamp);
    return block_times_ms[i] - start_ms - static_cast<double>(offset) / kSamplesPerMs;
  }

  // Largest sample-to-sample step after the first block of received audio (the onset
  // from the initial silence is the signal's own step, not the buffer's).
  int MaxStep(size_t from_sample = 0) const {
    size_t first_real = 0;
    while (first_real < block_timestamps.size() && !block_timestamps[first_real]) ++first_real;
    int step = 0;
    for (size_t i = std::max<size_t>(from_sample, (first_real + 1) * kBlockSamples); i < played.size(); ++i) {
      step = std::max(step, std::abs(played[i] - played[i - 1]));
    }
    return step;
  }

  FakeAudioDecoder decoder;
  JitterBuffer jb;
  std::vector<Sample> played;
  std::vector<std::optional<uint32_t>> block_timestamps;
  std::vector<double> block_times_ms;

 private:
  std::multimap<double, MediaPacket> schedule_;
  double next_pull_ms_;
};

// The fake tone's largest natural sample-to-sample step.
int ToneMaxStep() {
  int step = 0;
  for (int i = 1; i < 48000; ++i) {
    step = std::max(step, static_cast<int>(std::abs(std::lround(FakeAudioDecoder::Tone(i)) -
                                                    std::lround(FakeAudioDecoder::Tone(i - 1)))));
  }
  return step;
}

// True if block i is exactly the decoded frame audio for timestamps ts .. ts + 479.
bool BlockIsExactly(const Sim& sim, size_t block, uint32_t ts, size_t from = 0) {
  for (size_t i = from; i < kBlockSamples; ++i) {
    if (sim.played[block * kBlockSamples + i] != FakeAudioDecoder::MarkerSample(ts + static_cast<uint32_t>(i))) return false;
  }
  return true;
}

// Every block from the first real one on plays the next 480 timestamps, exactly.
void ExpectContiguousExactPlayout(const Sim& sim, size_t until_block) {
  std::optional<uint32_t> expected;
  for (size_t b = 0; b < until_block; ++b) {
    const auto& ts = sim.block_timestamps[b];
    if (!expected) {
      if (!ts) continue;
      expected = *ts;
    }
    ASSERT_TRUE(ts) << "block " << b;
    ASSERT_EQ(*ts, *expected) << "block " << b;
    ASSERT_TRUE(BlockIsExactly(sim, b, *ts)) << "block " << b;
    *expected += kBlockSamples;
  }
  ASSERT_TRUE(expected) << "nothing played";
}

// ---- Clean network ----

class CleanStreamTest : public ::testing::TestWithParam<int> {};

TEST_P(CleanStreamTest, PlaysAfterOneFrameAndConcealsNothing) {
  const int frame_ms = GetParam();
  Sim sim;
  const int frames = 3000 / frame_ms;
  sim.SendStream(0, frames, frame_ms, [](int) { return 40.0; });
  sim.RunUntilDrained();
  ExpectContiguousExactPlayout(sim, sim.played.size() / kBlockSamples - 10);

  // Added delay = mouth-to-ear − network: the frame itself plus the pull phase (5 ms).
  double max_added = 0;
  for (size_t b = 0; b < sim.block_timestamps.size(); ++b) {
    if (auto m2e = sim.MouthToEarMs(b)) max_added = std::max(max_added, *m2e - 40);
  }
  EXPECT_LE(max_added, frame_ms + 5 + 1e-9);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.target_delay_ms, frame_ms);
  EXPECT_EQ(s.frames_concealed, 0u);
  EXPECT_EQ(s.concealed_ms, 0u);
  EXPECT_EQ(s.late_frames, 0u);
  EXPECT_EQ(s.accelerate_count + s.expand_count + s.merge_count, 0u);
  EXPECT_EQ(s.frames_decoded, static_cast<uint64_t>(frames));
  EXPECT_EQ(s.packets_received, static_cast<uint64_t>(frames));
  EXPECT_LE(s.max_delay_ms, frame_ms + 1e-9);
}

INSTANTIATE_TEST_SUITE_P(FrameSizes, CleanStreamTest, ::testing::Values(10, 20, 40, 60));

TEST(JitterBufferTest, SilenceBeforeTheFirstPacket) {
  Sim sim;
  sim.RunUntil(100);
  EXPECT_TRUE(std::all_of(sim.played.begin(), sim.played.end(), [](Sample s) { return s == 0; }));
  EXPECT_TRUE(std::none_of(sim.block_timestamps.begin(), sim.block_timestamps.end(), [](auto t) { return t.has_value(); }));
  EXPECT_EQ(sim.jb.stats().concealed_ms, 0u);
}

// ---- Ordering, duplicates, lateness, wrap ----

TEST(JitterBufferTest, ReorderingWithinTheTargetIsPlayedInOrder) {
  Sim sim(FakeSignal::kMarker, {.min_delay_ms = 60});
  // Frame 10 arrives 25 ms late, after frame 11; frames 30 and 31 swap too.
  sim.SendStream(0, 100, 20, [](int k) { return k == 10 || k == 30 ? 65.0 : 40.0; });
  sim.RunUntilDrained();
  ExpectContiguousExactPlayout(sim, 200);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.late_frames, 0u);
  EXPECT_EQ(s.concealed_ms, 0u);
  EXPECT_EQ(s.frames_decoded, 100u);
}

TEST(JitterBufferTest, DuplicatesAreCountedAndPlayedOnce) {
  Sim sim;
  sim.SendStream(0, 50, 20, [](int) { return 40.0; });
  sim.Deliver(11 * 20 + 40 + 1, Packet({10, 10 * 960, 960}));    // while held
  sim.Deliver(11 * 20 + 40 + 300, Packet({10, 10 * 960, 960}));  // long after it played
  sim.RunUntilDrained();
  ExpectContiguousExactPlayout(sim, 100);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.duplicate_frames, 2u);
  EXPECT_EQ(s.late_frames, 0u);
  EXPECT_EQ(s.frames_decoded, 50u);
  EXPECT_EQ(sim.decoder.counts().decode, 50);
}

TEST(JitterBufferTest, LatePacketIsLateLossAndNotPlayed) {
  Sim sim;
  sim.SendStream(0, 60, 20, [](int k) { return k == 10 ? 140.0 : 40.0; });
  sim.RunUntil(1300);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.late_frames, 1u);
  EXPECT_EQ(s.frames_concealed, 1u);
  EXPECT_EQ(s.frames_decoded, 59u);
  for (const auto& ts : sim.block_timestamps) {
    if (ts) {
      EXPECT_FALSE(*ts >= 10 * 960 && *ts < 11 * 960) << *ts;
    }
  }
  // Everything else was played, and frame 11 onwards exactly (after the merge's fade).
  size_t b11 = 0;
  while (b11 < sim.block_timestamps.size() && sim.block_timestamps[b11] != 11u * 960) ++b11;
  ASSERT_LT(b11, sim.block_timestamps.size());
  EXPECT_TRUE(BlockIsExactly(sim, b11, 11 * 960, 240));
  ExpectContiguousExactPlayout(sim, b11 - 2);  // up to frame 10, which is two blocks of PLC
  EXPECT_FALSE(sim.block_timestamps[b11 - 1]);
  EXPECT_FALSE(sim.block_timestamps[b11 - 2]);
}

TEST(JitterBufferTest, SequenceAndTimestampWrapMidStream) {
  Sim sim;
  const uint32_t first_ts = 0xFFFFFFFFu - 20 * 960 + 1;
  sim.SendStream(0, 60, 20, [](int) { return 40.0; }, /*first_sequence=*/65520, first_ts);
  sim.RunUntilDrained();
  ExpectContiguousExactPlayout(sim, 125);
  // The playout timestamps crossed 2^32.
  EXPECT_TRUE(std::any_of(sim.block_timestamps.begin(), sim.block_timestamps.end(),
                          [](auto t) { return t && *t < 960; }));
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_decoded, 60u);
  EXPECT_EQ(s.concealed_ms + s.late_frames + s.duplicate_frames, 0u);
  for (size_t b = 0; b < 120; ++b) {
    if (auto m2e = sim.MouthToEarMs(b, first_ts)) {
      EXPECT_NEAR(*m2e, 40 + 25, 1e-6) << b;
    }
  }
}

// ---- DTX ----

TEST(JitterBufferTest, DtxPauseIsNotLoss) {
  Sim sim;
  // 20 frames, a 400 ms pause (timestamps jump, sequence numbers don't), 30 more frames.
  const int pause_frames = 20;
  for (int k = 0; k < 50; ++k) {
    const int slot = k < 20 ? k : k + pause_frames;
    sim.Deliver((slot + 1) * 20 + 40, Packet({static_cast<uint16_t>(k), static_cast<uint32_t>(slot * 960), 960}));
  }
  sim.RunUntilDrained();
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_concealed, 0u);
  EXPECT_EQ(s.late_frames, 0u);
  EXPECT_EQ(s.frames_decoded, 50u);
  EXPECT_NEAR(static_cast<double>(s.dtx_ms), 400, 10);
  EXPECT_EQ(s.underrun_ms, 0u);
  EXPECT_EQ(s.concealed_ms, s.dtx_ms);
  // After the pause the delay is what it was before it.
  for (size_t b = 0; b < sim.block_timestamps.size(); ++b) {
    if (auto m2e = sim.MouthToEarMs(b)) {
      EXPECT_NEAR(*m2e, 65, 10.01) << b;
    }
  }
}

// ---- Loss recovery ----

TEST(JitterBufferTest, LostFrameRecoveredFromRedundantCopy) {
  Sim sim(FakeSignal::kMarker, {.min_delay_ms = 60});
  for (int k = 0; k < 40; ++k) {
    if (k == 10) continue;  // lost; packet 11 carries copies of frames 9 and 10
    std::vector<FrameSpec> copies;
    if (k == 11) copies = {{9, 9 * 960, 960}, {10, 10 * 960, 960}};
    sim.Deliver((k + 1) * 20 + 40, Packet({static_cast<uint16_t>(k), static_cast<uint32_t>(k * 960), 960}, 0, copies));
  }
  sim.RunUntilDrained();
  ExpectContiguousExactPlayout(sim, 85);  // frame 10's exact samples included
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_from_redundancy, 1u);
  EXPECT_EQ(s.frames_decoded, 39u);
  EXPECT_EQ(s.redundant_copies_unused, 1u);  // the copy of frame 9
  EXPECT_EQ(s.concealed_ms + s.frames_concealed, 0u);
}

TEST(JitterBufferTest, RedundantCopyArrivingLateIsStillPlayed) {
  // Minimal buffering: the copy comes 20 ms after frame 10 was due. The buffer waited
  // (concealing) rather than declaring it lost, so it is played, merged in.
  Sim sim;
  for (int k = 0; k < 40; ++k) {
    if (k == 10) continue;
    std::vector<FrameSpec> copies;
    if (k == 11) copies = {{10, 10 * 960, 960}};
    sim.Deliver((k + 1) * 20 + 40, Packet({static_cast<uint16_t>(k), static_cast<uint32_t>(k * 960), 960}, 0, copies));
  }
  sim.RunUntilDrained();
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_from_redundancy, 1u);
  EXPECT_EQ(s.frames_concealed, 0u);
  EXPECT_EQ(s.underrun_ms, 20u);
  EXPECT_EQ(s.merge_count, 1u);
  size_t b10 = 0;
  while (b10 < sim.block_timestamps.size() && sim.block_timestamps[b10] != 10u * 960) ++b10;
  ASSERT_LT(b10, sim.block_timestamps.size());
  EXPECT_TRUE(BlockIsExactly(sim, b10, 10 * 960, Merge::kCrossfadeSamples));
  EXPECT_TRUE(BlockIsExactly(sim, b10 + 1, 10 * 960 + 480));
}

TEST(JitterBufferTest, LostFrameRecoveredFromFec) {
  Sim sim(FakeSignal::kMarker, {.min_delay_ms = 60});
  for (int k = 0; k < 40; ++k) {
    if (k == 10) continue;
    const uint8_t flags = k == 11 ? fake::kFakeHasFec : 0;
    sim.Deliver((k + 1) * 20 + 40, Packet({static_cast<uint16_t>(k), static_cast<uint32_t>(k * 960), 960}, flags));
  }
  sim.RunUntilDrained();
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_from_fec, 1u);
  EXPECT_EQ(s.frames_concealed, 0u);
  EXPECT_EQ(s.concealed_ms, 0u);
  // Frame 10's slot holds FEC output for exactly its timestamps; LastPlayoutTimestamp too.
  size_t b10 = 0;
  while (b10 < sim.block_timestamps.size() && sim.block_timestamps[b10] != 10u * 960) ++b10;
  ASSERT_LT(b10, sim.block_timestamps.size());
  for (size_t i = 0; i < 960; ++i) {
    ASSERT_EQ(sim.played[b10 * kBlockSamples + i], FakeAudioDecoder::FecMarkerSample(10 * 960 + static_cast<uint32_t>(i))) << i;
  }
  EXPECT_TRUE(BlockIsExactly(sim, b10 + 2, 11 * 960));
}

TEST(JitterBufferTest, FecArrivingAfterTheLostFramesTimeIsStillPlayed) {
  // One frame of buffering: packet 11 (with FEC for 10) comes 20 ms after frame 10 was
  // due. The wait was concealed; the FEC audio follows it, merged, and the delay grows
  // by a frame instead of the frame being lost.
  Sim sim;
  for (int k = 0; k < 40; ++k) {
    if (k == 10) continue;
    const uint8_t flags = k == 11 ? fake::kFakeHasFec : 0;
    sim.Deliver((k + 1) * 20 + 40, Packet({static_cast<uint16_t>(k), static_cast<uint32_t>(k * 960), 960}, flags));
  }
  sim.RunUntilDrained();
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_from_fec, 1u);
  EXPECT_EQ(s.frames_concealed, 0u);
  EXPECT_EQ(s.concealed_ms, 20u);
  EXPECT_EQ(s.merge_count, 1u);
  size_t b10 = 0;
  while (b10 < sim.block_timestamps.size() && sim.block_timestamps[b10] != 10u * 960) ++b10;
  ASSERT_LT(b10 + 2, sim.block_timestamps.size());
  EXPECT_FALSE(sim.block_timestamps[b10 - 1]);  // the wait
  for (size_t i = Merge::kCrossfadeSamples; i < 960; ++i) {
    ASSERT_EQ(sim.played[b10 * kBlockSamples + i], FakeAudioDecoder::FecMarkerSample(10 * 960 + static_cast<uint32_t>(i))) << i;
  }
  EXPECT_TRUE(BlockIsExactly(sim, b10 + 2, 11 * 960));
}

TEST(JitterBufferTest, TargetLeavesRoomForCopiesWhileTheStreamCarriesThem) {
  // Copies of the previous two frames ride in every packet for the first 3 s, then stop.
  // While they come, a lost frame's copy arrives up to two packets after it: the target
  // holds two frames and a playout block more, so the copy is in hand when the frame is
  // due (no concealment, no waiting). A voiced signal, so the buffer can grow by
  // stretching it.
  Sim sim(FakeSignal::kTone);
  for (int k = 0; k < 300; ++k) {
    std::vector<FrameSpec> copies;
    if (k < 150 && k >= 2) {
      copies = {{static_cast<uint16_t>(k - 2), static_cast<uint32_t>((k - 2) * 960), 960},
                {static_cast<uint16_t>(k - 1), static_cast<uint32_t>((k - 1) * 960), 960}};
    }
    if (k == 100 || k == 101) continue;  // two in a row: only packet 102's copy saves frame 100
    sim.Deliver((k + 1) * 20 + 40, Packet({static_cast<uint16_t>(k), static_cast<uint32_t>(k * 960), 960}, 0, copies));
  }
  sim.RunUntil(1900);
  EXPECT_EQ(sim.jb.stats().target_delay_ms, 70);
  // Decisions keep the level (measured as each frame is taken) within [¾ target, target).
  EXPECT_GE(sim.jb.stats().decision_level_ms, 70 * 3 / 4) << "grown towards the target before the loss";
  sim.RunUntil(6100);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_from_redundancy, 2u);
  EXPECT_EQ(s.frames_concealed, 0u);
  EXPECT_EQ(s.underrun_ms, 0u) << "the copies were in hand when their frames were due";
  EXPECT_EQ(s.target_delay_ms, 20) << "protection that stopped 2 s ago costs no delay";
}

TEST(JitterBufferTest, LostFrameWithoutCopyOrFecIsConcealed) {
  Sim sim(FakeSignal::kMarker, {.min_delay_ms = 60});
  sim.SendStream(0, 40, 20, [](int k) { return k == 10 ? -1.0 : 40.0; });
  sim.RunUntilDrained();
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_concealed, 1u);
  EXPECT_EQ(s.concealed_ms, 20u);
  EXPECT_EQ(s.merge_count, 1u);
  EXPECT_EQ(s.frames_decoded, 39u);
  // Two blocks of PLC where frame 10 belongs, then frame 11 faded in.
  size_t b9 = 0;
  while (b9 < sim.block_timestamps.size() && sim.block_timestamps[b9] != 9u * 960 + 480) ++b9;
  ASSERT_LT(b9 + 3, sim.block_timestamps.size());
  EXPECT_FALSE(sim.block_timestamps[b9 + 1]);
  EXPECT_FALSE(sim.block_timestamps[b9 + 2]);
  for (size_t i = 0; i < 960; ++i) ASSERT_TRUE(FakeAudioDecoder::IsPlcSample(sim.played[(b9 + 1) * kBlockSamples + i])) << i;
  EXPECT_EQ(sim.block_timestamps[b9 + 3], 11u * 960);
  EXPECT_TRUE(BlockIsExactly(sim, b9 + 3, 11 * 960, Merge::kCrossfadeSamples));
}

TEST(JitterBufferTest, UndecodableAndGarbageFramesAreConcealed) {
  Sim sim(FakeSignal::kMarker, {.min_delay_ms = 60});
  for (int k = 0; k < 40; ++k) {
    MediaPacket p = Packet({static_cast<uint16_t>(k), static_cast<uint32_t>(k * 960), 960},
                           k == 10 ? fake::kFakeUndecodable : 0);
    if (k == 20) p.primary.payload = {1, 2, 3};  // not a frame at all
    sim.Deliver((k + 1) * 20 + 40, p);
  }
  sim.RunUntilDrained();
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.malformed_frames, 2u);
  EXPECT_EQ(s.frames_concealed, 2u);
  EXPECT_EQ(s.frames_decoded, 38u);
  EXPECT_EQ(s.concealed_ms, 40u);
}

TEST(JitterBufferTest, MergeAfterConcealmentHasNoClick) {
  Sim sim(FakeSignal::kTone);
  // Lost with nothing to recover from, late by a few ms, late by a lot.
  sim.SendStream(0, 150, 20, [](int k) {
    if (k == 20 || k == 60 || k == 61) return -1.0;
    if (k == 40) return 47.0;
    if (k == 100) return 95.0;
    return 40.0;
  });
  sim.RunUntil(3200);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_GE(s.merge_count, 3u);
  EXPECT_GE(s.frames_concealed, 3u);
  EXPECT_LE(sim.MaxStep(), ToneMaxStep() * 3 / 2) << "natural step " << ToneMaxStep();
}

// ---- Delay adaptation ----

// Uniformly distributed network delay: packets may overtake each other.
struct JitterRun {
  double late_loss = 0;
  double mean_added_delay_ms = 0;
  int max_step = 0;
  double timestamp_mismatch = 0;  // blocks whose first sample isn't the tone at their timestamp
};

JitterRun RunJitter(Sim& sim, double jitter_ms, double from_ms, double to_ms, uint64_t seed) {
  Random rng(seed);
  const int first = static_cast<int>(from_ms / 20), count = static_cast<int>((to_ms - from_ms) / 20);
  const size_t first_block = sim.played.size() / kBlockSamples;
  const JitterBufferStats before = sim.jb.stats();
  sim.SendStream(first, count, 20, [&](int) { return 40 + rng.Uniform() * jitter_ms; });
  sim.RunUntil(to_ms);
  const JitterBufferStats after = sim.jb.stats();
  JitterRun run;
  run.late_loss = static_cast<double>(after.late_frames - before.late_frames) / count;
  double sum = 0;
  int n = 0, mismatched = 0;
  for (size_t b = first_block + 50; b < sim.block_timestamps.size(); ++b) {
    if (auto m2e = sim.MouthToEarMs(b)) {
      sum += *m2e - 40;
      ++n;
      const double expected = FakeAudioDecoder::Tone(*sim.block_timestamps[b]);
      if (std::abs(sim.played[b * kBlockSamples] - expected) > 500) ++mismatched;
    }
  }
  run.mean_added_delay_ms = n ? sum / n : 0;
  run.timestamp_mismatch = n ? static_cast<double>(mismatched) / n : 0;
  run.max_step = sim.MaxStep(first_block * kBlockSamples + 1);
  return run;
}

TEST(JitterBufferTest, ThirtyMsJitterMeetsLateLossAndDelayGoals) {
  Sim sim(FakeSignal::kTone);
  const JitterRun run = RunJitter(sim, 30, 0, 20000, 5);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_LE(run.late_loss, 0.01);
  EXPECT_LE(run.mean_added_delay_ms, 90);
  EXPECT_GE(s.target_delay_ms, 35);
  EXPECT_LE(s.max_delay_ms, 200);
  EXPECT_LE(run.max_step, ToneMaxStep() * 3 / 2);
  // The playout timestamp names the audio that is playing, through every stretch.
  EXPECT_LE(run.timestamp_mismatch, 0.02);
  std::printf("30 ms jitter: late %.2f %%, added %.1f ms, target %.0f ms, accel %llu, expand %llu, "
              "concealed %llu ms, merges %llu\n",
              100 * run.late_loss, run.mean_added_delay_ms, s.target_delay_ms,
              static_cast<unsigned long long>(s.accelerate_count), static_cast<unsigned long long>(s.expand_count),
              static_cast<unsigned long long>(s.concealed_ms), static_cast<unsigned long long>(s.merge_count));
}

TEST(JitterBufferTest, TargetRisesWithJitterAndFallsBackWhenItStops) {
  Sim sim(FakeSignal::kTone);
  RunJitter(sim, 60, 0, 10000, 9);
  const JitterBufferStats jittery = sim.jb.stats();
  EXPECT_GE(jittery.target_delay_ms, 60);
  const JitterRun calm = RunJitter(sim, 0, 10000, 20000, 10);
  const JitterBufferStats after = sim.jb.stats();
  EXPECT_LE(after.target_delay_ms, 25);
  EXPECT_GT(after.accelerate_count, jittery.accelerate_count);  // it shed the extra delay
  EXPECT_LE(after.decision_level_ms, 36);
  // At the end the delay is back to one frame plus the pull phase.
  ASSERT_TRUE(sim.MouthToEarMs(sim.block_timestamps.size() - 1));
  EXPECT_LE(*sim.MouthToEarMs(sim.block_timestamps.size() - 1) - 40, 45);
  EXPECT_EQ(calm.late_loss, 0);
  EXPECT_LE(calm.max_step, ToneMaxStep() * 3 / 2);
}

TEST(JitterBufferTest, AccelerateShedsABacklogWithoutGaps) {
  Sim sim(FakeSignal::kTone);
  // The first 15 packets are held up and arrive together at 340 ms: 300 ms of backlog.
  sim.SendStream(0, 400, 20, [](int k) { return k < 15 ? 340.0 - (k + 1) * 20 : 40.0; });
  sim.RunUntil(8000);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_GT(s.accelerate_count, 10u);
  EXPECT_GE(s.accelerated_ms, 200u);
  EXPECT_EQ(s.concealed_ms, 0u);
  EXPECT_EQ(s.frames_discarded, 0u);
  EXPECT_LE(sim.MaxStep(), ToneMaxStep() * 3 / 2);
  const auto last = sim.MouthToEarMs(sim.block_timestamps.size() - 1);
  ASSERT_TRUE(last);
  EXPECT_LE(*last - 40, 45);
}

TEST(JitterBufferTest, PreemptiveExpandGrowsTheDelayWithoutGaps) {
  Sim sim(FakeSignal::kTone);
  // Every 5th packet arrives 25 ms after its successor. At one frame of buffering those
  // are late; the buffer must grow the delay by stretching until they are not.
  sim.SendStream(0, 400, 20, [](int k) { return k % 5 == 2 ? 85.0 : 40.0; });
  sim.RunUntil(4000);
  const JitterBufferStats early = sim.jb.stats();
  sim.SendStream(400, 300, 20, [](int k) { return k % 5 == 2 ? 85.0 : 40.0; });
  sim.RunUntil(14000);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_GT(s.expand_count, 0u);
  EXPECT_GE(s.target_delay_ms, 60);
  EXPECT_EQ(s.late_frames, early.late_frames) << "still late after adapting";
  EXPECT_LE(sim.MaxStep(), ToneMaxStep() * 3 / 2);
}

TEST(JitterBufferTest, FrameSizeChangesMidStream) {
  Sim sim;
  // 1 s of 20 ms frames, 1.2 s of 60 ms, 1 s of 10 ms; timestamps continuous.
  std::vector<int> frame_ms;
  for (int i = 0; i < 50; ++i) frame_ms.push_back(20);
  for (int i = 0; i < 20; ++i) frame_ms.push_back(60);
  for (int i = 0; i < 100; ++i) frame_ms.push_back(10);
  uint32_t ts = 0;
  for (size_t k = 0; k < frame_ms.size(); ++k) {
    const int samples = frame_ms[k] * kSamplesPerMs;
    sim.Deliver((ts + samples) / 48.0 + 40, Packet({static_cast<uint16_t>(k), ts, samples}));
    ts += static_cast<uint32_t>(samples);
  }
  sim.RunUntilDrained();
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_decoded, frame_ms.size());
  EXPECT_EQ(s.frames_concealed + s.late_frames + s.frames_discarded, 0u);
  // Every timestamp was played once, in order: blocks with timestamps increase, and each
  // is that audio (apart from a merge's fade after waiting for the first 60 ms frame).
  std::optional<uint32_t> last;
  size_t exact = 0, real = 0;
  for (size_t b = 0; b < sim.block_timestamps.size(); ++b) {
    if (!sim.block_timestamps[b]) continue;
    ++real;
    if (last) {
      EXPECT_GT(*sim.block_timestamps[b], *last) << b;
    }
    last = sim.block_timestamps[b];
    exact += BlockIsExactly(sim, b, *last, Merge::kCrossfadeSamples) ? 1 : 0;
  }
  EXPECT_EQ(exact, real);
  EXPECT_EQ(real, ts / kBlockSamples);
}

TEST(JitterBufferTest, ResynchronisesAfterAnOutageAndADelayStep) {
  Sim sim(FakeSignal::kTone);
  // 500 ms outage (packets dropped) at 2 s, after which the path is 60 ms slower.
  sim.SendStream(0, 300, 20, [](int k) {
    const double sent = (k + 1) * 20;
    if (sent >= 2000 && sent < 2500) return -1.0;
    return sent < 2000 ? 40.0 : 100.0;
  });
  sim.RunUntil(6000);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.frames_concealed, 25u);
  EXPECT_EQ(s.late_frames, 0u);
  // Within 2 s of the first packet after the outage (at 2.6 s) the added delay is
  // back to what the (unchanged) network jitter calls for: one frame.
  for (size_t b = 0; b < sim.block_timestamps.size(); ++b) {
    if (sim.block_times_ms[b] < 4600) continue;
    const auto m2e = sim.MouthToEarMs(b);
    ASSERT_TRUE(m2e) << b;
    EXPECT_LE(*m2e - 100, 30) << b;
  }
  EXPECT_LE(s.target_delay_ms, 25);
  EXPECT_LE(sim.MaxStep(), ToneMaxStep() * 3 / 2);
}

TEST(JitterBufferTest, BacklogAfterAStallIsDroppedNotPlayedLate) {
  Sim sim(FakeSignal::kTone);
  // The network stalls for 500 ms and then delivers its queue at once.
  sim.SendStream(0, 300, 20, [](int k) {
    const double sent = (k + 1) * 20;
    return sent >= 2000 && sent < 2500 ? 2540 - sent : 40.0;
  });
  sim.RunUntil(6000);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_GE(s.resyncs, 1u);
  EXPECT_GE(s.frames_discarded, 20u);
  for (size_t b = 0; b < sim.block_timestamps.size(); ++b) {
    if (sim.block_times_ms[b] < 3500) continue;
    const auto m2e = sim.MouthToEarMs(b);
    ASSERT_TRUE(m2e) << b;
    EXPECT_LE(*m2e - 40, 45) << b;
  }
  EXPECT_LE(sim.MaxStep(), ToneMaxStep() * 3 / 2);
}

TEST(JitterBufferTest, RestartedStreamIsFollowed) {
  Sim sim;
  // The sender restarts with timestamps 10 s back in time (and a new sequence).
  sim.SendStream(0, 100, 20, [](int) { return 40.0; }, 0, 480000);
  sim.SendStream(0, 100, 20, [](int) { return 40.0; }, 5000, 0, 2000);
  sim.RunUntil(4100);
  const JitterBufferStats s = sim.jb.stats();
  EXPECT_EQ(s.resyncs, 1u);
  EXPECT_GE(s.frames_decoded, 190u);
  ASSERT_TRUE(sim.block_timestamps[sim.block_timestamps.size() - 20]);
  EXPECT_LT(*sim.block_timestamps[sim.block_timestamps.size() - 20], 100u * 960);
}

}  // namespace
}  // namespace parley::media
