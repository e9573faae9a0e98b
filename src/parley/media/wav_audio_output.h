// Received audio to a file for headless calls (`parley --out`): exactly the blocks
// that were "played", as a 48 kHz mono 16-bit WAV file, paced by the call engine.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "parley/media/audio_output.h"
#include "parley/media/wav_file.h"

namespace parley::media {

// An AudioOutput over WavWriter: each accepted WriteBlock appends its 480 samples, so
// the file is the far-end reference an echo canceller would get. pacing() is kEngine.
// The file is complete after Stop() (or destruction, which ignores errors).
// Context: as AudioOutput; error() from the media thread.
class WavAudioOutput final : public AudioOutput {
 public:
  // Creates (truncates) the file; errors name it.
  static Result<std::unique_ptr<WavAudioOutput>> Create(const std::string& path);
  ~WavAudioOutput() override;

  Status Start() override;
  // Closes the file; writes after Stop are dropped.
  Status Stop() override;
  AudioPacing pacing() const override { return AudioPacing::kEngine; }
  bool WaitWritable(Duration timeout) override;
  bool WriteBlock(std::span<const Sample, kBlockSamples> block) override;
  AudioGlitches glitches() const override { return {}; }
  // The first sample of the last block written; no time (files have no clock).
  std::optional<PlayoutMark> LastPlayed() const override;

  // The first write error, if any (the blocks after it are dropped).
  const std::optional<Error>& error() const { return error_; }

 private:
  explicit WavAudioOutput(std::unique_ptr<WavWriter> writer);

  std::unique_ptr<WavWriter> writer_;  // null after Stop or a write error
  std::optional<Error> error_;
  std::atomic<uint64_t> blocks_written_{0};  // read by LastPlayed from any thread
};

}  // namespace parley::media
