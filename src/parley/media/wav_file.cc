// Audio files through libsndfile (any format it reads) and libsamplerate (to 48 kHz).
#include "parley/media/wav_file.h"

#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

namespace parley::media {
namespace {

constexpr sf_count_t kChunkFrames = 1024;  // read granularity (x channels, <= 1024 of them)
// libsamplerate converts ratios within [1/256, 256].
constexpr int kMinSourceRateHz = (kSampleRateHz + 255) / 256;  // 188
constexpr int kMaxSourceRateHz = kSampleRateHz * 256;

Sample ToSample(float v) {
  if (std::isnan(v)) return 0;
  const double scaled = std::round(static_cast<double>(v) * 32768.0);
  return static_cast<Sample>(std::clamp(scaled, -32768.0, 32767.0));
}

// libsndfile virtual I/O over a read-only span.
struct MemorySource {
  std::span<const uint8_t> bytes;
  sf_count_t pos = 0;

  sf_count_t size() const { return static_cast<sf_count_t>(bytes.size()); }
};

sf_count_t MemoryLength(void* user) { return static_cast<MemorySource*>(user)->size(); }

sf_count_t MemorySeek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<MemorySource*>(user);
  sf_count_t base = 0;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = m->pos; break;
    case SEEK_END: base = m->size(); break;
    default: return -1;
  }
  // Offsets come from untrusted headers: refuse what would overflow or go negative.
  if (offset > 0 && base > std::numeric_limits<sf_count_t>::max() - offset) return -1;
  const sf_count_t target = base + offset;
  if (target < 0) return -1;
  m->pos = target;
  return m->pos;
}

sf_count_t MemoryRead(void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<MemorySource*>(user);
  if (count <= 0 || m->pos >= m->size()) return 0;
  const sf_count_t n = std::min(count, m->size() - m->pos);
  std::memcpy(ptr, m->bytes.data() + m->pos, static_cast<size_t>(n));
  m->pos += n;
  return n;
}

sf_count_t MemoryWrite(const void*, sf_count_t, void*) { return 0; }  // read-only

sf_count_t MemoryTell(void* user) { return static_cast<MemorySource*>(user)->pos; }

}  // namespace

struct WavReader::State {
  std::string name;
  MemorySource memory;  // the source when opened from memory (libsndfile points here)
  SNDFILE* file = nullptr;
  SF_INFO info{};
  SRC_STATE* resampler = nullptr;  // null when the source is already at 48 kHz
  std::vector<float> interleaved;  // one chunk as read
  std::vector<float> mono;         // downmixed, not yet resampled
  size_t mono_used = 0;
  std::vector<float> output;       // 48 kHz, not yet handed out
  size_t output_used = 0;
  bool file_done = false;          // the file has no more frames
  bool finished = false;           // and the resampler has nothing left

  ~State() {
    if (resampler != nullptr) src_delete(resampler);
    if (file != nullptr) sf_close(file);
  }

  Error Fail(const std::string& why) const { return Error{"cannot read " + name + ": " + why}; }

  // Checks what the header says and sets up resampling. `file` is open.
  Status Start() {
    if (info.channels <= 0) return Fail("it has no audio channels");
    if (info.samplerate < kMinSourceRateHz || info.samplerate > kMaxSourceRateHz) {
      return Fail("its sample rate of " + std::to_string(info.samplerate) +
                  " Hz is outside the supported " + std::to_string(kMinSourceRateHz) + ".." +
                  std::to_string(kMaxSourceRateHz) + " Hz");
    }
    if (info.frames <= 0) return Fail("it contains no audio (0 frames)");
    if (info.samplerate != kSampleRateHz) {
      int error = 0;
      resampler = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &error);
      if (resampler == nullptr) return Fail(std::string("resampler: ") + src_strerror(error));
    }
    interleaved.resize(static_cast<size_t>(kChunkFrames) * static_cast<size_t>(info.channels));
    return Ok{};
  }

  // Produces more 48 kHz output (possibly none yet), or sets `finished`.
  Status Refill() {
    output.clear();
    output_used = 0;
    if (!file_done) {
      const sf_count_t got = sf_readf_float(file, interleaved.data(), kChunkFrames);
      if (got <= 0) {
        file_done = true;
        if (sf_error(file) != SF_ERR_NO_ERROR) return Fail(sf_strerror(file));
      }
      const auto channels = static_cast<size_t>(info.channels);
      for (sf_count_t f = 0; f < got; ++f) {
        double sum = 0;
        for (size_t c = 0; c < channels; ++c) sum += interleaved[static_cast<size_t>(f) * channels + c];
        mono.push_back(static_cast<float>(sum / static_cast<double>(channels)));
      }
    }
    if (resampler == nullptr) {
      output.swap(mono);
      mono.clear();
      if (file_done) finished = output.empty();
      return Ok{};
    }
    const double ratio = static_cast<double>(kSampleRateHz) / info.samplerate;
    const size_t pending = mono.size() - mono_used;
    output.resize(static_cast<size_t>(static_cast<double>(pending) * ratio) + 256);
    SRC_DATA data{};
    data.data_in = mono.data() + mono_used;
    data.input_frames = static_cast<long>(pending);
    data.data_out = output.data();
    data.output_frames = static_cast<long>(output.size());
    data.end_of_input = file_done ? 1 : 0;
    data.src_ratio = ratio;
    if (int error = src_process(resampler, &data); error != 0) {
      return Fail(std::string("resampler: ") + src_strerror(error));
    }
    mono_used += static_cast<size_t>(data.input_frames_used);
    if (mono_used == mono.size()) {
      mono.clear();
      mono_used = 0;
    }
    output.resize(static_cast<size_t>(data.output_frames_gen));
    if (file_done && data.output_frames_gen == 0 && data.input_frames_used == 0) finished = true;
    return Ok{};
  }
};

