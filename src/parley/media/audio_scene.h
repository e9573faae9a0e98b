// Generated acoustic scenes for measuring audio processing: far-end speech echoing
// through a simulated room into the microphone, and speech in generated noise.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/media/audio_format.h"

namespace parley::media {

// A loudspeaker playing into a room that a microphone picks up. Deterministic for a
// seed. The echo path is: soft clipping of the speaker (tanh, `speaker_drive` times
// into it: 1 is gentle, 4 is a small speaker pushed hard), then the room's impulse
// response: a direct path `echo_delay_ms` after playout and an exponentially decaying
// noise tail (reverberation falling 60 dB in `rt60_ms`), scaled so the echo arrives
// `echo_gain_db` relative to the far-end signal (laptop speakers: about -6 to 0 dB).
struct EchoSceneConfig {
  int echo_delay_ms = 100;      // playout of a sample to its direct echo at the mic
  double rt60_ms = 250;
  double speaker_drive = 2.0;
  double echo_gain_db = -3;
  bool double_talk = false;     // near-end speech at the same time
  double near_gain_db = 0;      // near-end speech level relative to its source
  double mic_noise_dbfs = -65;  // self-noise of the microphone (white), RMS
  uint64_t seed = 1;
};

struct EchoScene {
  Samples far_end;     // what the speaker is given (the canceller's reference)
  Samples near_clean;  // near-end speech as it reaches the mic (silence without double talk)
  Samples echo;        // the echo alone as it reaches the mic
  Samples mic;         // near_clean + echo + mic noise: what is captured
};

// `far` and `near` 48 kHz mono; the scene is as long as `far`. `near` is repeated or
// cut to fit, and starts a quarter of the way in so single and double talk both occur.
EchoScene MakeEchoScene(const EchoSceneConfig& config, std::span<const Sample> far, std::span<const Sample> near);

enum class NoiseKind {
  kWhite,    // stationary
  kPink,     // stationary, 1/f (fans, air conditioning)
  kHum,      // stationary, 50 Hz mains and harmonics
  kBabble,   // non-stationary: several talkers at once (a café)
  kClicks,   // non-stationary: keyboard-like clicks at random intervals
  kTraffic,  // non-stationary: low rumble with passing vehicles swelling and fading
};

std::string_view NoiseKindName(NoiseKind kind);
const std::vector<NoiseKind>& AllNoiseKinds();
Result<NoiseKind> ParseNoiseKind(std::string_view name);

// `length` samples of the noise, RMS about -20 dBFS (only its level relative to speech
// matters). Babble is made of `babble_source` (speech) at several offsets and gains.
std::vector<float> MakeNoise(NoiseKind kind, size_t length, uint64_t seed, std::span<const Sample> babble_source);

// speech + noise scaled so the speech's active level is `snr_db` above the noise's RMS
// (active level: RMS over the 20 ms frames within 40 dB of the loudest), clipped to int16.
Samples MixAtSnr(std::span<const Sample> speech, std::span<const float> noise, double snr_db);

// Active speech level as above, in linear RMS of int16 units.
double ActiveLevel(std::span<const Sample> speech);

}  // namespace parley::media
