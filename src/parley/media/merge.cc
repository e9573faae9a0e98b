// Merge: raised-cosine cross-fade from continued concealment into the first decoded frame.
#include "parley/media/merge.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace parley::media {

int Merge::Apply(std::span<const Sample> concealment, std::span<Sample> decoded) {
  const int n = static_cast<int>(std::min(concealment.size(), decoded.size()));
  for (int i = 0; i < n; ++i) {
    // Raised cosine: the weight's slope is zero at both ends, so neither seam has a kink.
    const double w = n > 1 ? 0.5 - 0.5 * std::cos(std::numbers::pi * i / (n - 1)) : 1.0;
    const double v = (1 - w) * concealment[static_cast<size_t>(i)] + w * decoded[static_cast<size_t>(i)];
    decoded[static_cast<size_t>(i)] = static_cast<Sample>(std::lround(std::clamp(v, -32768.0, 32767.0)));
  }
  return n;
}

}  // namespace parley::media
