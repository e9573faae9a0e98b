// Audio files in and out: anything libsndfile reads (WAV, FLAC, ...; any rate, any
// channel count) comes in as 48 kHz mono, and 48 kHz mono 16-bit WAV goes out.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "parley/base/result.h"
#include "parley/media/audio_format.h"

namespace parley::media {

// All of this does file I/O and allocates: call it from the CLI or a worker, never
// from the audio callback. libsndfile reports open failures through a global, so
// opening files from several threads at once may mix up the error messages (the
// results are still right).

// Streams an audio file as 48 kHz mono: channels are averaged, other rates are
// resampled (libsamplerate, sinc medium quality). Errors name the file and give
// libsndfile's reason, e.g. "cannot read speech.wav: File contains data in an
// unknown format."
class WavReader {
 public:
  static Result<std::unique_ptr<WavReader>> Open(const std::string& path);
  // Reads from memory; `bytes` must outlive the reader. `name` is used in errors.
  static Result<std::unique_ptr<WavReader>> OpenMemory(std::span<const uint8_t> bytes,
                                                       const std::string& name = "<memory>");
  ~WavReader();
  WavReader(const WavReader&) = delete;
  WavReader& operator=(const WavReader&) = delete;

  // Fills `out` with the next samples (48 kHz mono) and returns how many it wrote:
  // out.size() until the end of the file, fewer at the end, then 0.
  Result<size_t> Read(std::span<Sample> out);

  int source_rate_hz() const;
  int source_channels() const;

 private:
  struct State;
  explicit WavReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Writes a 48 kHz mono 16-bit PCM WAV file block by block. The header is complete
// once Close() returns (the destructor closes too, ignoring errors).
class WavWriter {
 public:
  static Result<std::unique_ptr<WavWriter>> Create(const std::string& path);
  ~WavWriter();
  WavWriter(const WavWriter&) = delete;
  WavWriter& operator=(const WavWriter&) = delete;

  Status Append(std::span<const Sample> samples);
  Status Close();

 private:
  struct State;
  explicit WavWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Whole-file conveniences on top of the streaming classes.
Result<Samples> ReadAudioFile(const std::string& path);
Result<Samples> ReadAudioMemory(std::span<const uint8_t> bytes, const std::string& name = "<memory>");
Status WriteWavFile(const std::string& path, std::span<const Sample> samples);

}  // namespace parley::media
