// `parley lab --adapt`: two CallMedia ends joined by simulated links run a whole call in
// simulated time, so the bitrate controller's behaviour on a scripted network (a
// bottleneck, loss steps, RTT steps, an outage, an address change) is measured in
// seconds of CPU, second by second.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/media/audio_format.h"

namespace parley::call {

struct AdaptationLabConfig {
  std::string network = "clean";  // netsim preset or spec, both directions (own seeds)
  double duration_s = 30;
  uint64_t seed = 1;
  bool data_saving = false;       // the caller's --data-saving
  bool adapt_bitrate = true;      // off: fixed 24 kbit/s 20 ms, protection only
};

// One second of the caller -> callee direction.
struct AdaptationSecond {
  double t_s = 0;                // end of the second
  double target_kbps = 0;        // the controller's wire budget
  int opus_bitrate_bps = 0;
  int frame_ms = 0;
  bool fec = false;
  int redundant_copies = 0;
  double wire_kbps = 0;          // what entered the link, sealed + 28 bytes UDP/IP each
  double delivered_kbps = 0;     // what left it
  double queue_delay_max_ms = 0; // waiting at the bottleneck (own serialization excluded)
                                 // of packets delivered in this second
  double loss_fraction = 0;      // of packets sent in this second
  double mos = 0;                // the callee's E-model estimate (0: none yet)
  double concealed_fraction = 0; // the callee's loss after recovery
};

struct AdaptationLabReport {
  std::string network;  // as run (presets expanded)
  std::vector<AdaptationSecond> seconds;
  double mean_wire_kbps = 0;
  double max_queue_delay_ms = 0;
  double mean_mos = 0;  // over seconds with an estimate
  // Caller -> callee wire rate (sealed + 28 bytes UDP/IP per packet) in the busiest
  // one-second window, sliding packet by packet, from 2 s on (the start is the
  // controller's first choice, not its steady state).
  double max_window_wire_kbps = 0;
  // Of every caller -> callee packet delivered: the 95th percentile of its wait at the
  // bottleneck (own serialization excluded).
  double queue_delay_p95_ms = 0;
};

// `speech` is looped to fill the duration; both ends send it.
Result<AdaptationLabReport> RunAdaptationLab(const AdaptationLabConfig& config, std::span<const media::Sample> speech);

struct AdaptationPreset {
  std::string name;
  std::string description;
  std::string network;
  double duration_s;
  bool data_saving = false;
};
// bottleneck, loss-steps, rtt-steps, outage, address-change, data-saving.
std::vector<AdaptationPreset> AdaptationPresets();

}  // namespace parley::call
