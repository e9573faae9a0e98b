// Choosing a sound device from --input-device/--output-device (default, index, name)
// and the `parley devices` listing, without PortAudio.
#include "parley/media/audio_device_info.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace parley::media {
namespace {

using ::testing::HasSubstr;

std::vector<AudioDeviceInfo> Devices() {
  return {
      {.index = 0, .name = "HDA Intel PCH: ALC3246 Analog (hw:0,0)", .host_api = "ALSA",
       .max_input_channels = 2, .max_output_channels = 2, .default_rate_hz = 44100},
      {.index = 1, .name = "HDMI 0 (hw:0,3)", .host_api = "ALSA", .max_input_channels = 0,
       .max_output_channels = 8, .default_rate_hz = 48000},
      {.index = 2, .name = "USB Headset: Audio (hw:1,0)", .host_api = "ALSA",
       .max_input_channels = 1, .max_output_channels = 2, .default_rate_hz = 48000},
      {.index = 3, .name = "pulse", .host_api = "ALSA", .max_input_channels = 32,
       .max_output_channels = 32, .default_rate_hz = 44100},
      {.index = 4, .name = "default", .host_api = "ALSA", .max_input_channels = 32,
       .max_output_channels = 32, .default_rate_hz = 44100, .default_input = true,
       .default_output = true},
  };
}

TEST(AudioDeviceInfoTest, EmptySelectorPicksTheDefault) {
  auto d = Devices();
  EXPECT_EQ(SelectAudioDevice(d, "", AudioDirection::kInput).value(), 4);
  EXPECT_EQ(SelectAudioDevice(d, "", AudioDirection::kOutput).value(), 4);
}

TEST(AudioDeviceInfoTest, DigitsPickByIndexOfAUsableDevice) {
  auto d = Devices();
  EXPECT_EQ(SelectAudioDevice(d, "2", AudioDirection::kInput).value(), 2);
  EXPECT_EQ(SelectAudioDevice(d, "1", AudioDirection::kOutput).value(), 1);
  auto no_input = SelectAudioDevice(d, "1", AudioDirection::kInput);  // HDMI cannot capture
  ASSERT_FALSE(no_input.ok());
  EXPECT_THAT(no_input.error().message, HasSubstr("no audio input device with index 1"));
  EXPECT_FALSE(SelectAudioDevice(d, "99", AudioDirection::kOutput).ok());
  EXPECT_FALSE(SelectAudioDevice(d, "99999999999999", AudioDirection::kOutput).ok());
}

TEST(AudioDeviceInfoTest, NamesMatchExactlyThenByUniqueSubstringIgnoringCase) {
  auto d = Devices();
  EXPECT_EQ(SelectAudioDevice(d, "usb", AudioDirection::kInput).value(), 2);
  EXPECT_EQ(SelectAudioDevice(d, "HDMI", AudioDirection::kOutput).value(), 1);
  EXPECT_EQ(SelectAudioDevice(d, "DEFAULT", AudioDirection::kOutput).value(), 4);
  // "hw:" is in three output devices' names: ambiguous, and the error lists them.
  auto many = SelectAudioDevice(d, "hw:", AudioDirection::kOutput);
  ASSERT_FALSE(many.ok());
  EXPECT_THAT(many.error().message, HasSubstr("matches 3 output devices"));
  EXPECT_THAT(many.error().message, HasSubstr("2: USB Headset"));
  EXPECT_THAT(many.error().message, HasSubstr("pass the index instead"));
  auto none = SelectAudioDevice(d, "bluetooth", AudioDirection::kInput);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("parley devices"));
}

TEST(AudioDeviceInfoTest, NoDevicesSaysToUseWavFiles) {
  auto none = SelectAudioDevice({}, "", AudioDirection::kInput);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "no audio device: use --in/--out WAV files for headless use");
  std::vector<AudioDeviceInfo> output_only = {Devices()[1]};
  auto no_input = SelectAudioDevice(output_only, "", AudioDirection::kInput);
  ASSERT_FALSE(no_input.ok());
  EXPECT_THAT(no_input.error().message, HasSubstr("no audio input device: use --in/--out"));
}

TEST(AudioDeviceInfoTest, NoDefaultAsksForAChoice) {
  std::vector<AudioDeviceInfo> d = {Devices()[2]};
  auto r = SelectAudioDevice(d, "", AudioDirection::kInput);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("--input-device"));
}

TEST(AudioDeviceInfoTest, ListingShowsEveryDeviceAndTheDefaults) {
  const std::string text = FormatAudioDeviceList(Devices());
  EXPECT_THAT(text, HasSubstr("USB Headset: Audio (hw:1,0)"));
  EXPECT_THAT(text, HasSubstr("in,out"));
  EXPECT_THAT(text, HasSubstr("48000"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6);  // header + 5 devices
  EXPECT_THAT(FormatAudioDeviceList({}), HasSubstr("--in/--out"));
}

}  // namespace
}  // namespace parley::media
