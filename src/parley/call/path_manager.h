// The path manager: which of a call's paths (P2P, relay over UDP, relay over TLS) to
// send on, when to probe which path, and when to move, as logic without I/O.
// docs/protocol.md, "Path probes and path choice".
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "parley/base/time.h"
#include "parley/net/packet_path.h"

namespace parley::call {

// A path's number within one side of one call, 0..kMaxPaths-1, in the order added.
// The peer numbers its own paths independently; a probe carries ours only so the
// reply can echo it.
using PathId = uint8_t;
inline constexpr std::size_t kMaxPaths = 8;

struct PathManagerConfig {
  // Probe spacing. A path never heard from yet is probed fast for the race at call
  // start, then slowly (it may never work: UDP blocked); a path that works but is not
  // suspect is probed once a second for its RTT and loss (the active one too: its
  // media says it is alive, not how fast it is); a suspect path fast, to settle
  // quickly whether it died.
  Duration racing_probe_interval = milliseconds(200);
  Duration racing_phase = seconds(10);  // after this, unheard paths get the idle interval
  Duration idle_probe_interval = seconds(1);
  Duration suspect_probe_interval = milliseconds(100);

  // A path that carries the peer's media (at least kBusyPackets in the last second)
  // becomes suspect after this much silence, or 4 mean gaps, whichever is longer.
  Duration silence_before_suspect = milliseconds(200);
  // A probe unanswered for clamp(2 * rtt + 100 ms, min, max) makes its path suspect.
  Duration probe_suspect_min = milliseconds(250);
  Duration probe_suspect_max = seconds(1);
  // A probe unanswered this long (or 4 * rtt if longer) counts as lost.
  Duration probe_lost_after = seconds(1);
  // Suspect this long with nothing heard and at least 2 probes unanswered: down.
  Duration suspect_before_down = milliseconds(400);

  // Quality moves: a candidate must be cheaper by the margin for switch_hold without
  // a break, at least min_dwell after the previous move; a path that was down must
  // be answering for recover_hold before it is a candidate again.
  Duration switch_hold = seconds(3);
  Duration min_dwell = seconds(10);
  Duration recover_hold = seconds(5);
  double switch_margin_ms = 30;
  double switch_margin_fraction = 0.2;  // of the active path's cost

  // cost = smoothed RTT + loss_cost_ms * (one-way loss above loss_free_fraction) + the
  // kind's penalty (so that equal paths rank P2P, then relay UDP, then relay TLS).
  // Loss below a few percent is what FEC and redundancy are for, and measuring it from
  // one probe a second is noise: it must not move a call.
  double loss_cost_ms = 1000;
  double loss_free_fraction = 0.05;
  double relay_udp_penalty_ms = 50;
  double relay_tls_penalty_ms = 100;
  std::size_t loss_window = 20;  // probes, for a path's round-trip loss

  // After a move, the old path keeps getting copies this long (if it is not down).
  Duration duplicate_after_switch = milliseconds(300);
};

enum class PathState : uint8_t {
  kRacing,   // never heard from (ready or not)
  kUp,       // answering
  kSuspect,  // silent for longer than usual, or a probe is overdue
  kDown,     // suspect with probes unanswered: not used until it answers again
  kClosed,   // the carrier is gone for good
};
std::string_view PathStateName(PathState state);

// What the probe's sender puts in a probe (control_message.h, ProbeMessage).
struct ProbeRequest {
  PathId path = 0;
  uint32_t sequence = 0;
  uint32_t sent_ms = 0;  // the manager's clock, ms since it was made plus 1, mod 2^32
};

struct PathStatus {
  PathId id = 0;
  net::PathKind kind = net::PathKind::kRelayUdp;
  PathState state = PathState::kRacing;
  bool active = false;
  std::optional<double> rtt_ms;  // smoothed probe RTT
  double loss_fraction = 0;      // one-way estimate
  double cost_ms = 0;
  uint64_t probes_sent = 0;
  uint64_t probes_answered = 0;
  std::optional<TimePoint> last_heard;  // the newest authenticated packet on this path
};

// Decides, from what arrived on each path and when, where a call's packets go. Each
// side runs its own and chooses its sending path alone; every path is always
// received from (the replay window drops copies).
//
// Inputs: AddPath, SetCarrier (the path's ready()/open()), OnReceived (every packet
// that authenticated, by the path it came on), OnProbeReply, OnSendLossReport (the
// peer's receiver report about our media). Outputs: SendPaths (where the next media
// or report packet goes: one path, two while the active one is suspect or just after
// a move, every ready path while none has answered yet), TakeDueProbes, status.
// Update(now) runs the timers; call it every ~10 ms and before SendPaths.
//
// Logic without I/O: no clock, no sockets; `now` never goes backwards. Single-threaded
// (the call's media thread).
class PathManager {
 public:
  explicit PathManager(PathManagerConfig config, TimePoint now);

