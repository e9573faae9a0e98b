// AudioStatsJson and AudioStatusText from the endpoints' counters.
#include "audio_stats.h"

#include <fmt/format.h>

namespace parley::app {

nlohmann::json AudioStatsJson(const media::AudioInput& input, const media::AudioOutput& output) {
  const media::AudioGlitches in = input.glitches();
  const media::AudioGlitches out = output.glitches();
  nlohmann::json json = {{"input_overruns", in.overruns},
                         {"input_underruns", in.underruns},
                         {"output_overruns", out.overruns},
                         {"output_underruns", out.underruns},
                         {"glitches", in.total() + out.total()},
                         {"processing", nullptr}};
  if (const auto p = input.processing_stats()) {
    const auto& d = p->processor;
    json["processing"] = {
        {"aec", p->config.echo_cancellation},
        {"ns", p->config.noise_suppression},
        {"agc", p->config.gain_control},
        {"hpf", p->config.high_pass_filter},
        {"echo_delay_ms", d.estimated_echo_delay_ms ? nlohmann::json(*d.estimated_echo_delay_ms) : nlohmann::json(nullptr)},
        {"stream_delay_ms", d.reported_stream_delay_ms},
        {"erle_db", d.erle_db ? nlohmann::json(*d.erle_db) : nlohmann::json(nullptr)},
        {"echo", d.echo_present},
        {"far_end_blocks_fed", p->far_end_blocks_fed},
        {"far_end_blocks_dropped", p->far_end_blocks_dropped},
    };
  }
  return json;
}

std::string AudioStatusText(const media::AudioInput& input, const media::AudioOutput& output) {
  const uint64_t glitches = input.glitches().total() + output.glitches().total();
  if (glitches == 0) return "";
  return fmt::format(" | {} audio glitch{}", glitches, glitches == 1 ? "" : "es");
}

}  // namespace parley::app
