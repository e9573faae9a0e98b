// The PortAudio streams' callback paths on a real ALSA device that needs no hardware:
// the "null" plugin, declared in a private ALSA config. It produces and consumes
// samples as fast as PortAudio asks (no clock), which stresses the rings: capture
// overruns, playout reports marks, and underruns once primed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "parley/media/portaudio_devices.h"

namespace parley::media {
namespace {

namespace fs = std::filesystem;
using Block = std::array<Sample, kBlockSamples>;
constexpr const char* kDevice = "parley_null_test";

class PortAudioNullDeviceTest : public ::testing::Test {
 protected:
  // ALSA reads ALSA_CONFIG_PATH when PortAudio first initializes it, so this must run
  // before anything in this process touches PortAudio (this file's tests only).
  static void SetUpTestSuite() {
    config_ = fs::path(::testing::TempDir()) / ("parley_alsa_null_" + std::to_string(::getpid()) + ".conf");
    std::ofstream(config_) << "</usr/share/alsa/alsa.conf>\n"
                           << "pcm." << kDevice << " { type null }\n";
    ::setenv("ALSA_CONFIG_PATH", config_.c_str(), 1);
  }
  static void TearDownTestSuite() { fs::remove(config_); }

  void SetUp() override {
    auto pa = PortAudioDevices::Create();
    ASSERT_TRUE(pa.ok()) << pa.error().message;
    pa_ = std::move(*pa);
    bool found = false;
    for (const auto& d : pa_->List()) found |= d.name == kDevice;
    if (!found) GTEST_SKIP() << "ALSA did not list the null device here";
  }

  static inline fs::path config_;
  std::unique_ptr<PortAudioDevices> pa_;
};

TEST_F(PortAudioNullDeviceTest, CaptureGivesSilenceBlocksThroughTheRing) {
  auto input = pa_->OpenInput(kDevice);
  ASSERT_TRUE(input.ok()) << input.error().message;
  AudioInput& in = **input;
  EXPECT_EQ(in.pacing(), AudioPacing::kDevice);
  Block block;
  EXPECT_FALSE(in.ReadBlock(block));  // not started: nothing captured
  ASSERT_TRUE(in.Start().ok());
  int blocks = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (blocks < 20 && std::chrono::steady_clock::now() < until) {
    if (!in.WaitReadable(milliseconds(100))) continue;
    while (blocks < 20 && in.ReadBlock(block)) {
      block.fill(1);
      ++blocks;
    }
  }
  EXPECT_EQ(blocks, 20);
  // (What the null device captures is unspecified: the content is not checked.)
  // The null device captures far faster than real time, so the ring overflowed.
  const auto patience = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (in.glitches().overruns == 0 && std::chrono::steady_clock::now() < patience) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(in.glitches().overruns, 0u);
  ASSERT_TRUE(in.Stop().ok());
  EXPECT_TRUE(in.Stop().ok());
  ASSERT_TRUE(in.Start().ok());  // restartable
  EXPECT_TRUE(in.WaitReadable(seconds(2)));
}

TEST_F(PortAudioNullDeviceTest, PlayoutReportsMarksAndUnderrunsOnlyOncePrimed) {
  auto output = pa_->OpenOutput(kDevice);
  ASSERT_TRUE(output.ok()) << output.error().message;
  AudioOutput& out = **output;
  EXPECT_EQ(out.pacing(), AudioPacing::kDevice);
  ASSERT_TRUE(out.Start().ok());
  ASSERT_TRUE(out.WaitWritable(seconds(2)));
  // Let the callback run on an empty ring for a while: not primed, so no underruns.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(out.LastPlayed().has_value());
  EXPECT_EQ(out.glitches().underruns, 0u);

  Block block;
  block.fill(1000);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(out.WriteBlock(block));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<PlayoutMark> mark;
  while (std::chrono::steady_clock::now() < until) {
    out.WaitWritable(milliseconds(20));
    mark = out.LastPlayed();
    if (mark && mark->sample >= 2u * kBlockSamples) break;
  }
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->sample, 2u * kBlockSamples);  // the last written block began playing
  ASSERT_TRUE(mark->time.has_value());
  EXPECT_GT(*mark->time, TimePoint{} + seconds(1));
  // Nothing more was written and the device kept pulling: underruns, counted per callback.
  const auto patience = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (out.glitches().underruns == 0 && std::chrono::steady_clock::now() < patience) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(out.glitches().underruns, 0u);
  EXPECT_EQ(out.glitches().overruns, 0u);
  ASSERT_TRUE(out.Stop().ok());
}

TEST_F(PortAudioNullDeviceTest, StreamsMayOutliveTheDeviceList) {
  auto input = pa_->OpenInput(kDevice);
  ASSERT_TRUE(input.ok()) << input.error().message;
  pa_.reset();  // Pa_Terminate for the list's reference only
  ASSERT_TRUE((*input)->Start().ok());
  EXPECT_TRUE((*input)->WaitReadable(seconds(2)));
  ASSERT_TRUE((*input)->Stop().ok());
}

TEST_F(PortAudioNullDeviceTest, ProcessingRunsInTheCaptureCallbackWithTheOutputAsItsFarEnd) {
  // Both directions share one far-end reference, as in a call with devices.
  auto far_end = std::make_shared<FarEndReference>();
  PortAudioOptions input_options;
  input_options.processing = AudioProcessingConfig{};
  input_options.far_end = far_end;
  PortAudioOptions output_options;
  output_options.far_end = far_end;
  auto input = pa_->OpenInput(kDevice, input_options);
  ASSERT_TRUE(input.ok()) << input.error().message;
  auto output = pa_->OpenOutput(kDevice, output_options);
  ASSERT_TRUE(output.ok()) << output.error().message;
  AudioInput& in = **input;
  AudioOutput& out = **output;
  ASSERT_TRUE(out.Start().ok());
  ASSERT_TRUE(in.Start().ok());
  Block block;
  block.fill(1000);
  int blocks = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (blocks < 50 && std::chrono::steady_clock::now() < until) {
    out.WriteBlock(block);
    if (!in.WaitReadable(milliseconds(100))) continue;
    while (blocks < 50 && in.ReadBlock(block)) ++blocks;
  }
  EXPECT_EQ(blocks, 50);
  ASSERT_TRUE(in.Stop().ok());
  ASSERT_TRUE(out.Stop().ok());
  const std::optional<CaptureProcessingStats> stats = in.processing_stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_TRUE(stats->config.echo_cancellation);
  EXPECT_GE(stats->blocks_processed, 50u);
  // The output callback played blocks into the reference (fed, dropped or stale: the
  // null device runs without a clock, so how many were due is not fixed).
  EXPECT_GT(stats->far_end_blocks_fed + stats->far_end_blocks_dropped + stats->far_end_blocks_stale, 0u);
  // Without processing there are no processing stats.
  auto raw = pa_->OpenInput(kDevice);
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  EXPECT_FALSE((*raw)->processing_stats().has_value());
}

}  // namespace
}  // namespace parley::media
