// `parley lab --scene echo|noise`: reads the speech, runs media/audio_processing_lab,
// prints what it measured.
#include "audio_lab_command.h"

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "parley/media/audio_processing_lab.h"
#include "parley/media/wav_file.h"

namespace parley::app {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "parley: %s\n", message.c_str());
  return 1;
}

nlohmann::json OrNull(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json OrNull(const std::optional<int>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
std::string Cell(const std::optional<double>& v, const char* format = "{:.1f}") {
  return v ? fmt::format(fmt::runtime(format), *v) : "—";
}

int RunEcho(const media::Samples& near, const media::Samples& far, bool json) {
  nlohmann::json rows = nlohmann::json::array();
  if (!json) {
    fmt::print("{:<18} {:>8} {:>7} {:>8} {:>9} {:>8} {:>9} {:>8} {:>9}\n", "scene", "delay ms", "talk", "ERLE dB",
               "MOS raw", "MOS AP", "corr raw", "corr AP", "delay est");
  }
  for (const media::EchoLabCase& lab_case : media::EchoLabCases()) {
    auto result = media::RunEchoLab(lab_case, near, far);
    if (!result.ok()) return Fail(result.error().message);
    if (json) {
      rows.push_back({{"scene", result->name},
                      {"echo_delay_ms", result->echo_delay_ms},
                      {"double_talk", result->double_talk},
                      {"erle_db", OrNull(result->erle_db)},
                      {"near_mos_unprocessed", OrNull(result->near_mos_unprocessed)},
                      {"near_mos_processed", OrNull(result->near_mos_processed)},
                      {"near_correlation_unprocessed", OrNull(result->near_correlation_unprocessed)},
                      {"near_correlation_processed", OrNull(result->near_correlation_processed)},
                      {"near_correlation_aec_only", OrNull(result->near_correlation_aec_only)},
                      {"estimated_echo_delay_ms", OrNull(result->estimated_echo_delay_ms)}});
    } else {
      fmt::print("{:<18} {:>8} {:>7} {:>8} {:>9} {:>8} {:>9} {:>8} {:>9}\n", result->name, result->echo_delay_ms,
                 result->double_talk ? "double" : "single", Cell(result->erle_db),
                 Cell(result->near_mos_unprocessed, "{:.2f}"), Cell(result->near_mos_processed, "{:.2f}"),
                 Cell(result->near_correlation_unprocessed, "{:.2f}"),
                 Cell(result->near_correlation_processed, "{:.2f}"),
                 result->estimated_echo_delay_ms ? std::to_string(*result->estimated_echo_delay_ms) : "—");
    }
  }
  if (json) fmt::print("{}\n", nlohmann::json{{"scene", "echo"}, {"results", rows}}.dump());
  return 0;
}

int RunNoise(const media::Samples& speech, const media::Samples& babble, uint64_t seed, bool json) {
  auto report = media::RunNoiseLab(speech, babble, seed);
  if (!report.ok()) return Fail(report.error().message);
  nlohmann::json rows = nlohmann::json::array();
  if (!json) fmt::print("clean speech through the suppressor: MOS {:.2f}\n", report->clean_mos_suppressed);
  if (!json) fmt::print("{:<8} {:>7} {:>10} {:>13} {:>16}\n", "noise", "SNR dB", "MOS noisy", "MOS with NS",
                        "pause noise -dB");
  for (const media::NoiseLabResult& r : report->results) {
    if (json) {
      rows.push_back({{"noise", media::NoiseKindName(r.kind)},
                      {"snr_db", r.snr_db},
                      {"mos_noisy", r.mos_noisy},
                      {"mos_suppressed", r.mos_suppressed},
                      {"noise_reduction_db", r.noise_reduction_db}});
    } else {
      fmt::print("{:<8} {:>7.0f} {:>10.2f} {:>13.2f} {:>16.1f}\n", media::NoiseKindName(r.kind), r.snr_db,
                 r.mos_noisy, r.mos_suppressed, r.noise_reduction_db);
    }
  }
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"scene", "noise"},
                                      {"seed", seed},
                                      {"clean_mos_suppressed", report->clean_mos_suppressed},
                                      {"results", rows}}
                           .dump());
  }
  return 0;
}

}  // namespace

int RunAudioLab(const AudioLabOptions& options) {
  if (options.near_in.empty()) {
    return Fail("lab --scene needs --in speech.wav (try scripts/make-speech DIR for test speech)");
  }
  auto near = media::ReadAudioFile(options.near_in);
  if (!near.ok()) return Fail(near.error().message);
  media::Samples far;
  if (!options.far_in.empty()) {
    auto read = media::ReadAudioFile(options.far_in);
    if (!read.ok()) return Fail(read.error().message);
    far = std::move(*read);
  }
  if (options.scene == "echo") {
    if (far.empty()) return Fail("lab --scene echo needs --far-in with the far end's speech (another talker)");
    return RunEcho(*near, far, options.json);
  }
  if (options.scene == "noise") return RunNoise(*near, far, options.seed, options.json);
  return Fail("unknown scene \"" + options.scene + "\": use echo or noise");
}

}  // namespace parley::app
