// Microphone audio from a file: WavReader behind the AudioInput interface.
#include "parley/media/wav_audio_input.h"

#include <algorithm>
#include <utility>

namespace parley::media {

Result<std::unique_ptr<WavAudioInput>> WavAudioInput::Open(const std::string& path,
                                                           WavInputEnd at_end) {
  auto reader = WavReader::Open(path);
  if (!reader.ok()) return reader.error();
  return std::unique_ptr<WavAudioInput>(new WavAudioInput(path, at_end, std::move(*reader)));
}

WavAudioInput::WavAudioInput(std::string path, WavInputEnd at_end,
                             std::unique_ptr<WavReader> reader)
    : path_(std::move(path)), at_end_(at_end), reader_(std::move(reader)) {}

Status WavAudioInput::Start() { return Ok{}; }
Status WavAudioInput::Stop() { return Ok{}; }
bool WavAudioInput::WaitReadable(Duration) { return true; }

bool WavAudioInput::ReadBlock(std::span<Sample, kBlockSamples> block) {
  const size_t got = Fill(block);
  std::fill(block.begin() + static_cast<std::ptrdiff_t>(got), block.end(), Sample{0});
  return true;
}

size_t WavAudioInput::Fill(std::span<Sample> out) {
  size_t filled = 0;
  // Each pass either fills more, or reaches the end (and loops at most once per pass:
  // a reopened file that yields nothing at all ends the input instead of spinning).
  bool read_since_open = true;
  while (filled < out.size() && reader_ != nullptr) {
    auto got = reader_->Read(out.subspan(filled));
    if (!got.ok()) {
      error_ = got.error();
      reader_.reset();
      break;
    }
    if (*got > 0) {
      filled += *got;
      read_since_open = true;
      continue;
    }
    // End of file.
    if (at_end_ == WavInputEnd::kSilence || !read_since_open) {
      reader_.reset();
      break;
    }
    auto again = WavReader::Open(path_);
    if (!again.ok()) {
      error_ = again.error();
      reader_.reset();
      break;
    }
    reader_ = std::move(*again);
    read_since_open = false;
  }
  return filled;
}

}  // namespace parley::media
