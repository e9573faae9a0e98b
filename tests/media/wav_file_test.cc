// WAV in and out: exact 48 kHz round trips, other rates and channel counts brought to
// 48 kHz mono (a sine stays a sine), streaming, memory input and every error path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <numbers>
#include <string>
#include <vector>

#include "parley/base/random.h"
#include "parley/media/wav_file.h"

namespace parley::media {
namespace {

using Bytes = std::vector<uint8_t>;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class WavFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("parley_wav_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes interleaved float frames in any libsndfile format; returns the path.
  std::string WriteWith(const std::string& name, int format, int rate, int channels,
                        const std::vector<float>& interleaved) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    const std::string path = Path(name);
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    EXPECT_NE(f, nullptr) << sf_strerror(nullptr);
    if (f == nullptr) return path;
    EXPECT_EQ(sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(interleaved.size()) / channels),
              static_cast<sf_count_t>(interleaved.size()) / channels);
    sf_close(f);
    return path;
  }

  static Bytes Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  void Spit(const std::string& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }

  fs::path dir_;
};

Samples RandomSamples(size_t n, uint64_t seed) {
  Random random(seed);
  Samples s(n);
  for (Sample& x : s) x = static_cast<Sample>(random.Between(-32768, 32767));
  s[0] = -32768;
  s[1] = 32767;
  return s;
}

// Amplitude of the `hz` component and the residual's share of the energy (a least-squares
// fit of a*sin + b*cos + c), over `x` at 48 kHz.
struct SineFit {
  double amplitude;
  double residual_db;  // residual energy relative to the signal's, in dB
};
SineFit FitSine(std::span<const Sample> x, double hz) {
  double ss = 0, sc = 0, cc = 0, xs = 0, xc = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = 2 * std::numbers::pi * hz * static_cast<double>(i) / kSampleRateHz;
    const double s = std::sin(w), c = std::cos(w);
    ss += s * s; sc += s * c; cc += c * c; xs += x[i] * s; xc += x[i] * c;
  }
  const double det = ss * cc - sc * sc;
  const double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
  double residual = 0, energy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = 2 * std::numbers::pi * hz * static_cast<double>(i) / kSampleRateHz;
    const double d = x[i] - (a * std::sin(w) + b * std::cos(w));
    residual += d * d;
    energy += double(x[i]) * x[i];
  }
  return {std::hypot(a, b), 10 * std::log10(residual / energy)};
}

TEST_F(WavFileTest, WriteThenReadIsExact) {
  const Samples samples = RandomSamples(48000 + 123, 1);
  ASSERT_TRUE(WriteWavFile(Path("a.wav"), samples).ok());
  auto read = ReadAudioFile(Path("a.wav"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, samples);
  // The file is 48 kHz mono 16-bit PCM WAV.
  SF_INFO info{};
  SNDFILE* f = sf_open(Path("a.wav").c_str(), SFM_READ, &info);
  ASSERT_NE(f, nullptr);
  sf_close(f);
  EXPECT_EQ(info.samplerate, 48000);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  EXPECT_EQ(info.frames, static_cast<sf_count_t>(samples.size()));
}

TEST_F(WavFileTest, StreamingWriterAndReaderInBlocks) {
  const Samples samples = RandomSamples(10 * kBlockSamples + 77, 2);
  {
    auto writer = WavWriter::Create(Path("s.wav"));
    ASSERT_TRUE(writer.ok());
    for (size_t pos = 0; pos < samples.size(); pos += kBlockSamples) {
      const size_t n = std::min<size_t>(kBlockSamples, samples.size() - pos);
      ASSERT_TRUE((*writer)->Append(std::span(samples).subspan(pos, n)).ok());
    }
    ASSERT_TRUE((*writer)->Close().ok());
    Status late = (*writer)->Append(samples);
    ASSERT_FALSE(late.ok());
    EXPECT_THAT(late.error().message, HasSubstr("already closed"));
  }
  auto reader = WavReader::Open(Path("s.wav"));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->source_rate_hz(), 48000);
  Samples all, block(kBlockSamples);
  std::vector<size_t> sizes;
  for (;;) {
    auto n = (*reader)->Read(block);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    sizes.push_back(*n);
    all.insert(all.end(), block.begin(), block.begin() + static_cast<ptrdiff_t>(*n));
  }
  EXPECT_EQ(all, samples);
  ASSERT_EQ(sizes.size(), 11u);
  EXPECT_EQ(sizes.back(), 77u);  // full blocks until the end
  EXPECT_EQ(*(*reader)->Read(block), 0u);  // and stays at the end
}

