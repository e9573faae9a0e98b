// WAV files through the AudioInput/AudioOutput interfaces: exact samples in and out,
// end-of-file silence and looping, pacing, playout marks and clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "parley/media/wav_audio_input.h"
#include "parley/media/wav_audio_output.h"
#include "parley/media/wav_file.h"

namespace parley::media {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Block = std::array<Sample, kBlockSamples>;

class WavAudioIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("parley_wav_audio_io_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A ramp that wraps through the whole int16 range: every sample differs from its
  // neighbours, so a slip of one sample is visible.
  static Samples Ramp(size_t n) {
    Samples s(n);
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<Sample>(static_cast<int>(i * 37) % 65536 - 32768);
    return s;
  }

  fs::path dir_;
};

TEST_F(WavAudioIoTest, InputGivesTheFileExactlyThenSilence) {
  const Samples file = Ramp(2 * kBlockSamples + 100);
  ASSERT_TRUE(WriteWavFile(Path("in.wav"), file).ok());
  auto input = WavAudioInput::Open(Path("in.wav"));
  ASSERT_TRUE(input.ok()) << input.error().message;
  AudioInput& in = **input;
  EXPECT_EQ(in.pacing(), AudioPacing::kEngine);
  ASSERT_TRUE(in.Start().ok());
  EXPECT_TRUE(in.WaitReadable(milliseconds(0)));

  Samples got;
  Block block;
  for (int i = 0; i < 5; ++i) {
    block.fill(123);
    ASSERT_TRUE(in.ReadBlock(block));
    got.insert(got.end(), block.begin(), block.end());
  }
  ASSERT_EQ(got.size(), 5u * kBlockSamples);
  EXPECT_TRUE(std::equal(file.begin(), file.end(), got.begin()));
  EXPECT_TRUE(std::all_of(got.begin() + static_cast<std::ptrdiff_t>(file.size()), got.end(),
                          [](Sample s) { return s == 0; }));
  EXPECT_TRUE((*input)->finished());
  EXPECT_FALSE((*input)->error().has_value());
  EXPECT_EQ(in.glitches().total(), 0u);
  EXPECT_TRUE(in.Stop().ok());
}

TEST_F(WavAudioIoTest, InputLoopsSeamlessly) {
  const Samples file = Ramp(700);  // not a multiple of a block: loops inside blocks
  ASSERT_TRUE(WriteWavFile(Path("loop.wav"), file).ok());
  auto input = WavAudioInput::Open(Path("loop.wav"), WavInputEnd::kLoop);
  ASSERT_TRUE(input.ok()) << input.error().message;
  Block block;
  Samples got;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE((*input)->ReadBlock(block));
    got.insert(got.end(), block.begin(), block.end());
  }
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], file[i % file.size()]) << "at " << i;
  EXPECT_FALSE((*input)->finished());
}

TEST_F(WavAudioIoTest, EmptyFileIsRefused) {
  ASSERT_TRUE(WriteWavFile(Path("empty.wav"), Samples{}).ok());
  auto input = WavAudioInput::Open(Path("empty.wav"), WavInputEnd::kLoop);
  ASSERT_FALSE(input.ok());
  EXPECT_THAT(input.error().message, HasSubstr("empty.wav"));
}

// A looping file that cannot be read again (deleted mid-call) ends in silence with
// the reason kept, instead of spinning or crashing.
TEST_F(WavAudioIoTest, LoopThatCannotReopenEndsInSilenceWithTheReason) {
  ASSERT_TRUE(WriteWavFile(Path("gone.wav"), Ramp(100)).ok());
  auto input = WavAudioInput::Open(Path("gone.wav"), WavInputEnd::kLoop);
  ASSERT_TRUE(input.ok()) << input.error().message;
  fs::remove(Path("gone.wav"));
  Block block;
  ASSERT_TRUE((*input)->ReadBlock(block));
  EXPECT_EQ(block[99], Ramp(100)[99]);
  EXPECT_TRUE(std::all_of(block.begin() + 100, block.end(), [](Sample s) { return s == 0; }));
  EXPECT_TRUE((*input)->finished());
  ASSERT_TRUE((*input)->error().has_value());
  EXPECT_THAT((*input)->error()->message, HasSubstr("gone.wav"));
  ASSERT_TRUE((*input)->ReadBlock(block));
  EXPECT_TRUE(std::all_of(block.begin(), block.end(), [](Sample s) { return s == 0; }));
}

TEST_F(WavAudioIoTest, InputNamesAMissingFile) {
  auto input = WavAudioInput::Open(Path("missing.wav"));
  ASSERT_FALSE(input.ok());
  EXPECT_THAT(input.error().message, HasSubstr("missing.wav"));
}

TEST_F(WavAudioIoTest, OutputWritesExactlyWhatWasPlayed) {
  auto output = WavAudioOutput::Create(Path("out.wav"));
  ASSERT_TRUE(output.ok()) << output.error().message;
  AudioOutput& out = **output;
  EXPECT_EQ(out.pacing(), AudioPacing::kEngine);
  ASSERT_TRUE(out.Start().ok());
  EXPECT_FALSE(out.LastPlayed().has_value());
  const Samples played = Ramp(4 * kBlockSamples);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(out.WaitWritable(milliseconds(0)));
    Block block;
    std::copy_n(played.begin() + i * kBlockSamples, kBlockSamples, block.begin());
    ASSERT_TRUE(out.WriteBlock(block));
  }
  auto mark = out.LastPlayed();
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->sample, 3u * kBlockSamples);
  EXPECT_FALSE(mark->time.has_value());
  ASSERT_TRUE(out.Stop().ok());
  EXPECT_TRUE(out.Stop().ok());  // idempotent
  Block late{};
  EXPECT_FALSE(out.WriteBlock(late));  // after Stop: dropped, file unchanged

  auto back = ReadAudioFile(Path("out.wav"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, played);
  EXPECT_EQ(out.glitches().total(), 0u);
}

// The file chain used by headless calls: input blocks straight to the output give the
// input file back, whether or not the engine sleeps between blocks.
TEST_F(WavAudioIoTest, InputToOutputRoundTripIsPacingIndependent) {
  const Samples file = Ramp(10 * kBlockSamples);
  ASSERT_TRUE(WriteWavFile(Path("a.wav"), file).ok());
  auto input = WavAudioInput::Open(Path("a.wav"));
  auto output = WavAudioOutput::Create(Path("b.wav"));
  ASSERT_TRUE(input.ok() && output.ok());
  Block block;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*input)->ReadBlock(block));
    ASSERT_TRUE((*output)->WriteBlock(block));
  }
  ASSERT_TRUE((*output)->Stop().ok());
  auto back = ReadAudioFile(Path("b.wav"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, file);
}

TEST_F(WavAudioIoTest, OutputNamesAnUnwritablePath) {
  auto output = WavAudioOutput::Create(Path("no/such/dir/out.wav"));
  ASSERT_FALSE(output.ok());
  EXPECT_THAT(output.error().message, HasSubstr("out.wav"));
}

}  // namespace
}  // namespace parley::media
