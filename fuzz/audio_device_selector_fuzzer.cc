// Fuzzes the sound device selector (--input-device/--output-device): any text either
// picks a device that can go that way or fails with a message.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "parley/base/check.h"
#include "parley/media/audio_device_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using parley::media::AudioDeviceInfo;
  using parley::media::AudioDirection;
  static const std::vector<AudioDeviceInfo> devices = {
      {.index = 0, .name = "HDA Intel PCH: ALC3246 Analog (hw:0,0)", .host_api = "ALSA",
       .max_input_channels = 2, .max_output_channels = 2, .default_rate_hz = 44100},
      {.index = 1, .name = "HDMI 0 (hw:0,3)", .host_api = "ALSA", .max_output_channels = 8},
      {.index = 7, .name = "USB Headset", .host_api = "ALSA", .max_input_channels = 1},
      {.index = 9, .name = "default", .host_api = "ALSA", .max_input_channels = 32,
       .max_output_channels = 32, .default_input = true, .default_output = true},
  };
  const std::string_view selector(reinterpret_cast<const char*>(data), size);
  for (AudioDirection direction : {AudioDirection::kInput, AudioDirection::kOutput}) {
    auto index = parley::media::SelectAudioDevice(devices, selector, direction);
    if (!index.ok()) {
      PARLEY_CHECK(!index.error().message.empty());
      continue;
    }
    bool found = false;
    for (const auto& d : devices) {
      if (d.index != *index) continue;
      found = true;
      PARLEY_CHECK((direction == AudioDirection::kInput ? d.max_input_channels : d.max_output_channels) > 0);
    }
    PARLEY_CHECK(found);
  }
  return 0;
}
