// `parley lab --scene echo|noise`: audio processing measured on generated scenes.
#pragma once

#include <string>

namespace parley::app {

struct AudioLabOptions {
  std::string scene;    // "echo" or "noise"
  std::string near_in;  // near-end speech (--in)
  std::string far_in;   // far-end speech for echo, other talkers' babble for noise (--far-in)
  uint64_t seed = 1;
  bool json = false;
};

// Prints a table (or one JSON document) and returns the exit code.
int RunAudioLab(const AudioLabOptions& options);

}  // namespace parley::app
