// `parley lab --adapt PRESET`: a whole call in simulated time on a scripted network,
// printing the bitrate controller's choices second by second (call/adaptation_lab.h).
#pragma once

#include <cstdint>
#include <string>

namespace parley::app {

struct AdaptationLabOptions {
  std::string preset;  // a name from call::AdaptationPresets(), or "list"
  std::string speech;  // WAV (or anything libsndfile reads), looped
  uint64_t seed = 1;
  bool json = false;
};

// Prints a table (or JSON) and returns the process exit code.
int RunAdaptationLab(const AdaptationLabOptions& options);

}  // namespace parley::app