  // At most kMaxPaths; ids are 0, 1, ... in call order. A new path starts racing.
  PathId AddPath(net::PathKind kind, TimePoint now);
  std::size_t path_count() const { return paths_.size(); }

  // The carrier's own view (PacketPath::ready(), open()).
  void SetCarrier(PathId path, bool ready, bool open, TimePoint now);
  // A packet that authenticated arrived on `path` (media, report, probe or reply).
  void OnReceived(PathId path, TimePoint now);
  // A reply to our probe `sequence`, which echoes our `echo_ms` and says how long the
  // peer held the probe; ignored unless it answers an outstanding probe of `path`.
  void OnProbeReply(PathId path, uint32_t sequence, uint32_t echo_ms, uint32_t reply_delay_ms, TimePoint now);
  // The peer's loss figure for the media we sent over its last report interval.
  void OnSendLossReport(double loss_fraction, TimePoint now);

  void Update(TimePoint now);
  // Probes to send now, each on its own path; the manager counts them as sent.
  std::vector<ProbeRequest> TakeDueProbes(TimePoint now);
  const std::vector<PathId>& SendPaths() const { return send_paths_; }

  std::optional<PathId> active() const { return active_; }
  uint64_t switches() const { return switches_; }
  std::vector<PathStatus> Status() const;
  uint32_t ClockMs(TimePoint now) const;

  static constexpr int kBusyPackets = 10;

 private:
  struct Probe {
    uint32_t sequence;
    TimePoint sent;
  };
  struct Path {
    net::PathKind kind;
    bool ready = false;
    bool open = true;
    PathState state = PathState::kRacing;
    TimePoint added;
    std::optional<TimePoint> last_heard;
    std::deque<TimePoint> recent_arrivals;  // within the last second
    Duration mean_gap{0};                   // EWMA of arrival gaps
    std::optional<TimePoint> suspect_since;
    // A candidate for moves from then on: when first heard, or recover_hold after
    // coming back from down.
    std::optional<TimePoint> settled_at;
    std::optional<TimePoint> next_probe;
    std::deque<Probe> outstanding;
    int unanswered_since_heard = 0;
    std::optional<double> srtt_ms;
    std::deque<bool> probe_results;  // true = answered; the last loss_window
    std::optional<double> report_loss;  // from receiver reports while active alone
    uint64_t probes_sent = 0;
    uint64_t probes_answered = 0;
  };

  double LossFraction(const Path& path) const;
  double Cost(const Path& path) const;
  Duration ProbeInterval(const Path& path, TimePoint now) const;
  void UpdateState(Path& path, TimePoint now);
  std::optional<PathId> BestCandidate(std::optional<PathId> except, TimePoint now, bool settled_only) const;
  void MoveTo(PathId path, TimePoint now);
  void UpdateSendPaths(TimePoint now);

  PathManagerConfig config_;
  TimePoint start_;
  std::vector<Path> paths_;
  std::optional<PathId> active_;
  std::optional<PathId> previous_active_;
  std::optional<TimePoint> last_move_;  // the last move from one path to another
  TimePoint duplicate_until_;
  std::optional<PathId> better_candidate_;
  std::optional<TimePoint> better_since_;
  std::optional<TimePoint> sending_alone_since_;  // SendPaths has been {active_} since
  uint64_t switches_ = 0;
  uint32_t next_sequence_ = 1;
  std::vector<PathId> send_paths_;
};

}  // namespace parley::call
