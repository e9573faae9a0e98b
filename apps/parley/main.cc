// parley: the command-line client. Argument parsing and wiring only; the work is in
// src/parley. Calls and accounts (client_commands.cc), `parley doctor`
// (doctor_command.cc), `parley lab` (a call over a simulated network) and `parley score`.
#include <cstdio>
#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adaptation_lab_command.h"
#include "audio_lab_command.h"
#include "client_commands.h"
#include "doctor_command.h"
#include "parley/call/media_lab.h"
#include "parley/media/quality_score.h"
#include "parley/media/wav_file.h"
#include "parley/net/netsim_spec.h"

namespace {

using parley::call::LabConfig;
using parley::call::LabReport;
using parley::call::ProtectionMode;

int Fail(const std::string& message) {
  std::fprintf(stderr, "parley: %s\n", message.c_str());
  return 1;
}

nlohmann::json LabJson(const LabConfig& config, const LabReport& report,
                       const parley::Result<parley::media::QualityReport>& quality) {
  const auto& jb = report.jitter_buffer;
  nlohmann::json json = {
      {"network", report.network},
      {"seed", config.seed},
      {"bitrate_bps", config.bitrate_bps},
      {"frame_ms", config.frame_ms},
      {"added_delay_mean_ms", report.added_delay_mean_ms},
      {"added_delay_p95_ms", report.added_delay_p95_ms},
      {"frames_sent", report.frames_sent},
      {"network_loss", report.network_loss_fraction},
      {"late_loss", report.late_loss_fraction},
      {"recovered_redundancy", report.recovered_redundancy_fraction},
      {"recovered_fec", report.recovered_fec_fraction},
      {"concealed", report.concealed_fraction},
      {"payload_kbps", report.payload_bitrate_kbps},
      {"jitter_buffer",
       {{"current_delay_ms", jb.current_delay_ms},
        {"target_delay_ms", jb.target_delay_ms},
        {"late_frames", jb.late_frames},
        {"duplicate_frames", jb.duplicate_frames},
        {"frames_from_redundancy", jb.frames_from_redundancy},
        {"frames_from_fec", jb.frames_from_fec},
        {"frames_concealed", jb.frames_concealed},
        {"accelerate", jb.accelerate_count},
        {"expand", jb.expand_count},
        {"merge", jb.merge_count}}},
  };
  json["settle_after_change_ms"] =
      report.settle_after_change_ms ? nlohmann::json(*report.settle_after_change_ms) : nlohmann::json(nullptr);
  if (quality) {
    json["quality"] = {{"mos", quality->mos},
                       {"nsim", quality->nsim},
                       {"log_spectral_distance_db", quality->log_spectral_distance_db},
                       {"silenced_speech", quality->silenced_speech_fraction}};
  } else {
    json["quality"] = {{"error", quality.error().message}};
  }
  return json;
}

void PrintLab(const LabReport& report, const parley::Result<parley::media::QualityReport>& quality) {
  const auto& jb = report.jitter_buffer;
  fmt::print("network        {}\n", report.network);
  fmt::print("added delay    mean {:.1f} ms, 95th percentile {:.1f} ms (target now {:.0f} ms)\n",
             report.added_delay_mean_ms, report.added_delay_p95_ms, jb.target_delay_ms);
  fmt::print("network loss   {:.2f}% of {} packets; late {:.2f}%\n", 100 * report.network_loss_fraction,
             report.frames_sent, 100 * report.late_loss_fraction);
  fmt::print("recovered      {:.2f}% from redundancy, {:.2f}% from FEC\n",
             100 * report.recovered_redundancy_fraction, 100 * report.recovered_fec_fraction);
  fmt::print("concealed      {:.2f}% of frames (PLC)\n", 100 * report.concealed_fraction);
  fmt::print("time-stretch   {} accelerate, {} expand, {} merge\n", jb.accelerate_count, jb.expand_count,
             jb.merge_count);
  fmt::print("bitrate        {:.1f} kbit/s of media payload\n", report.payload_bitrate_kbps);
  if (report.settle_after_change_ms) {
    fmt::print("settled        {:.0f} ms after the network's last change\n", *report.settle_after_change_ms);
  }
  if (quality) {
    fmt::print("quality        {:.2f} MOS (NSIM {:.3f})\n", quality->mos, quality->nsim);
  } else {
    fmt::print("quality        not scored: {}\n", quality.error().message);
  }
}

int RunLab(const LabConfig& config, const std::string& in_path, const std::string& out_path, bool json) {
  auto input = parley::media::ReadAudioFile(in_path);
  if (!input) return Fail(input.error().message);
  auto report = parley::call::RunMediaLab(config, *input);
  if (!report) return Fail(report.error().message);
  if (!out_path.empty()) {
    if (auto written = parley::media::WriteWavFile(out_path, report->received); !written) {
      return Fail(written.error().message);
    }
  }
  auto quality = parley::media::ScoreSpeechQuality(*input, report->received);
  if (json) {
    std::puts(LabJson(config, *report, quality).dump(2).c_str());
  } else {
    PrintLab(*report, quality);
    if (!out_path.empty()) fmt::print("wrote          {}\n", out_path);
  }
  return 0;
}

int RunScore(const std::string& reference_path, const std::string& degraded_path) {
  auto reference = parley::media::ReadAudioFile(reference_path);
  if (!reference) return Fail(reference.error().message);
  auto degraded = parley::media::ReadAudioFile(degraded_path);
  if (!degraded) return Fail(degraded.error().message);
  auto quality = parley::media::ScoreSpeechQuality(*reference, *degraded);
  if (!quality) return Fail(quality.error().message);
  fmt::print("{:.2f} MOS (NSIM {:.3f}, log-spectral distance {:.1f} dB, {:.1f}% of speech silenced)\n",
             quality->mos, quality->nsim, quality->log_spectral_distance_db,
             100 * quality->silenced_speech_fraction);
  return 0;
}

std::string PresetList() {
  std::string text = "Network presets:\n";
  for (const auto& preset : parley::net::NetsimPresets()) {
    text += fmt::format("  {:<10} {}\n             {}\n", preset.name, preset.description, preset.spec);
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley: end-to-end encrypted voice calls that get through censorship"};
  app.require_subcommand(1);

  LabConfig lab;
  std::string lab_in, lab_out;
  bool lab_json = false;
  bool list_networks = false;
  auto* lab_cmd = app.add_subcommand("lab", "What would my call sound like on this network? "
                                            "Runs speech through the whole media path in simulated time.");
  lab_cmd->footer(PresetList());
  lab_cmd->add_option("--in", lab_in, "speech to send (WAV or any format libsndfile reads)");
  lab_cmd->add_option("--network", lab.network, "a preset name or a spec like "
                                                "delay=40ms,jitter=15ms,loss=5%,burst=3,rate=32kbit")
      ->capture_default_str();
  lab_cmd->add_option("--out", lab_out, "where to write what the far end hears (48 kHz WAV)");
  lab_cmd->add_flag("--json", lab_json, "print the figures as JSON");
  lab_cmd->add_option("--seed", lab.seed, "seed of the simulated network")->capture_default_str();
  lab_cmd->add_option("--bitrate", lab.bitrate_bps, "Opus bitrate, bit/s (6000-64000)")
      ->check(CLI::Range(6000, 64000))->capture_default_str();
  lab_cmd->add_option("--frame-ms", lab.frame_ms, "Opus frame length")
      ->check(CLI::IsMember({10, 20, 40, 60, 80, 100, 120}))->capture_default_str();
  lab_cmd->add_option("--complexity", lab.complexity, "Opus complexity")
      ->check(CLI::Range(0, 10))->capture_default_str();
  lab_cmd->add_flag("--dtx", lab.dtx, "discontinuous transmission in silence");
  const std::map<std::string, ProtectionMode> protections = {
      {"auto", ProtectionMode::kAuto}, {"off", ProtectionMode::kOff}, {"fec", ProtectionMode::kFec},
      {"redundancy", ProtectionMode::kRedundancy}, {"silence", ProtectionMode::kSilence}};
  lab_cmd->add_option("--protection", lab.protection,
                      "loss protection: auto (receiver reports decide), off (PLC only), fec, "
                      "redundancy (copies of the previous two frames), silence (lost audio left silent)")
      ->transform(CLI::CheckedTransformer(protections, CLI::ignore_case))
      ->default_str("auto");
  lab_cmd->add_flag("--list-networks", list_networks, "list the network presets and exit");
  std::string adapt_preset;
  lab_cmd->add_option("--adapt", adapt_preset,
                      "a whole call on a scripted network, showing the bitrate controller second by second: "
                      "bottleneck, loss-steps, rtt-steps, outage, address-change, data-saving (or list)");
  parley::app::AudioLabOptions audio_lab;
  lab_cmd->add_option("--scene", audio_lab.scene,
                      "instead of a network, measure audio processing on generated scenes: echo (ERLE and "
                      "double talk, needs --far-in) or noise (quality with and without suppression)")
      ->check(CLI::IsMember({"echo", "noise"}));
  lab_cmd->add_option("--far-in", audio_lab.far_in,
                      "--scene echo: the far end's speech (another talker); noise: talkers for babble");

  std::string score_reference, score_degraded;
  auto* score_cmd = app.add_subcommand("score", "Score received speech against what was sent (1-5, after ViSQOL)");
  score_cmd->add_option("reference", score_reference, "what was sent")->required();
  score_cmd->add_option("degraded", score_degraded, "what was received")->required();

  // --- Accounts and calls (client_commands.cc) ---
  parley::app::CommonOptions common;
  app.add_option("--profile", common.profile_dir, "profile directory (default ~/.config/parley, created 0700)");
  parley::app::InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "Create this device's identity and register an account on a server");
  init_cmd->add_option("--server", init.servers,
                       "the wss://HOST:PORT/ws/... line parleyd prints, or HOST:PORT; repeat it for further nodes "
                       "of the same community, tried in this order when one is down")
      ->required();
  init_cmd->add_option("--path", init.path, "the server's WebSocket path, if --server does not include it");
  init_cmd->add_option("--pin", init.pin, "SHA-256 of the server certificate (default: pin the one seen now)");
  init_cmd->add_option("--name", init.name, "the username to register")->required();
  init_cmd->add_option("--device", init.device, "this device's name")->capture_default_str();

  parley::app::CallOptions call_options;
  auto add_call_options = [&](CLI::App* cmd) {
    cmd->add_option("--in", call_options.in_wav, "send this audio file instead of the microphone");
    cmd->add_option("--out", call_options.out_wav, "record what you hear to this WAV instead of the speaker");
    cmd->add_option("--input-device", call_options.input_device, "microphone (index or name; see parley devices)");
    cmd->add_option("--output-device", call_options.output_device, "speaker (index or name; see parley devices)");
    cmd->add_option("--stats", call_options.stats_file, "write one JSON line of call statistics per second");
    cmd->add_option("--max-duration", call_options.max_duration_s, "hang up after this many seconds of call");
    cmd->add_option("--transport", call_options.transport,
                    "media paths: auto (race them and keep the best, TLS when UDP fails), udp (relay over UDP), "
                    "tls (relay over TLS on the server's web port), p2p (direct only)")
        ->check(CLI::IsMember({"auto", "udp", "tls", "p2p"}))
        ->capture_default_str();
    cmd->add_option("--rebind-after", call_options.rebind_after_s,
                    "testing handover: this many seconds into the call, switch to a fresh UDP socket (new port) "
                    "as if the network had changed")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--blackout-after", call_options.blackout_after_s,
                    "testing handover: start an outage of every media path this many seconds into the call");
    cmd->add_option("--blackout-for", call_options.blackout_for_s,
                    "testing handover: how long that outage lasts (nothing sent, everything received dropped)")
        ->check(CLI::NonNegativeNumber);
    // Microphone clean-up, on by default for a device; a --in WAV file is sent unprocessed.
    cmd->add_flag("!--no-aec", call_options.echo_cancellation, "no echo cancellation (use with headphones)");
    cmd->add_flag("!--no-ns", call_options.noise_suppression, "no noise suppression");
    cmd->add_flag("!--no-agc", call_options.gain_control, "no automatic gain control");
    cmd->add_flag("--data-saving", call_options.data_saving,
                  "use little data (at most 12 kbit/s with UDP/IP): 120 ms packets at 6 kbit/s with DTX, "
                  "and ask the peer to do the same");
  };
  std::string peer;
  auto* call_cmd = app.add_subcommand("call", "Call someone (q or Ctrl-C hangs up)");
  call_cmd->add_option("name", peer, "who to call")->required();
  add_call_options(call_cmd);
  auto* listen_cmd = app.add_subcommand("listen", "Wait for calls; answer (a) or decline (d) at the prompt");
  add_call_options(listen_cmd);
  listen_cmd->add_flag("--auto-answer", call_options.auto_answer, "answer every call at once");
  listen_cmd->add_flag("--once", call_options.once, "exit after the first call");
  auto* devices_cmd = app.add_subcommand("devices", "List audio devices");
  int history_limit = 20;
  auto* history_cmd = app.add_subcommand("history", "Your recent calls");
  history_cmd->add_option("--limit", history_limit, "how many")->check(CLI::Range(1, 100))->capture_default_str();
  std::string contacts_action, contacts_name;
  auto* contacts_cmd = app.add_subcommand("contacts", "contacts add|remove|list [NAME]");
  contacts_cmd->add_option("action", contacts_action, "add, remove or list")
      ->required()->check(CLI::IsMember({"add", "remove", "list"}));
  contacts_cmd->add_option("name", contacts_name, "who");
  std::string block_name, unblock_name;
  auto* block_cmd = app.add_subcommand("block", "Block NAME (their calls fail as if you did not exist); no NAME lists");
  block_cmd->add_option("name", block_name, "who");
  auto* unblock_cmd = app.add_subcommand("unblock", "Unblock NAME");
  unblock_cmd->add_option("name", unblock_name, "who")->required();
  std::string who_may_call, p2p;
  auto* settings_cmd = app.add_subcommand("settings", "Show or change who may call you and the P2P policy");
  settings_cmd->add_option("--who-may-call", who_may_call, "everyone, contacts or nobody");
  settings_cmd->add_option("--p2p", p2p, "who may learn your address for direct calls: everyone, contacts or nobody");
  std::string verify_name;
  bool verify_confirm = false;
  auto* verify_cmd = app.add_subcommand("verify", "Show the safety number to compare with NAME; --confirm marks it verified");
  verify_cmd->add_option("name", verify_name, "who")->required();
  verify_cmd->add_flag("--confirm", verify_confirm, "the numbers matched");
  bool delete_yes = false;
  auto* invite_cmd = app.add_subcommand("invite", "Make a link to the web app on your server, to give to someone");
  auto* delete_cmd = app.add_subcommand("delete-account", "Delete your account on the server");
  delete_cmd->add_flag("--yes", delete_yes, "really delete it");

