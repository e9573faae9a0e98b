// Real sound devices through PortAudio: list them for `parley devices`, open one for
// capture or playout as an AudioInput/AudioOutput paced by the device's callback.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/media/audio_device_info.h"
#include "parley/media/audio_input.h"
#include "parley/media/audio_output.h"
#include "parley/media/audio_processor.h"
#include "parley/media/far_end_reference.h"

namespace parley::media {

struct PortAudioOptions {
  // Capacity of the ring between the callback and the media thread, in 10 ms blocks.
  // Input: how far the media thread may fall behind before captured audio is dropped.
  // Output: how much may be queued before WriteBlock drops (an overrun).
  int ring_blocks = 20;
  // Output: WaitWritable says yes while fewer than this many blocks are queued; this
  // is the playout latency the engine adds on top of the device's own.
  int output_target_blocks = 3;
  // The latency asked of the device; 0 means the device's default low latency.
  double suggested_latency_s = 0;
  // Input: clean-up of the captured audio (echo, noise, gain, high-pass), run in the
  // capture callback itself (capture_processor.h); nothing: raw capture.
  std::optional<AudioProcessingConfig> processing;
  // Output: every played block (underrun silence included) goes here with its playout
  // time. Input: the echo canceller takes the far end from here. Give a call's input and
  // output the same one; null: no echo reference.
  std::shared_ptr<FarEndReference> far_end;
};

// The PortAudio library for this process. Streams are opened at 48 kHz with a 10 ms
// callback (PortAudio re-blocks if the host cannot); as int16 mono, or, on devices that
// only do more channels (raw ALSA hw: devices), with the first two channels averaged on
// capture and the block copied to every channel on playout. A device that cannot run
// at 48 kHz gets a clear error naming the "default"/"pulse" devices, which resample.
// No sound card (this project's CI machines): List() is empty and opening says "no
// audio input device: use --in/--out WAV files for headless use".
//
// The callbacks touch only a lock-free SpscRing, relaxed atomics and sem_post: no
// locks, allocation, logging or system calls that block (see audio_io.h). With
// `processing`, the capture callback also runs the AudioProcessor (allocation-free
// after opening; its one internal mutex is taken only by that callback).
//
// Context: Create, List and Open* from one thread (the CLI's main thread): PortAudio's
// setup calls are not thread-safe. Each opened stream holds its own reference to the
// initialized library (PortAudio counts them), so it may outlive this object.
// Creating the first instance silences ALSA's and JACK's error printing for the whole
// process (they print dozens of lines to stderr while probing absent hardware).
class PortAudioDevices {
 public:
  static Result<std::unique_ptr<PortAudioDevices>> Create();
  ~PortAudioDevices();
  PortAudioDevices(const PortAudioDevices&) = delete;
  PortAudioDevices& operator=(const PortAudioDevices&) = delete;

  std::vector<AudioDeviceInfo> List() const;

  // `selector` as SelectAudioDevice: "" (default), an index, or part of a name.
  // The stream is open but not started.
  Result<std::unique_ptr<AudioInput>> OpenInput(std::string_view selector,
                                                const PortAudioOptions& options = {});
  Result<std::unique_ptr<AudioOutput>> OpenOutput(std::string_view selector,
                                                  const PortAudioOptions& options = {});

 private:
  PortAudioDevices() = default;
};

}  // namespace parley::media
