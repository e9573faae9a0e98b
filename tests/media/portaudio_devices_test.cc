// PortAudio on whatever this machine has: listing never crashes, and with no sound
// card (CI) opening a device fails with the clear "use WAV files" error. On a machine
// with devices, the list must be well formed and a bad selector must be refused.
#include "parley/media/portaudio_devices.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace parley::media {
namespace {

using ::testing::HasSubstr;

TEST(PortAudioDevicesTest, ListsDevicesOrNoneWithoutCrashing) {
  auto pa = PortAudioDevices::Create();
  ASSERT_TRUE(pa.ok()) << pa.error().message;
  const auto devices = (*pa)->List();
  for (size_t i = 0; i < devices.size(); ++i) {
    EXPECT_GE(devices[i].index, 0);
    EXPECT_FALSE(devices[i].name.empty());
    EXPECT_GE(devices[i].max_input_channels + devices[i].max_output_channels, 1);
  }
  const std::string table = FormatAudioDeviceList(devices);
  EXPECT_FALSE(table.empty());
  // Create/destroy again: PortAudio's initialisation is counted, not one-shot.
  auto again = PortAudioDevices::Create();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->List().size(), devices.size());
}

TEST(PortAudioDevicesTest, OpeningWithoutADeviceGivesTheClearError) {
  auto pa = PortAudioDevices::Create();
  ASSERT_TRUE(pa.ok()) << pa.error().message;
  if (!(*pa)->List().empty()) {
    // A machine with sound devices: a selector that matches nothing is refused.
    auto bad = (*pa)->OpenInput("no device is called this 7f3a");
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(bad.error().message, HasSubstr("parley devices"));
    GTEST_SKIP() << "this machine has audio devices; the headless error is not reachable";
  }
  auto input = (*pa)->OpenInput("");
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.error().message, "no audio device: use --in/--out WAV files for headless use");
  auto output = (*pa)->OpenOutput("0");
  ASSERT_FALSE(output.ok());
  EXPECT_THAT(output.error().message, HasSubstr("--in/--out WAV files"));
}

}  // namespace
}  // namespace parley::media