WavReader::WavReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
WavReader::~WavReader() = default;

Result<std::unique_ptr<WavReader>> WavReader::Open(const std::string& path) {
  auto state = std::make_unique<State>();
  state->name = path;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) == 0 && !ec) {
    return state->Fail("the file is empty");
  }
  state->file = sf_open(path.c_str(), SFM_READ, &state->info);
  if (state->file == nullptr) return state->Fail(sf_strerror(nullptr));
  if (Status started = state->Start(); !started) return started.error();
  return std::unique_ptr<WavReader>(new WavReader(std::move(state)));
}

Result<std::unique_ptr<WavReader>> WavReader::OpenMemory(std::span<const uint8_t> bytes,
                                                         const std::string& name) {
  auto state = std::make_unique<State>();
  state->name = name;
  if (bytes.empty()) return state->Fail("no data (0 bytes)");
  state->memory.bytes = bytes;
  SF_VIRTUAL_IO io{};
  io.get_filelen = MemoryLength;
  io.seek = MemorySeek;
  io.read = MemoryRead;
  io.write = MemoryWrite;
  io.tell = MemoryTell;
  state->file = sf_open_virtual(&io, SFM_READ, &state->info, &state->memory);
  if (state->file == nullptr) return state->Fail(sf_strerror(nullptr));
  if (Status started = state->Start(); !started) return started.error();
  return std::unique_ptr<WavReader>(new WavReader(std::move(state)));
}

Result<size_t> WavReader::Read(std::span<Sample> out) {
  State& s = *state_;
  size_t written = 0;
  while (written < out.size()) {
    if (s.output_used < s.output.size()) {
      const size_t n = std::min(out.size() - written, s.output.size() - s.output_used);
      for (size_t i = 0; i < n; ++i) out[written + i] = ToSample(s.output[s.output_used + i]);
      s.output_used += n;
      written += n;
      continue;
    }
    if (s.finished) break;
    if (Status refilled = s.Refill(); !refilled) return refilled.error();
  }
  return written;
}

int WavReader::source_rate_hz() const { return state_->info.samplerate; }
int WavReader::source_channels() const { return state_->info.channels; }

struct WavWriter::State {
  std::string path;
  SNDFILE* file = nullptr;

  ~State() {
    if (file != nullptr) sf_close(file);
  }
  Error Fail(const std::string& why) const { return Error{"cannot write " + path + ": " + why}; }
};

WavWriter::WavWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
WavWriter::~WavWriter() = default;

Result<std::unique_ptr<WavWriter>> WavWriter::Create(const std::string& path) {
  auto state = std::make_unique<State>();
  state->path = path;
  SF_INFO info{};
  info.samplerate = kSampleRateHz;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  state->file = sf_open(path.c_str(), SFM_WRITE, &info);
  if (state->file == nullptr) return state->Fail(sf_strerror(nullptr));
  return std::unique_ptr<WavWriter>(new WavWriter(std::move(state)));
}

Status WavWriter::Append(std::span<const Sample> samples) {
  if (state_->file == nullptr) return state_->Fail("the writer is already closed");
  const auto n = static_cast<sf_count_t>(samples.size());
  if (sf_writef_short(state_->file, samples.data(), n) != n) {
    return state_->Fail(sf_strerror(state_->file));
  }
  return Ok{};
}

Status WavWriter::Close() {
  if (state_->file == nullptr) return Ok{};
  const int rc = sf_close(state_->file);
  state_->file = nullptr;
  if (rc != 0) return state_->Fail(sf_error_number(rc));
  return Ok{};
}

namespace {
Result<Samples> ReadAll(Result<std::unique_ptr<WavReader>> opened) {
  if (!opened) return opened.error();
  WavReader& reader = **opened;
  Samples all;
  Samples block(static_cast<size_t>(kSampleRateHz));
  for (;;) {
    Result<size_t> n = reader.Read(block);
    if (!n) return n.error();
    if (*n == 0) break;
    all.insert(all.end(), block.begin(), block.begin() + static_cast<ptrdiff_t>(*n));
  }
  return all;
}
}  // namespace

Result<Samples> ReadAudioFile(const std::string& path) { return ReadAll(WavReader::Open(path)); }

Result<Samples> ReadAudioMemory(std::span<const uint8_t> bytes, const std::string& name) {
  return ReadAll(WavReader::OpenMemory(bytes, name));
}

Status WriteWavFile(const std::string& path, std::span<const Sample> samples) {
  auto writer = WavWriter::Create(path);
  if (!writer) return writer.error();
  if (Status appended = (*writer)->Append(samples); !appended) return appended;
  return (*writer)->Close();
}

}  // namespace parley::media
