// Where the call's microphone audio comes from: a device or a file behind one
// interface that the call engine's media thread reads 10 ms blocks from.
#pragma once

#include <optional>
#include <span>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/media/audio_format.h"
#include "parley/media/audio_io.h"
#include "parley/media/capture_processor.h"

namespace parley::media {

// Captured audio, 48 kHz mono int16 in blocks of kBlockSamples. See audio_io.h for who
// paces the blocks and how the media thread loops.
//
// Context: Start/Stop from the thread that owns the call (CLI or media thread);
// WaitReadable and ReadBlock from one media thread only; glitches() from any thread.
// Implementations own any callback thread and stop it in Stop and the destructor.
class AudioInput {
 public:
  virtual ~AudioInput() = default;

  // Starts capturing. Errors say what failed (e.g. the device went away).
  virtual Status Start() = 0;
  // Stops capturing; captured blocks not yet read are discarded. Idempotent.
  virtual Status Stop() = 0;

  virtual AudioPacing pacing() const = 0;

  // Blocks until ReadBlock would return a block or `timeout` passes; true if it would.
  // kEngine inputs return true at once.
  virtual bool WaitReadable(Duration timeout) = 0;

  // Fills `block` with the next 10 ms and returns true, or returns false (and leaves
  // `block` alone) when no whole block has been captured yet; never blocks.
  virtual bool ReadBlock(std::span<Sample, kBlockSamples> block) = 0;

  virtual AudioGlitches glitches() const = 0;

  // What the capture-side audio processing did, if this input runs it (devices with
  // PortAudioOptions::processing); any thread.
  virtual std::optional<CaptureProcessingStats> processing_stats() const { return std::nullopt; }
};

}  // namespace parley::media
