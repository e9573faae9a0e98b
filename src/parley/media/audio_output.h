// Where the call's received audio goes: a device or a file behind one interface that
// the call engine's media thread writes 10 ms blocks to, and that says what it played.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/media/audio_format.h"
#include "parley/media/audio_io.h"

namespace parley::media {

// A point of the played stream, for echo cancellation's far-end reference: which
// written sample is played when. Samples are counted over everything WriteBlock
// accepted since the output was opened (block n starts at sample n * kBlockSamples); silence the
// output inserts on underrun is not counted, so the reference is exactly the written
// blocks shifted by whatever delay the marks show.
struct PlayoutMark {
  uint64_t sample = 0;            // index of the written sample this mark is about
  // When that sample reaches the speaker, on steady_clock (the device's estimate of its
  // output latency included). Empty for outputs without a clock (files): there, a
  // sample is "played" when it is written.
  std::optional<TimePoint> time;
};

// Audio to play, 48 kHz mono int16 in blocks of kBlockSamples. See audio_io.h for who
// paces the blocks and how the media thread loops.
//
// Context: Start/Stop from the thread that owns the call; WaitWritable and WriteBlock
// from one media thread only; glitches() and LastPlayed() from any thread.
class AudioOutput {
 public:
  virtual ~AudioOutput() = default;

  virtual Status Start() = 0;
  // Stops playing; blocks not yet played are discarded. For files this completes the
  // file, so its error (e.g. disk full) matters. Idempotent.
  virtual Status Stop() = 0;

  virtual AudioPacing pacing() const = 0;

  // Blocks until the output wants another block (it holds less than its target
  // latency) or `timeout` passes; true if it wants one. kEngine outputs return true.
  virtual bool WaitWritable(Duration timeout) = 0;

  // Queues (device) or writes (file) one block; never blocks. False if the block was
  // dropped: the device's ring was full (an overrun) or the file could not be written.
  virtual bool WriteBlock(std::span<const Sample, kBlockSamples> block) = 0;

  virtual AudioGlitches glitches() const = 0;

  // The latest playout position, or nothing before the first sample is played.
  virtual std::optional<PlayoutMark> LastPlayed() const = 0;
};

}  // namespace parley::media
