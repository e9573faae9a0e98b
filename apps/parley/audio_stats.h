// The audio devices' part of call stats: glitches (under- and overruns) and what the
// capture processing did, for --stats JSON and the status line.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "parley/media/audio_input.h"
#include "parley/media/audio_output.h"

namespace parley::app {

// {"input_overruns", "input_underruns", "output_overruns", "output_underruns",
//  "glitches" (their sum), "processing": null or {"aec","ns","agc","hpf",
//  "echo_delay_ms" (the canceller's estimate), "stream_delay_ms", "erle_db",
//  "far_end_blocks_fed", "far_end_blocks_dropped"}}. Any thread.
nlohmann::json AudioStatsJson(const media::AudioInput& input, const media::AudioOutput& output);

// "" when all is well, else e.g. " | 3 audio glitches" for the status line.
std::string AudioStatusText(const media::AudioInput& input, const media::AudioOutput& output);

}  // namespace parley::app
