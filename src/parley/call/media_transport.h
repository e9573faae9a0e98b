// Where a call's sealed packets go and come from (one path, or several under the
// path manager: MultipathTransport), as the call media engine sees it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/time.h"
#include "parley/call/path_manager.h"

namespace parley::call {

// A packet as it arrived, with the path it came on (0 for a one-path transport).
struct ReceivedPacket {
  std::vector<uint8_t> sealed;
  PathId path = 0;
};

// One path's figures for the status line and --stats.
struct PathReport {
  PathStatus status;
  std::string description;  // "relay-udp 203.0.113.5:8443"
};

// What CallMedia reports about the paths (empty for a one-path transport).
struct PathsReport {
  std::string active_kind;         // "relay-udp", "relay-tls", "p2p"; empty: none yet
  std::string active_description;
  uint64_t switches = 0;
  std::vector<PathReport> paths;
};

// Sealed packets only: every byte handed to Send is a sealed packet (docs/protocol.md,
// "Sealed packet") and so is everything Receive returns, unverified. Context: the
// call's media thread only (CallMediaRunner), or a test's single thread.
//
// The second group is for transports with several paths; a one-path transport keeps
// the defaults (probes are then never asked for).
class MediaTransport {
 public:
  virtual ~MediaTransport() = default;
  // Queues or sends one sealed packet on whichever path(s) the transport chooses;
  // never blocks. Loss is the transport's business.
  virtual void Send(std::span<const uint8_t> sealed, TimePoint now) = 0;
  // The next packet that has arrived, or nothing; never blocks.
  virtual std::optional<ReceivedPacket> Receive(TimePoint now) = 0;
  // Timers of the paths and of the choice between them; every ~10 ms.
  virtual void Tick(TimePoint /*now*/) {}

  // Sends on exactly this path (probes, and replies on the path the probe came on).
  virtual void SendOnPath(PathId /*path*/, std::span<const uint8_t> sealed, TimePoint now) { Send(sealed, now); }
  // A packet that came on `path` authenticated: the path is alive.
  virtual void OnAuthenticated(PathId /*path*/, TimePoint /*now*/) {}
  // Probes to seal and send now, each on its own path.
  virtual std::vector<ProbeRequest> TakeDueProbes(TimePoint /*now*/) { return {}; }
  virtual void OnProbeReply(PathId /*path*/, uint32_t /*sequence*/, uint32_t /*echo_ms*/,
                            uint32_t /*reply_delay_ms*/, TimePoint /*now*/) {}
  // The peer's receiver report: the loss of what we sent in its last interval.
  virtual void OnSendLossReport(double /*loss_fraction*/, TimePoint /*now*/) {}
  virtual PathsReport paths_report() const { return {}; }
};

}  // namespace parley::call
