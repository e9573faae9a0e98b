// PlanGap: loss vs DTX classification and the FEC/PLC/comfort-noise split of a gap.
#include "parley/media/gap_planner.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::media {
namespace {
constexpr int kConcealUnitSamples = 120;  // 2.5 ms

int RoundToUnit(int samples) {
  return (samples + kConcealUnitSamples / 2) / kConcealUnitSamples * kConcealUnitSamples;
}
}  // namespace

GapPlan PlanGap(const GapInput& in) {
  PARLEY_CHECK(in.gap_samples > 0 && in.waited_samples >= 0);
  GapPlan plan;
  const int last_frame = std::max(in.last_frame_samples, kConcealUnitSamples);
  const int estimated_frames = std::max(1, (in.gap_samples + last_frame / 2) / last_frame);
  if (in.previous_sequence) {
    const int64_t missing = in.next_sequence - *in.previous_sequence - 1;
    if (missing == 0) {
      plan.dtx = true;
    } else if (missing > 0) {
      const int most = std::max(1, in.gap_samples / kConcealUnitSamples);
      plan.lost_frames = static_cast<int>(std::min<int64_t>(missing, most));
    } else {
      plan.lost_frames = estimated_frames;  // sequence went backwards: don't trust it
    }
  } else {
    plan.lost_frames = estimated_frames;
  }

  if (plan.dtx) {
    const int excess = std::max(0, in.buffered_samples - in.target_samples);
    const int pause_left = in.gap_samples - in.waited_samples - excess;
    if (pause_left > 0) {
      plan.comfort_noise_samples = pause_left;
    } else if (in.buffered_samples < in.target_samples &&
               in.waited_samples < in.gap_samples + in.target_samples) {
      plan.comfort_noise_samples = in.target_samples - in.buffered_samples;
    }
    return plan;
  }

  const int remaining = in.gap_samples - in.waited_samples;
  // FEC is worth playing even after the wait covered the gap (as a late redundant copy
  // would be), unless the wait was much longer than the frame: then it is stale.
  if (in.next_has_fec && in.waited_samples < in.gap_samples + in.next_frame_samples) {
    plan.fec_samples = std::min(in.gap_samples, in.next_frame_samples) / kConcealUnitSamples * kConcealUnitSamples;
  }
  if (remaining <= 0) return plan;
  const int plc = std::max(0, remaining - plan.fec_samples);
  if (plc > in.max_conceal_samples) {
    plan.skip = true;
  } else {
    plan.plc_samples = RoundToUnit(plc);
  }
  return plan;
}

}  // namespace parley::media
