// `parley lab --scene echo|noise`: audio processing measured on generated scenes
// (audio_scene.h), in simulated time, as docs/benchmarks.md reports it.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/media/audio_format.h"
#include "parley/media/audio_processor.h"
#include "parley/media/audio_scene.h"

namespace parley::media {

// How the simulated devices report when the speaker played each block: the capture
// side feeds the canceller through a FarEndReference exactly as in a call.
enum class DeviceTimestamps {
  kExact,      // playout times right to the ms (echo delay minus a 2 ms acoustic path)
  kOff50ms,    // playout times 50 ms too early (a device that misreports its latency)
  kNone,       // no latency known: playout time = the time the block was written
};

struct EchoLabCase {
  std::string name;
  EchoSceneConfig scene;
  DeviceTimestamps timestamps = DeviceTimestamps::kExact;
};

// The presets `parley lab --scene echo` runs: delays 30, 100 and 200 ms, a hard-driven
// speaker, a long reverberation, wrong and missing timestamps; each single and double talk.
std::vector<EchoLabCase> EchoLabCases();

struct EchoLabResult {
  std::string name;
  int echo_delay_ms = 0;
  bool double_talk = false;
  // Single talk: echo energy in over residual out, after 2 s of convergence, over
  // blocks where the echo is above the mic's noise; the canceller alone (no NS/AGC).
  std::optional<double> erle_db;
  // Double talk: quality score (1..5) of the near-end speech, against the clean
  // near-end speech over the double-talk part: as captured (with echo), and after
  // the full default chain.
  std::optional<double> near_mos_unprocessed;
  std::optional<double> near_mos_processed;
  // Double talk: correlation (0..1) of the same two signals with the clean near-end
  // speech: echo lowers it, and so does near-end speech the processing removed.
  std::optional<double> near_correlation_unprocessed;
  std::optional<double> near_correlation_processed;
  std::optional<double> near_correlation_aec_only;  // the echo canceller (and high-pass) alone
  std::optional<int> estimated_echo_delay_ms;  // the canceller's own estimate, at the end
};

struct ProcessedScene {
  Samples out;
  AudioProcessorStats stats;  // at the end
};

// Runs `mic` through `processor` in a CaptureProcessor (the device path's code),
// feeding `far_end` through a FarEndReference as the devices would: far-end block k is
// written along with mic block k, and is reported to play `play_offset` later.
ProcessedScene ProcessScene(std::unique_ptr<AudioProcessor> processor, std::span<const Sample> far_end,
                            std::span<const Sample> mic, Duration play_offset);

// `near` and `far` 48 kHz speech (different talkers); the scene lasts as long as `far`.
Result<EchoLabResult> RunEchoLab(const EchoLabCase& lab_case, std::span<const Sample> near,
                                 std::span<const Sample> far);

struct NoiseLabResult {
  NoiseKind kind = NoiseKind::kWhite;
  double snr_db = 0;
  double mos_noisy = 0;       // quality score of speech + noise against clean speech
  double mos_suppressed = 0;  // after noise suppression and the high-pass filter
  double noise_reduction_db = 0;  // noise energy removed in speech pauses
};

struct NoiseLabReport {
  double clean_mos_suppressed = 0;  // clean speech through the suppressor: what it costs
  std::vector<NoiseLabResult> results;
};

// Every noise kind at 0, 5, 10 and 20 dB SNR. `babble` is speech of other talkers.
Result<NoiseLabReport> RunNoiseLab(std::span<const Sample> speech, std::span<const Sample> babble, uint64_t seed);

}  // namespace parley::media