TEST_F(WavFileTest, StereoAt44100BecomesMonoAt48000AndASineStaysASine) {
  const int rate = 44100, frames = 44100;  // one second
  std::vector<float> stereo;
  for (int i = 0; i < frames; ++i) {
    const double s = 0.5 * std::sin(2 * std::numbers::pi * 1000 * i / rate);
    stereo.push_back(static_cast<float>(s));
    stereo.push_back(static_cast<float>(s));
  }
  const std::string path = WriteWith("cd.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 2, stereo);
  for (bool from_memory : {false, true}) {
    const Bytes bytes = Slurp(path);
    auto read = from_memory ? ReadAudioMemory(bytes) : ReadAudioFile(path);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_NEAR(static_cast<double>(read->size()), 48000.0, 2.0);
    // Away from the edges (the resampler's filter rings there), a 1 kHz sine of the
    // same amplitude and nothing else.
    std::span<const Sample> middle = std::span(*read).subspan(2000, 44000);
    const SineFit fit = FitSine(middle, 1000);
    EXPECT_NEAR(fit.amplitude, 0.5 * 32768, 0.01 * 32768);
    EXPECT_LT(fit.residual_db, -40);
    // A frequency a little off fits much worse: the pitch is preserved.
    EXPECT_GT(FitSine(middle, 1005).residual_db, -3);
  }
}

TEST_F(WavFileTest, ChannelsAreAveraged) {
  std::vector<float> stereo;
  for (int i = 0; i < 4800; ++i) {
    stereo.push_back(0.25f);   // left
    stereo.push_back(-0.75f);  // right
  }
  const std::string path = WriteWith("dc.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, stereo);
  auto read = ReadAudioFile(path);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 4800u);
  for (Sample s : *read) ASSERT_EQ(s, -8192);  // (0.25 - 0.75) / 2 * 32768
}

TEST_F(WavFileTest, ReadsOtherFormatsFromMemory) {
  std::vector<float> six_channels;
  for (int i = 0; i < 16000; ++i) {
    for (int c = 0; c < 6; ++c) {
      six_channels.push_back(static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 440 * i / 16000)));
    }
  }
  const std::string path = WriteWith("x.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 6, six_channels);
  const Bytes bytes = Slurp(path);
  auto read = ReadAudioMemory(bytes, "x.flac");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_NEAR(static_cast<double>(read->size()), 48000.0, 3.0);
  const SineFit fit = FitSine(std::span(*read).subspan(2000, 44000), 440);
  EXPECT_NEAR(fit.amplitude, 0.3 * 32768, 0.01 * 32768);
  EXPECT_LT(fit.residual_db, -40);
}

TEST_F(WavFileTest, ClipsOutOfRangeFloatsAndSilencesNan) {
  const std::vector<float> wild = {2.0f, -2.0f, NAN, INFINITY, -INFINITY, 0.5f};
  const std::string path = WriteWith("wild.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 1, wild);
  auto read = ReadAudioFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, (Samples{32767, -32768, 0, 32767, -32768, 16384}));
}

// A canonical 44-byte WAV header for 16-bit PCM with the given fields.
Bytes WavHeader(uint16_t channels, uint32_t rate, uint32_t data_bytes) {
  Bytes h;
  auto u32 = [&h](uint32_t v) { for (int i = 0; i < 4; ++i) h.push_back(static_cast<uint8_t>(v >> (8 * i))); };
  auto u16 = [&h](uint16_t v) { h.push_back(static_cast<uint8_t>(v)); h.push_back(static_cast<uint8_t>(v >> 8)); };
  auto tag = [&h](const char* t) { for (int i = 0; i < 4; ++i) h.push_back(static_cast<uint8_t>(t[i])); };
  tag("RIFF"); u32(36 + data_bytes); tag("WAVE");
  tag("fmt "); u32(16); u16(1); u16(channels); u32(rate);
  u32(rate * channels * 2); u16(static_cast<uint16_t>(channels * 2)); u16(16);
  tag("data"); u32(data_bytes);
  return h;
}

struct ErrorCase {
  std::string name;
  std::string file_name;  // written into the test's directory unless `missing`
  Bytes contents;
  bool missing;
  std::string error;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class WavErrorTest : public WavFileTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(WavErrorTest, FileAndMemoryGiveClearErrors) {
  const ErrorCase& c = GetParam();
  const std::string path = Path(c.file_name);
  if (!c.missing) Spit(path, c.contents);
  auto from_file = ReadAudioFile(path);
  ASSERT_FALSE(from_file.ok());
  EXPECT_THAT(from_file.error().message, HasSubstr("cannot read " + path + ": "));
  EXPECT_THAT(from_file.error().message, HasSubstr(c.error));
  if (c.missing) return;
  auto from_memory = ReadAudioMemory(c.contents, c.file_name);
  ASSERT_FALSE(from_memory.ok());
  EXPECT_THAT(from_memory.error().message, HasSubstr("cannot read " + c.file_name + ": "));
}

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

INSTANTIATE_TEST_SUITE_P(
    Cases, WavErrorTest,
    ::testing::Values(
        ErrorCase{"Missing", "missing.wav", {}, true, "No such file or directory"},
        ErrorCase{"Empty", "empty.wav", {}, false, "empty"},
        ErrorCase{"NotAudio", "speech.wav", Text("This is not audio, just some text.\n"), false,
                  "Format not recognised"},  // libsndfile 1.2's reason
        ErrorCase{"ZeroChannels", "zero_channels.wav", WavHeader(0, 48000, 0), false, "channel"},
        ErrorCase{"NoFrames", "no_frames.wav", WavHeader(1, 48000, 0), false,
                  "it contains no audio (0 frames)"},
        ErrorCase{"RateTooLow", "slow.wav",
                  [] { Bytes b = WavHeader(1, 100, 4); b.insert(b.end(), 4, 0); return b; }(), false,
                  "its sample rate of 100 Hz is outside the supported 188..12288000 Hz"}),
    [](const auto& info) { return info.param.name; });

TEST_F(WavFileTest, EmptyMemoryAndUnwritablePathAreClearErrors) {
  auto empty = ReadAudioMemory({}, "upload");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "cannot read upload: no data (0 bytes)");

  const std::string bad = Path("no/such/dir/out.wav");
  Status written = WriteWavFile(bad, Samples(10));
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.error().message, HasSubstr("cannot write " + bad + ": "));
}

// A file cut short (header promises more than is there) gives what is there.
TEST_F(WavFileTest, TruncatedFileGivesTheSamplesPresent) {
  Bytes bytes = WavHeader(1, 48000, 2000);
  for (int i = 0; i < 300; ++i) { bytes.push_back(0x10); bytes.push_back(0x00); }
  auto read = ReadAudioMemory(bytes, "cut.wav");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->size(), 300u);
  for (Sample s : *read) ASSERT_EQ(s, 16);
}

}  // namespace
}  // namespace parley::media
