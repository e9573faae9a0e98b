// The one audio format inside Parley: 48 kHz mono 16-bit PCM, moved in 10 ms blocks.
#pragma once

#include <cstdint>
#include <vector>

namespace parley::media {

inline constexpr int kSampleRateHz = 48000;
inline constexpr int kSamplesPerMs = kSampleRateHz / 1000;
inline constexpr int kBlockMs = 10;                        // playout and capture granularity
inline constexpr int kBlockSamples = kBlockMs * kSamplesPerMs;  // 480
inline constexpr int kMaxFrameMs = 120;  // longest Opus packet we send (120 ms: data saving)
inline constexpr int kMaxFrameSamples = kMaxFrameMs * kSamplesPerMs;

using Sample = int16_t;
using Samples = std::vector<Sample>;

}  // namespace parley::media
