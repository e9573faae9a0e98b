// AudioProcessor over webrtc::AudioProcessing 0.3: settings, and the int16 frame path
// (the one that allocates nothing per block).
#include "parley/media/audio_processor.h"

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>
#include <string>

namespace parley::media {
namespace {

// The echo canceller's delay histogram covers about a second; reading it resets it.
constexpr int kMetricsEveryBlocks = 100;
constexpr int kMaxStreamDelayMs = 500;  // what 0.3 accepts without a warning

void PrepareFrame(webrtc::AudioFrame& frame) {
  frame.sample_rate_hz_ = kSampleRateHz;
  frame.num_channels_ = 1;
  frame.samples_per_channel_ = kBlockSamples;
}

}  // namespace

struct AudioProcessor::Engine {
  std::unique_ptr<webrtc::AudioProcessing> apm;
  webrtc::AudioFrame far_frame;      // preallocated: AudioFrame holds its samples inline
  webrtc::AudioFrame capture_frame;
};

AudioProcessor::AudioProcessor(const AudioProcessingConfig& config) : config_(config) {}
AudioProcessor::~AudioProcessor() = default;

Result<std::unique_ptr<AudioProcessor>> AudioProcessor::Create(const AudioProcessingConfig& config) {
  std::unique_ptr<AudioProcessor> processor(new AudioProcessor(config));
  if (!config.any()) return processor;  // bit-exact pass-through, no engine at all

  webrtc::Config extra;
  // The extended filter (128 ms instead of 48) and delay-agnostic mode make the AEC
  // robust to device latencies that are reported wrongly, which PortAudio's often are.
  extra.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
  extra.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
  // The experimental AGC steers an analog microphone volume we do not control.
  extra.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
  auto engine = std::make_unique<Engine>();
  engine->apm.reset(webrtc::AudioProcessing::Create(extra));
  if (engine->apm == nullptr) return Error{"cannot create the audio processor (webrtc-audio-processing)"};
  webrtc::AudioProcessing& apm = *engine->apm;

  webrtc::ProcessingConfig streams;
  for (webrtc::StreamConfig& stream : streams.streams) {
    stream.set_sample_rate_hz(kSampleRateHz);
    stream.set_num_channels(1);
  }
  const auto check = [](int code, const char* what) -> Status {
    if (code == webrtc::AudioProcessing::kNoError) return Ok{};
    return Error{std::string("cannot set up audio processing: ") + what + " failed (webrtc error " +
                 std::to_string(code) + "); try --no-aec, --no-ns or --no-agc"};
  };
  if (Status s = check(apm.Initialize(streams), "initialize"); !s) return s.error();
  if (config.echo_cancellation) {
    webrtc::EchoCancellation& aec = *apm.echo_cancellation();
    if (Status s = check(aec.enable_drift_compensation(false), "echo drift"); !s) return s.error();
    // Low suppression: in the echo lab it kept clearly more near-end speech in double
    // talk (quality 1.66 against 1.41 with moderate) for 43 instead of 46 dB of ERLE.
    if (Status s = check(aec.set_suppression_level(webrtc::EchoCancellation::kLowSuppression),
                         "echo suppression level");
        !s) {
      return s.error();
    }
    if (Status s = check(aec.enable_metrics(true), "echo metrics"); !s) return s.error();
    if (Status s = check(aec.enable_delay_logging(true), "echo delay logging"); !s) return s.error();
    if (Status s = check(aec.Enable(true), "echo cancellation"); !s) return s.error();
  }
  if (config.noise_suppression) {
    // Moderate, not high: in the noise lab high took 1-3 dB more noise out of pauses but
    // scored lower at 10-20 dB SNR (white at 20 dB: 2.39 against 2.75).
    webrtc::NoiseSuppression& ns = *apm.noise_suppression();
    if (Status s = check(ns.set_level(webrtc::NoiseSuppression::kModerate), "noise level"); !s) return s.error();
    if (Status s = check(ns.Enable(true), "noise suppression"); !s) return s.error();
  }
  if (config.gain_control) {
    webrtc::GainControl& agc = *apm.gain_control();
    // Digital only: the device's analog gain is the user's. Target -3 dBFS peaks with
    // up to 9 dB of compression gain and the limiter, WebRTC's tested defaults.
    if (Status s = check(agc.set_mode(webrtc::GainControl::kAdaptiveDigital), "gain mode"); !s) return s.error();
    if (Status s = check(agc.set_target_level_dbfs(3), "gain target"); !s) return s.error();
    if (Status s = check(agc.set_compression_gain_db(9), "gain compression"); !s) return s.error();
    if (Status s = check(agc.enable_limiter(true), "gain limiter"); !s) return s.error();
    if (Status s = check(agc.Enable(true), "gain control"); !s) return s.error();
  }
  if (config.high_pass_filter) {
    if (Status s = check(apm.high_pass_filter()->Enable(true), "high-pass filter"); !s) return s.error();
  }
  PrepareFrame(engine->far_frame);
  PrepareFrame(engine->capture_frame);
  processor->engine_ = std::move(engine);
  return processor;
}

void AudioProcessor::AnalyzeFarEnd(std::span<const Sample, kBlockSamples> played) {
  if (engine_ == nullptr || !config_.echo_cancellation) return;
  webrtc::AudioFrame& frame = engine_->far_frame;
  PrepareFrame(frame);
  std::copy(played.begin(), played.end(), frame.data_);
  (void)engine_->apm->ProcessReverseStream(&frame);
}

void AudioProcessor::ProcessCapture(std::span<Sample, kBlockSamples> block, int stream_delay_ms) {
  if (engine_ == nullptr) return;
  webrtc::AudioProcessing& apm = *engine_->apm;
  webrtc::AudioFrame& frame = engine_->capture_frame;
  PrepareFrame(frame);
  std::copy(block.begin(), block.end(), frame.data_);
  if (config_.echo_cancellation) {
    reported_stream_delay_ms_ = std::clamp(stream_delay_ms, 0, kMaxStreamDelayMs);
    (void)apm.set_stream_delay_ms(reported_stream_delay_ms_);
  }
  // Errors here are warnings about stream parameters; the frame is still processed.
  (void)apm.ProcessStream(&frame);
  std::copy(frame.data_, frame.data_ + kBlockSamples, block.begin());

  if (!config_.echo_cancellation) return;
  stats_.reported_stream_delay_ms = reported_stream_delay_ms_;
  stats_.echo_present = apm.echo_cancellation()->stream_has_echo();
  if (++blocks_since_metrics_ < kMetricsEveryBlocks) return;
  blocks_since_metrics_ = 0;
  int median = -1;
  int deviation = -1;
  float poor = 0;
  if (apm.echo_cancellation()->GetDelayMetrics(&median, &deviation, &poor) == webrtc::AudioProcessing::kNoError &&
      median >= 0) {
    stats_.estimated_echo_delay_ms = median;
  }
  webrtc::EchoCancellation::Metrics metrics{};
  // -100 is 0.3's "not measured yet".
  if (apm.echo_cancellation()->GetMetrics(&metrics) == webrtc::AudioProcessing::kNoError &&
      metrics.echo_return_loss_enhancement.average > -100) {
    stats_.erle_db = metrics.echo_return_loss_enhancement.average;
  }
}

AudioProcessorStats AudioProcessor::stats() const { return stats_; }

}  // namespace parley::media
