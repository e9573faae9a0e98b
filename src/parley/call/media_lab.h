// `parley lab`: one direction of a call run in simulated time, from microphone
// samples through encoder, packetizer, simulated network, jitter buffer and decoder
// to the loudspeaker, much faster than real time. Receiver reports travel back over
// a simulated reverse link and steer the sender's loss protection, as in a call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/media/audio_format.h"
#include "parley/media/jitter_buffer.h"

namespace parley::call {

enum class ProtectionMode {
  kAuto,        // receiver reports choose (LossProtectionPolicy): what a call does
  kOff,         // nothing: loss is concealed by PLC
  kFec,         // Opus in-band FEC only
  kRedundancy,  // full copies of the previous two frames
  kSilence,     // no protection and lost audio left silent: a floor for the quality score
};

struct LabConfig {
  std::string network = "clean";  // a netsim preset name or spec string
  uint64_t seed = 1;
  int bitrate_bps = 24000;
  int frame_ms = 20;
  int complexity = 9;
  bool dtx = false;
  ProtectionMode protection = ProtectionMode::kAuto;
  media::JitterBufferConfig jitter_buffer;
  int report_interval_ms = 1000;
  int drain_ms = 1000;  // playout kept running after the last frame is sent
};

// Samples of delay over the run, for plots and the settle-time figure.
struct DelayTrace {
  double time_s;
  double current_delay_ms;
  double target_delay_ms;
};

struct LabReport {
  media::Samples received;  // what the loudspeaker played, 48 kHz mono

  // Mouth-to-ear delay minus the network's one-way propagation delay, over every
  // 10 ms block played from a received frame.
  double added_delay_mean_ms = 0;
  double added_delay_p95_ms = 0;

  uint64_t frames_sent = 0;
  uint64_t packets_sent = 0;
  double network_loss_fraction = 0;   // packets the network dropped
  double late_loss_fraction = 0;      // frames that arrived too late to play, of frames sent
  double recovered_redundancy_fraction = 0;
  double recovered_fec_fraction = 0;
  double concealed_fraction = 0;      // frames played as PLC, of frames sent
  double payload_bitrate_kbps = 0;    // media payload bytes on the wire, before sealing

  // After the network's last scripted change, how long until the buffer's delay is
  // back at its target (nullopt: the spec has no change, or it never settled).
  std::optional<double> settle_after_change_ms;

  media::JitterBufferStats jitter_buffer;
  std::vector<DelayTrace> trace;  // every 100 ms
  std::string network;            // the spec as run (presets expanded)
};

Result<LabReport> RunMediaLab(const LabConfig& config, std::span<const media::Sample> input);

}  // namespace parley::call
