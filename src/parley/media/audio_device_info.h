// Sound devices as the CLI sees them: what `parley devices` lists, and how
// --input-device/--output-device pick one (by index or by a piece of its name).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::media {

struct AudioDeviceInfo {
  int index = 0;                // PortAudio's device index, stable while the process runs
  std::string name;
  std::string host_api;         // "ALSA", "JACK Audio Connection Kit", ...
  int max_input_channels = 0;   // 0: cannot capture
  int max_output_channels = 0;  // 0: cannot play
  double default_rate_hz = 0;
  bool default_input = false;   // the host's default capture device
  bool default_output = false;  // the host's default playout device
};

enum class AudioDirection { kInput, kOutput };

// Picks the device for `selector` among those that can go in `direction`:
//   ""          the default device for that direction
//   digits      that index (as `parley devices` prints it)
//   other text  the device whose name equals it (ignoring case), else the only one
//               whose name contains it (ignoring case)
// Pure: no PortAudio. Errors are one sentence saying what to do, e.g. "no audio
// device: use --in/--out WAV files for headless use" or "audio device name \"usb\"
// matches 2 input devices (3: ..., 5: ...); pass the index instead".
Result<int> SelectAudioDevice(std::span<const AudioDeviceInfo> devices, std::string_view selector,
                              AudioDirection direction);

// The table `parley devices` prints: one line per device with index, default marks,
// channels in/out, default rate, host API and name; or a line saying there are none.
std::string FormatAudioDeviceList(std::span<const AudioDeviceInfo> devices);

}  // namespace parley::media