  parley::app::DoctorOptions doctor;
  auto* doctor_cmd = app.add_subcommand("doctor", "What works from this network: tries each way of reaching the "
                                                  "server and says what calls will use");
  doctor_cmd->add_flag("--json", doctor.json, "print the findings as JSON");

  CLI11_PARSE(app, argc, argv);

  if (*init_cmd) return parley::app::RunInit(common, init);
  if (*call_cmd) return parley::app::RunCall(common, peer, call_options);
  if (*listen_cmd) return parley::app::RunListen(common, call_options);
  if (*devices_cmd) return parley::app::RunDevices();
  if (*history_cmd) return parley::app::RunHistory(common, history_limit);
  if (*contacts_cmd) return parley::app::RunContacts(common, contacts_action, contacts_name);
  if (*block_cmd) return parley::app::RunBlock(common, true, block_name);
  if (*unblock_cmd) return parley::app::RunBlock(common, false, unblock_name);
  if (*settings_cmd) return parley::app::RunSettings(common, who_may_call, p2p);
  if (*verify_cmd) return parley::app::RunVerify(common, verify_name, verify_confirm);
  if (*delete_cmd) return parley::app::RunDeleteAccount(common, delete_yes);
  if (*invite_cmd) return parley::app::RunInvite(common);
  if (*doctor_cmd) return parley::app::RunDoctor(common, doctor);

  if (*lab_cmd) {
    if (list_networks) {
      std::fputs(PresetList().c_str(), stdout);
      return 0;
    }
    if (!audio_lab.scene.empty()) {
      audio_lab.near_in = lab_in;
      audio_lab.seed = lab.seed;
      audio_lab.json = lab_json;
      return parley::app::RunAudioLab(audio_lab);
    }
    if (!adapt_preset.empty()) {
      return parley::app::RunAdaptationLab({.preset = adapt_preset, .speech = lab_in, .seed = lab.seed, .json = lab_json});
    }
    if (lab_in.empty()) return Fail("lab needs --in speech.wav (try scripts/make-speech DIR for test speech)");
    return RunLab(lab, lab_in, lab_out, lab_json);
  }
  return RunScore(score_reference, score_degraded);
}
