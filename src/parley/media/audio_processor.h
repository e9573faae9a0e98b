// Microphone clean-up before encoding: echo cancellation, noise suppression, automatic
// gain and a high-pass filter on 10 ms blocks, wrapping Debian's webrtc-audio-processing.
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "parley/base/result.h"
#include "parley/media/audio_format.h"

namespace parley::media {

// Which stages run. Each can be switched off on its own (`--no-aec`, `--no-ns`,
// `--no-agc` on `parley call/listen`); the high-pass filter goes with any stage that
// is on (it only removes < 80 Hz rumble that no stage wants).
struct AudioProcessingConfig {
  bool echo_cancellation = true;
  bool noise_suppression = true;
  bool gain_control = true;
  bool high_pass_filter = true;

  bool any() const { return echo_cancellation || noise_suppression || gain_control || high_pass_filter; }
};

// What the processor measured; for call stats and the lab.
struct AudioProcessorStats {
  // The echo canceller's own estimate of the echo delay beyond the stream delay we
  // reported, median over its last second, in ms (nothing until it has one, or
  // without echo cancellation).
  std::optional<int> estimated_echo_delay_ms;
  // The delay we last told it (from the far-end reference's timestamps), ms.
  int reported_stream_delay_ms = 0;
  // Echo return loss enhancement it reports, long-term average in dB (nothing before
  // it has measured one). The lab measures ERLE itself; this is for call stats.
  std::optional<double> erle_db;
  bool echo_present = false;  // the canceller thinks the latest block held echo
};

// Why a wrapper and not our own DSP: WebRTC's AEC (with its extended 128 ms filter and
// delay-agnostic mode), noise suppressor and AGC are what Chrome shipped for years on
// every kind of laptop; writing and tuning our own would take months and be worse.
// Debian packages version 0.3 (2016). Its headers stay in audio_processor.cc (pimpl).
//
// Format: 48 kHz mono int16, blocks of kBlockSamples (10 ms), which 0.3 processes
// natively (it splits 48 kHz into three 16 kHz bands; the AEC works on the lowest and
// the suppressors on all). The mobile echo controller (AECM) stops at 16 kHz, so this
// uses the full AEC.
//
// Context: single-threaded. In a call every method runs in the capture device's
// callback (both the far-end and the capture side, so 0.3's internal mutex is never
// contended). After Create, AnalyzeFarEnd and ProcessCapture neither allocate, lock a
// contended lock nor log (allocation is tested with a counting allocator).
class AudioProcessor {
 public:
  static Result<std::unique_ptr<AudioProcessor>> Create(const AudioProcessingConfig& config);
  ~AudioProcessor();
  AudioProcessor(const AudioProcessor&) = delete;
  AudioProcessor& operator=(const AudioProcessor&) = delete;

  const AudioProcessingConfig& config() const { return config_; }

  // A 10 ms block that was played to the speaker (the far end's speech), given in
  // time order before the capture blocks that may hold its echo. Ignored without
  // echo cancellation.
  void AnalyzeFarEnd(std::span<const Sample, kBlockSamples> played);

  // Cleans one captured 10 ms block in place. `stream_delay_ms`: how long after the
  // latest AnalyzeFarEnd block's playout this block was captured (0..500). With every
  // stage off the block is left untouched, bit for bit.
  void ProcessCapture(std::span<Sample, kBlockSamples> block, int stream_delay_ms);

  AudioProcessorStats stats() const;

 private:
  struct Engine;  // webrtc::AudioProcessing and its frames
  explicit AudioProcessor(const AudioProcessingConfig& config);

  AudioProcessingConfig config_;
  std::unique_ptr<Engine> engine_;  // null when every stage is off
  int reported_stream_delay_ms_ = 0;
  int blocks_since_metrics_ = 0;
  AudioProcessorStats stats_;
};

}  // namespace parley::media
