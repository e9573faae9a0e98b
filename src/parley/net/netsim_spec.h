// Network conditions for the simulator: the spec a NetsimLink runs, its text syntax
// (parse and describe), and the named presets used by tests, `parley lab` and the demo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"

namespace parley::net {

// Spec syntax (all times are one-way, measured from the link's start time):
//
//   spec     := [settings] (';' step)*        empty text = a perfect link (no delay)
//   step     := 'at=' TIME ':' settings       conditions from TIME on; keys it does not
//                                             name keep the value they had before
//   settings := key '=' value (',' key '=' value)*      whitespace around tokens is ignored
//
//   delay=TIME       fixed propagation delay (default 0)
//   jitter=TIME      extra delay per packet, exponential with this MEAN (see below)
//   loss=PCT         average loss; Bernoulli unless burst is set
//   burst=N|off      mean loss burst length in packets (>= 1): Gilbert-Elliott loss
//                    with `loss` as the average rate (see gilbert_elliott.h)
//   reorder=PCT      chance that a packet is held back until the next packet sent has
//                    been delivered (at most kReorderHoldLimit), so the two swap; the
//                    overtaking packet is never held itself, so P/(1+P) of packets swap
//   dup=PCT          chance that a packet is delivered twice (the copy gets its own jitter)
//   fifo=on|off      on: packets never overtake each other through jitter (a late
//                    packet delays the ones behind it); reorder= still applies. Default off.
//   rate=RATE|off    bottleneck bandwidth; serialization takes size*8/rate and packets
//                    queue behind each other (drop-tail). Default off (unlimited)
//   queue=LIMIT      drop-tail limit of that queue: TIME = the most a packet may wait
//                    before its own serialization starts (default 200ms), Npkt = packets
//                    in the queue incl. the one on the wire, Nbyte = bytes likewise.
//                    A packet arriving at an empty queue is always accepted.
//   outage=T+LEN     every packet sent in [T, T+LEN) is dropped; may repeat; only in
//                    the first section (T is absolute anyway)
//
//   TIME  = number with unit s, ms, us or ns (bare 0 allowed): 40ms, 1.5s, 250us
//   PCT   = number from 0 to 100 with %: 5%, 0.5%
//   RATE  = number with unit bit, kbit, mbit or gbit, per second, decimal (k = 1000)
//   numbers are decimal: digits with at most one '.', no sign, no exponent
//
// Example: "delay=40ms,jitter=15ms,loss=5%,burst=3,rate=32kbit,outage=10s+500ms;
//           at=20s:delay=100ms,loss=0%"
//
// Jitter: each packet gets delay + X with X ~ Exponential(mean = jitter). Delay is
// never below the base delay, the tail is skewed late, and the mean absolute
// difference between the extra delays of two packets is also `jitter`, so the RFC 3550
// interarrival jitter a receiver measures is about `jitter` (without fifo/queueing).
// jitter=30ms: median extra 21 ms, mean 30 ms, 95th percentile 90 ms, 99th 138 ms.

// How long a reordered packet waits at most for a later packet to overtake it.
inline constexpr Duration kReorderHoldLimit = milliseconds(100);

struct NetsimQueueLimit {
  enum class Unit { kTime, kPackets, kBytes };
  Unit unit = Unit::kTime;
  Duration time = milliseconds(200);  // only for kTime
  int64_t packets = 0;                // only for kPackets (>= 1)
  int64_t bytes = 0;                  // only for kBytes (>= 1)
  bool operator==(const NetsimQueueLimit&) const = default;
};

// The conditions in force over some span of time. Percentages are 0..100.
struct NetsimConditions {
  Duration delay{0};
  Duration jitter{0};            // mean of the exponential extra delay
  double loss_percent = 0;
  double burst_packets = 0;      // 0 = off (Bernoulli loss), else >= 1
  double reorder_percent = 0;
  double dup_percent = 0;
  bool fifo = false;
  int64_t rate_bps = 0;          // bits per second; 0 = unlimited
  NetsimQueueLimit queue;
  bool operator==(const NetsimConditions&) const = default;
};

struct NetsimStep {
  Duration at{0};                // since start; strictly increasing, > 0
  NetsimConditions conditions;   // complete conditions from `at` on
  bool operator==(const NetsimStep&) const = default;
};

struct NetsimOutage {
  Duration start{0};             // since start
  Duration length{0};            // > 0
  bool operator==(const NetsimOutage&) const = default;
};

struct NetsimSpec {
  NetsimConditions initial;
  std::vector<NetsimStep> steps;
  std::vector<NetsimOutage> outages;

  // The conditions in force `since_start` after the start (initial before the first step).
  const NetsimConditions& ConditionsAt(Duration since_start) const;
  bool InOutage(Duration since_start) const;
  // When conditions last change (a step, or the end of an outage), if they ever do.
  std::optional<Duration> LastChange() const;
  bool operator==(const NetsimSpec&) const = default;
};

Result<NetsimSpec> ParseNetsimSpec(std::string_view text);
// Text that ParseNetsimSpec turns back into an equal spec.
std::string DescribeNetsimSpec(const NetsimSpec& spec);

struct NetsimPresetInfo {
  std::string name;
  std::string description;       // one line, for `parley lab --help`
  std::string spec;              // the spec text the preset parses from
};
std::vector<NetsimPresetInfo> NetsimPresets();
Result<NetsimSpec> NetsimPreset(std::string_view name);
// A preset name, or a spec string (anything containing '=' or empty).
Result<NetsimSpec> ParseNetsimSpecOrPreset(std::string_view text);

}  // namespace parley::net
