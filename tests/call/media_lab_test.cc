// The whole media path in simulated time: what the lab reports must follow from the
// network it was given.
#include "parley/call/media_lab.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "parley/media/wav_file.h"

namespace parley::call {
namespace {

const media::Samples& Speech() {
  static const media::Samples speech = [] {
    const char* dir = std::getenv("PARLEY_TESTDATA");
    const std::string path = std::string(dir ? dir : "build/testdata") + "/speech_en_male.wav";
    auto samples = media::ReadAudioFile(path);
    if (!samples) {
      ADD_FAILURE() << samples.error().message << " (make speech generates it)";
      return media::Samples(48000 * 5);
    }
    return std::move(*samples);
  }();
  return speech;
}

LabReport RunLab(const std::string& network, ProtectionMode protection = ProtectionMode::kAuto,
              uint64_t seed = 1) {
  LabConfig config;
  config.network = network;
  config.protection = protection;
  config.seed = seed;
  auto report = RunMediaLab(config, Speech());
  EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error().message);
  return report.ok() ? std::move(*report) : LabReport{};
}

TEST(MediaLabTest, CleanNetworkPlaysEveryFrameWithLittleDelay) {
  const LabReport report = RunLab("clean");
  EXPECT_EQ(report.jitter_buffer.frames_concealed, 0u);
  EXPECT_EQ(report.late_loss_fraction, 0.0);
  EXPECT_GE(report.added_delay_mean_ms, 20.0) << "20 ms of framing is the floor";
  EXPECT_LE(report.added_delay_mean_ms, 45.0);
  // The loudspeaker ran for the whole input plus the drain.
  EXPECT_GE(report.received.size(), Speech().size());
}

TEST(MediaLabTest, SameSeedSameCall) {
  const LabReport a = RunLab("loss10", ProtectionMode::kAuto, 7);
  const LabReport b = RunLab("loss10", ProtectionMode::kAuto, 7);
  const LabReport c = RunLab("loss10", ProtectionMode::kAuto, 8);
  EXPECT_EQ(a.received, b.received);
  EXPECT_NE(a.received, c.received);
}

TEST(MediaLabTest, LossWithoutProtectionIsConcealed) {
  const LabReport report = RunLab("loss10", ProtectionMode::kOff);
  EXPECT_NEAR(report.network_loss_fraction, 0.10, 0.04);
  EXPECT_NEAR(report.concealed_fraction, report.network_loss_fraction, 0.02);
  EXPECT_EQ(report.jitter_buffer.frames_from_fec, 0u);
  EXPECT_EQ(report.jitter_buffer.frames_from_redundancy, 0u);
}

TEST(MediaLabTest, ReceiverReportsTurnProtectionOnUnderLoss) {
  const LabReport off = RunLab("loss10", ProtectionMode::kOff);
  const LabReport automatic = RunLab("loss10", ProtectionMode::kAuto);
  EXPECT_GT(automatic.jitter_buffer.frames_from_fec + automatic.jitter_buffer.frames_from_redundancy, 0u);
  EXPECT_LT(automatic.concealed_fraction, off.concealed_fraction / 3);
  EXPECT_GT(automatic.payload_bitrate_kbps, off.payload_bitrate_kbps) << "protection costs bits";
}

TEST(MediaLabTest, NoProtectionOnACleanNetwork) {
  const LabReport off = RunLab("clean", ProtectionMode::kOff);
  const LabReport automatic = RunLab("clean", ProtectionMode::kAuto);
  EXPECT_NEAR(automatic.payload_bitrate_kbps, off.payload_bitrate_kbps, 0.5);
}

TEST(MediaLabTest, BadNetworkSpecIsAClearError) {
  LabConfig config;
  config.network = "delay=40ms,jiter=5ms";
  auto report = RunMediaLab(config, Speech());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("jiter"), std::string::npos) << report.error().message;
}

TEST(MediaLabTest, EmptyInputIsAClearError) {
  auto report = RunMediaLab(LabConfig{}, {});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("empty"), std::string::npos);
}

}  // namespace
}  // namespace parley::call
