// MultipathTransport: the thin layer between the path manager's decisions and the
// paths themselves.
#include "parley/call/multipath_transport.h"

namespace parley::call {

MultipathTransport::MultipathTransport(TimePoint now, PathManagerConfig config) : manager_(config, now) {}

PathId MultipathTransport::AddPath(std::unique_ptr<net::PacketPath> path, TimePoint now) {
  const PathId id = manager_.AddPath(path->kind(), now);
  manager_.SetCarrier(id, path->ready(), path->open(), now);
  paths_.push_back(std::move(path));
  return id;
}

void MultipathTransport::RefreshCarriers(TimePoint now) {
  for (PathId id = 0; id < paths_.size(); ++id) {
    manager_.SetCarrier(id, paths_[id]->ready(), paths_[id]->open(), now);
  }
}

void MultipathTransport::Send(std::span<const uint8_t> sealed, TimePoint now) {
  for (PathId id : manager_.SendPaths()) (void)paths_[id]->Send(sealed, now);  // loss is the call's business
}

void MultipathTransport::SendOnPath(PathId path, std::span<const uint8_t> sealed, TimePoint now) {
  if (path < paths_.size()) (void)paths_[path]->Send(sealed, now);
}

std::optional<ReceivedPacket> MultipathTransport::Receive(TimePoint now) {
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    const std::size_t id = (next_receive_ + i) % paths_.size();
    if (auto packet = paths_[id]->Receive(now)) {
      next_receive_ = id + 1;
      return ReceivedPacket{std::move(*packet), static_cast<PathId>(id)};
    }
  }
  return std::nullopt;
}

void MultipathTransport::Tick(TimePoint now) {
  for (auto& path : paths_) path->Tick(now);
  RefreshCarriers(now);
  manager_.Update(now);
}

void MultipathTransport::OnAuthenticated(PathId path, TimePoint now) {
  if (path < paths_.size()) manager_.OnReceived(path, now);
}

std::vector<ProbeRequest> MultipathTransport::TakeDueProbes(TimePoint now) { return manager_.TakeDueProbes(now); }

void MultipathTransport::OnProbeReply(PathId path, uint32_t sequence, uint32_t echo_ms, uint32_t reply_delay_ms,
                                      TimePoint now) {
  if (path < paths_.size()) manager_.OnProbeReply(path, sequence, echo_ms, reply_delay_ms, now);
}

void MultipathTransport::OnSendLossReport(double loss_fraction, TimePoint now) {
  manager_.OnSendLossReport(loss_fraction, now);
}

PathsReport MultipathTransport::paths_report() const {
  PathsReport report;
  report.switches = manager_.switches();
  if (std::optional<PathId> active = manager_.active()) {
    report.active_kind = std::string(net::PathKindName(paths_[*active]->kind()));
    report.active_description = paths_[*active]->description();
  }
  for (const PathStatus& status : manager_.Status()) {
    report.paths.push_back({status, paths_[status.id]->description()});
  }
  return report;
}

std::vector<int> MultipathTransport::fds() const {
  std::vector<int> out;
  for (const auto& path : paths_) {
    if (path->fd() >= 0) out.push_back(path->fd());
  }
  return out;
}

}  // namespace parley::call
