// Merge: the step from concealment back to decoded audio, smoothed by a cross-fade from
// the concealment (continued over the first samples of the new frame) into the frame.
#pragma once

#include <span>

#include "parley/media/audio_format.h"

namespace parley::media {

class Merge {
 public:
  static constexpr int kCrossfadeSamples = 240;  // 5 ms at 48 kHz

  // Cross-fades the start of `decoded` in place from `concealment`, which the caller got
  // from the decoder's concealment *before* decoding the frame (so it continues the
  // concealed signal exactly where it left off). Returns the samples cross-faded:
  // min(concealment, decoded). The first output sample is the concealment's (no step
  // from what was played), the last is the decoded one's (no step into the frame).
  static int Apply(std::span<const Sample> concealment, std::span<Sample> decoded);
};

}  // namespace parley::media
