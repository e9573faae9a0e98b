// `parley lab --adapt`: runs an adaptation preset and prints what the controller did.
#include "adaptation_lab_command.h"

#include <cstdint>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "parley/call/adaptation_lab.h"
#include "parley/media/wav_file.h"

namespace parley::app {

int RunAdaptationLab(const AdaptationLabOptions& options) {
  const std::vector<call::AdaptationPreset> presets = call::AdaptationPresets();
  const call::AdaptationPreset* preset = nullptr;
  for (const call::AdaptationPreset& p : presets) {
    if (p.name == options.preset) preset = &p;
  }
  if (!preset) {
    std::string names;
    for (const call::AdaptationPreset& p : presets) names += fmt::format("  {:<15} {}\n", p.name, p.description);
    std::fprintf(options.preset == "list" ? stdout : stderr, "%sAdaptation presets:\n%s",
                 options.preset == "list" ? "" : ("There is no adaptation preset '" + options.preset + "'.\n").c_str(),
                 names.c_str());
    return options.preset == "list" ? 0 : 1;
  }
  if (options.speech.empty()) {
    std::fprintf(stderr, "lab --adapt needs --in speech.wav (try scripts/make-speech DIR for test speech)\n");
    return 1;
  }
  auto speech = media::ReadAudioFile(options.speech);
  if (!speech) {
    std::fprintf(stderr, "%s\n", speech.error().message.c_str());
    return 1;
  }
  call::AdaptationLabConfig config;
  config.network = preset->network;
  config.duration_s = preset->duration_s;
  config.data_saving = preset->data_saving;
  config.seed = options.seed;
  auto report = call::RunAdaptationLab(config, *speech);
  if (!report) {
    std::fprintf(stderr, "%s\n", report.error().message.c_str());
    return 1;
  }
  if (options.json) {
    nlohmann::json seconds = nlohmann::json::array();
    for (const call::AdaptationSecond& s : report->seconds) {
      seconds.push_back({{"t", s.t_s}, {"target_kbps", s.target_kbps}, {"wire_kbps", s.wire_kbps},
                         {"delivered_kbps", s.delivered_kbps}, {"opus_bitrate_bps", s.opus_bitrate_bps},
                         {"frame_ms", s.frame_ms}, {"fec", s.fec}, {"redundant_copies", s.redundant_copies},
                         {"queue_wait_max_ms", s.queue_delay_max_ms}, {"loss", s.loss_fraction},
                         {"concealed", s.concealed_fraction}, {"mos", s.mos}});
    }
    const nlohmann::json out = {{"preset", preset->name}, {"network", report->network},
                                {"mean_wire_kbps", report->mean_wire_kbps},
                                {"max_queue_wait_ms", report->max_queue_delay_ms},
                                {"p95_queue_wait_ms", report->queue_delay_p95_ms},
                                {"max_one_second_wire_kbps", report->max_window_wire_kbps}, {"mean_mos", report->mean_mos},
                                {"seconds", seconds}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("%s: %s\nnetwork: %s\n", preset->name.c_str(), preset->description.c_str(), report->network.c_str());
  std::printf("%5s %8s %8s %8s %6s %5s %4s %6s %9s %6s %6s %5s\n", "t(s)", "budget", "wire", "arrived", "opus",
              "frame", "fec", "copies", "wait(ms)", "loss", "concl", "MOS");
  for (const call::AdaptationSecond& s : report->seconds) {
    std::printf("%5.0f %8.1f %8.1f %8.1f %6.1f %5d %4s %6d %9.0f %5.1f%% %5.1f%% %5.2f\n", s.t_s, s.target_kbps,
                s.wire_kbps, s.delivered_kbps, s.opus_bitrate_bps / 1000.0, s.frame_ms, s.fec ? "on" : "-",
                s.redundant_copies, s.queue_delay_max_ms, s.loss_fraction * 100, s.concealed_fraction * 100, s.mos);
  }
  std::printf("mean wire %.1f kbit/s (sealed + UDP/IPv4), %.1f kbit/s in the busiest one-second window from 2 s on\n"
              "queue wait: 95th percentile %.0f ms, longest %.0f ms; mean MOS %.2f\n",
              report->mean_wire_kbps, report->max_window_wire_kbps, report->queue_delay_p95_ms,
              report->max_queue_delay_ms, report->mean_mos);
  return 0;
}

}  // namespace parley::app
