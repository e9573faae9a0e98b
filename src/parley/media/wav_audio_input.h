// Microphone audio from a file for headless calls (`parley --in`): any file WavReader
// reads, as 48 kHz mono 10 ms blocks, paced by the call engine's timer.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "parley/media/audio_input.h"
#include "parley/media/wav_file.h"

namespace parley::media {

// What an input file gives once it has run out.
enum class WavInputEnd {
  kSilence,  // zeros from then on (finished() turns true)
  kLoop,     // starts over from the beginning, seamlessly inside a block
};

// An AudioInput over WavReader. pacing() is kEngine: ReadBlock always returns a block at
// once, the last one padded with zeros, so what the engine reads does not depend on
// when it reads. Reads the file as it goes (file I/O and allocation on the media
// thread, which is fine for files: no real-time callback is involved).
// Context: as AudioInput; finished() and error() from the media thread.
class WavAudioInput final : public AudioInput {
 public:
  // Errors name the file, e.g. "cannot read x.wav: File contains data in an unknown format."
  static Result<std::unique_ptr<WavAudioInput>> Open(const std::string& path,
                                                     WavInputEnd at_end = WavInputEnd::kSilence);

  Status Start() override;
  Status Stop() override;
  AudioPacing pacing() const override { return AudioPacing::kEngine; }
  bool WaitReadable(Duration timeout) override;
  bool ReadBlock(std::span<Sample, kBlockSamples> block) override;
  AudioGlitches glitches() const override { return {}; }

  // True once the file has ended and only silence follows (never with kLoop unless
  // the file is empty or could not be read again).
  bool finished() const { return reader_ == nullptr; }
  // A read error that ended the input early, if any (reported once, then silence).
  const std::optional<Error>& error() const { return error_; }

 private:
  WavAudioInput(std::string path, WavInputEnd at_end, std::unique_ptr<WavReader> reader);
  // Reads into `out` until it is full or the input is finished; returns samples read.
  size_t Fill(std::span<Sample> out);

  std::string path_;
  WavInputEnd at_end_;
  std::unique_ptr<WavReader> reader_;  // null once finished
  std::optional<Error> error_;
};

}  // namespace parley::media
