// CPU cost of the whole media path per 20 ms frame (sender: encode + packetize +
// serialize; receiver: parse + jitter buffer + decode), against bare libopus encode +
// decode of the same frames in the same run. The ratio is what docs/benchmarks.md reports.
#include <benchmark/benchmark.h>
#include <opus.h>

#include <array>
#include <cstdlib>
#include <string>

#include "parley/call/media_receiver.h"
#include "parley/call/media_sender.h"
#include "parley/media/wav_file.h"

namespace {

using parley::media::Sample;
constexpr int kFrameSamples = 960;  // 20 ms
constexpr int kBitrate = 24000;
constexpr int kComplexity = 9;

const parley::media::Samples& Speech() {
  static const parley::media::Samples speech = [] {
    const char* dir = std::getenv("PARLEY_TESTDATA");
    const std::string path = std::string(dir ? dir : "build/testdata") + "/conversation.wav";
    auto samples = parley::media::ReadAudioFile(path);
    if (!samples || samples->size() < 50 * kFrameSamples) {
      std::fprintf(stderr, "pipeline_bench: cannot read %s (run make speech)\n", path.c_str());
      std::exit(1);
    }
    return std::move(*samples);
  }();
  return speech;
}

const Sample* FrameAt(size_t index) {
  const size_t frames = Speech().size() / kFrameSamples;
  return Speech().data() + (index % frames) * kFrameSamples;
}

void BM_BareOpusEncodeDecode(benchmark::State& state) {
  int error = 0;
  OpusEncoder* encoder = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &error);
  OpusDecoder* decoder = opus_decoder_create(48000, 1, &error);
  opus_encoder_ctl(encoder, OPUS_SET_BITRATE(kBitrate));
  opus_encoder_ctl(encoder, OPUS_SET_COMPLEXITY(kComplexity));
  opus_encoder_ctl(encoder, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
  std::array<unsigned char, 1500> packet{};
  std::array<Sample, kFrameSamples> out{};
  size_t index = 0;
  for (auto _ : state) {
    const int bytes = opus_encode(encoder, FrameAt(index++), kFrameSamples, packet.data(), packet.size());
    benchmark::DoNotOptimize(opus_decode(decoder, packet.data(), bytes, out.data(), kFrameSamples, 0));
  }
  opus_encoder_destroy(encoder);
  opus_decoder_destroy(decoder);
}
BENCHMARK(BM_BareOpusEncodeDecode);

void BM_MediaPipeline(benchmark::State& state) {
  parley::media::OpusEncoderConfig config;
  config.bitrate_bps = kBitrate;
  config.complexity = kComplexity;
  auto sender = parley::call::MediaSender::Create(config, 0, 0);
  auto receiver = parley::call::MediaReceiver::Create();
  if (!sender || !receiver) {
    state.SkipWithError("cannot create the media pipeline");
    return;
  }
  std::array<Sample, parley::media::kBlockSamples> block{};
  parley::TimePoint now{};
  size_t index = 0;
  for (auto _ : state) {
    auto payload = (*sender)->OnCapturedFrame(std::span<const Sample>(FrameAt(index++), kFrameSamples));
    if (payload && *payload) (*receiver)->OnPayload(**payload, now);
    (*receiver)->Pull(now, block);
    now += parley::milliseconds(10);
    (*receiver)->Pull(now, block);
    now += parley::milliseconds(10);
    benchmark::DoNotOptimize(block.data());
  }
}
BENCHMARK(BM_MediaPipeline);

}  // namespace

BENCHMARK_MAIN();
