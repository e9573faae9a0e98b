// Received audio to a file: WavWriter behind the AudioOutput interface.
#include "parley/media/wav_audio_output.h"

#include <utility>

namespace parley::media {

Result<std::unique_ptr<WavAudioOutput>> WavAudioOutput::Create(const std::string& path) {
  auto writer = WavWriter::Create(path);
  if (!writer.ok()) return writer.error();
  return std::unique_ptr<WavAudioOutput>(new WavAudioOutput(std::move(*writer)));
}

WavAudioOutput::WavAudioOutput(std::unique_ptr<WavWriter> writer) : writer_(std::move(writer)) {}

WavAudioOutput::~WavAudioOutput() { (void)Stop(); }

Status WavAudioOutput::Start() { return Ok{}; }

Status WavAudioOutput::Stop() {
  if (writer_ == nullptr) return Ok{};
  Status closed = writer_->Close();
  writer_.reset();
  if (!closed.ok() && !error_) error_ = closed.error();
  return closed;
}

bool WavAudioOutput::WaitWritable(Duration) { return true; }

bool WavAudioOutput::WriteBlock(std::span<const Sample, kBlockSamples> block) {
  if (writer_ == nullptr) return false;
  Status appended = writer_->Append(block);
  if (!appended.ok()) {
    error_ = appended.error();
    writer_.reset();  // the destructor closes what it can
    return false;
  }
  blocks_written_.fetch_add(1, std::memory_order_release);
  return true;
}

std::optional<PlayoutMark> WavAudioOutput::LastPlayed() const {
  const uint64_t blocks = blocks_written_.load(std::memory_order_acquire);
  if (blocks == 0) return std::nullopt;
  return PlayoutMark{.sample = (blocks - 1) * kBlockSamples, .time = std::nullopt};
}

}  // namespace parley::media
