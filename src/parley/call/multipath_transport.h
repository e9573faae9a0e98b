// The transport under a call with several paths (P2P, relay UDP, relay TLS): sends
// where the path manager says, receives from every path, ticks them all.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/time.h"
#include "parley/call/media_transport.h"
#include "parley/call/path_manager.h"
#include "parley/net/packet_path.h"

namespace parley::call {

// Owns its paths. Receive takes from the paths in turn (one packet each per round) so
// a busy path cannot starve the others, and tags each packet with its path. Send goes
// to PathManager::SendPaths(); probes and replies to the one path asked.
//
// Threads: the call's media thread only (CallMediaRunner), including paths_report();
// CallMedia copies the report into its stats, which the runner hands out under its
// mutex. `now` never goes backwards.
class MultipathTransport final : public MediaTransport {
 public:
  explicit MultipathTransport(TimePoint now, PathManagerConfig config = {});

  // Adds a path (at most kMaxPaths); its id is the order of adding, from 0.
  PathId AddPath(std::unique_ptr<net::PacketPath> path, TimePoint now);

  void Send(std::span<const uint8_t> sealed, TimePoint now) override;
  std::optional<ReceivedPacket> Receive(TimePoint now) override;
  void Tick(TimePoint now) override;
  void SendOnPath(PathId path, std::span<const uint8_t> sealed, TimePoint now) override;
  void OnAuthenticated(PathId path, TimePoint now) override;
  std::vector<ProbeRequest> TakeDueProbes(TimePoint now) override;
  void OnProbeReply(PathId path, uint32_t sequence, uint32_t echo_ms, uint32_t reply_delay_ms,
                    TimePoint now) override;
  void OnSendLossReport(double loss_fraction, TimePoint now) override;
  PathsReport paths_report() const override;

  // Descriptors to poll (POLLIN), paths without one left out.
  std::vector<int> fds() const;
  const PathManager& manager() const { return manager_; }
  net::PacketPath& path(PathId id) { return *paths_.at(id); }

 private:
  void RefreshCarriers(TimePoint now);

  PathManager manager_;
  std::vector<std::unique_ptr<net::PacketPath>> paths_;
  std::size_t next_receive_ = 0;  // round-robin start for Receive
};

}  // namespace parley::call
