// The path manager's rules: per-path liveness from arrivals and probes, a cost from
// RTT, loss and kind, the race at start, failure moves at once, quality moves with
// hysteresis.
#include "parley/call/path_manager.h"

#include <algorithm>
#include <cmath>

#include "parley/base/check.h"

namespace parley::call {

std::string_view PathStateName(PathState state) {
  switch (state) {
    case PathState::kRacing: return "racing";
    case PathState::kUp: return "up";
    case PathState::kSuspect: return "suspect";
    case PathState::kDown: return "down";
    case PathState::kClosed: return "closed";
  }
  return "?";
}

PathManager::PathManager(PathManagerConfig config, TimePoint now) : config_(config), start_(now) {}

uint32_t PathManager::ClockMs(TimePoint now) const {
  // Plus one, so that 0 never appears as a timestamp (as the receiver report's clock).
  return static_cast<uint32_t>(std::chrono::duration_cast<milliseconds>(now - start_).count() + 1);
}

PathId PathManager::AddPath(net::PathKind kind, TimePoint now) {
  PARLEY_CHECK_MSG(paths_.size() < kMaxPaths, "too many paths for one call");
  Path path;
  path.kind = kind;
  path.added = now;
  paths_.push_back(path);
  return static_cast<PathId>(paths_.size() - 1);
}

void PathManager::SetCarrier(PathId id, bool ready, bool open, TimePoint now) {
  PARLEY_CHECK(id < paths_.size());
  Path& path = paths_[id];
  if (ready && !path.ready && !path.next_probe) path.next_probe = now;  // probe as soon as it can carry one
  path.ready = ready;
  path.open = open;
  if (!open) path.state = PathState::kClosed;
}

void PathManager::OnReceived(PathId id, TimePoint now) {
  PARLEY_CHECK(id < paths_.size());
  Path& path = paths_[id];
  if (path.state == PathState::kClosed) return;
  if (path.last_heard) {
    const Duration gap = std::min<Duration>(now - *path.last_heard, seconds(2));
    path.mean_gap = path.mean_gap == Duration{0} ? gap : (path.mean_gap * 7 + gap) / 8;
  }
  path.last_heard = now;
  path.recent_arrivals.push_back(now);
  while (!path.recent_arrivals.empty() && now - path.recent_arrivals.front() > seconds(1)) {
    path.recent_arrivals.pop_front();
  }
  path.unanswered_since_heard = 0;
  path.suspect_since.reset();
  if (path.state == PathState::kRacing || path.state == PathState::kDown) {
    // A path back from the dead must prove itself before quality moves count it.
    path.settled_at = path.state == PathState::kDown ? now + config_.recover_hold : now;
  }
  path.state = PathState::kUp;
}

void PathManager::OnProbeReply(PathId id, uint32_t sequence, uint32_t echo_ms, uint32_t reply_delay_ms,
                               TimePoint now) {
  PARLEY_CHECK(id < paths_.size());
  Path& path = paths_[id];
  auto it = std::find_if(path.outstanding.begin(), path.outstanding.end(),
                         [&](const Probe& p) { return p.sequence == sequence; });
  if (it == path.outstanding.end()) return;  // already counted lost, or not ours
  if (echo_ms != ClockMs(it->sent)) return;  // a reply that does not match what we sent
  const double rtt_ms = ToMillis(now - it->sent) - reply_delay_ms;
  path.outstanding.erase(it);
  ++path.probes_answered;
  path.probe_results.push_back(true);
  while (path.probe_results.size() > config_.loss_window) path.probe_results.pop_front();
  if (rtt_ms < 0 || rtt_ms > 60'000) return;  // a peer's bogus delay
  path.srtt_ms = path.srtt_ms ? (*path.srtt_ms * 7 + rtt_ms) / 8 : rtt_ms;  // RFC 6298's alpha
}

void PathManager::OnSendLossReport(double loss_fraction, TimePoint now) {
  // The report covers the last interval; it describes the active path only if every
  // packet of that interval went on it alone.
  if (!active_ || !sending_alone_since_ || now - *sending_alone_since_ < seconds(1)) return;
  Path& path = paths_[*active_];
  const double loss = std::clamp(loss_fraction, 0.0, 1.0);
  path.report_loss = path.report_loss ? (*path.report_loss + loss) / 2 : loss;
}

double PathManager::LossFraction(const Path& path) const {
  if (path.report_loss) return *path.report_loss;
  if (path.probe_results.empty()) return 0;
  const auto lost = std::count(path.probe_results.begin(), path.probe_results.end(), false);
  const double round_trip = static_cast<double>(lost) / static_cast<double>(path.probe_results.size());
  return 1 - std::sqrt(1 - round_trip);  // a probe and its reply each cross the path once
}

double PathManager::Cost(const Path& path) const {
  double penalty = 0;
  if (path.kind == net::PathKind::kRelayUdp) penalty = config_.relay_udp_penalty_ms;
  if (path.kind == net::PathKind::kRelayTls) penalty = config_.relay_tls_penalty_ms;
  const double loss = std::max(0.0, LossFraction(path) - config_.loss_free_fraction);
  return path.srtt_ms.value_or(1000) + config_.loss_cost_ms * loss + penalty;
}

Duration PathManager::ProbeInterval(const Path& path, TimePoint now) const {
  switch (path.state) {
    case PathState::kRacing:
      return now - path.added < config_.racing_phase ? config_.racing_probe_interval : config_.idle_probe_interval;
    case PathState::kSuspect: return config_.suspect_probe_interval;
    default: return config_.idle_probe_interval;
  }
}

void PathManager::UpdateState(Path& path, TimePoint now) {
  if (!path.open) {
    path.state = PathState::kClosed;
    return;
  }
  const Duration lost_after =
      std::max<Duration>(config_.probe_lost_after, FromMillis(4 * path.srtt_ms.value_or(0)));
  while (!path.outstanding.empty() && now - path.outstanding.front().sent >= lost_after) {
    path.outstanding.pop_front();
    path.probe_results.push_back(false);
    while (path.probe_results.size() > config_.loss_window) path.probe_results.pop_front();
  }
  while (!path.recent_arrivals.empty() && now - path.recent_arrivals.front() > seconds(1)) {
    path.recent_arrivals.pop_front();
  }
  if (path.state == PathState::kRacing || path.state == PathState::kDown) return;  // OnReceived lifts these

  if (path.state == PathState::kUp) {
    const Duration silence = now - *path.last_heard;
    const bool busy = static_cast<int>(path.recent_arrivals.size()) >= kBusyPackets;
    const bool silent = busy && silence > std::max<Duration>(config_.silence_before_suspect, path.mean_gap * 4);
    const Duration probe_limit = std::clamp<Duration>(FromMillis(2 * path.srtt_ms.value_or(0) + 100),
                                                      config_.probe_suspect_min, config_.probe_suspect_max);
    // Overdue only if nothing at all came since: a lost probe on a busy path is no news.
    const bool overdue = !path.outstanding.empty() && now - path.outstanding.front().sent > probe_limit &&
                         *path.last_heard < path.outstanding.front().sent;
    if (silent || overdue) {
      path.state = PathState::kSuspect;
      path.suspect_since = now;
      path.next_probe = now;
    }
    return;
  }
  // kSuspect: down once probes have had time to come back and none did.
  const Duration wait =
      std::max<Duration>(config_.suspect_before_down, FromMillis(2 * path.srtt_ms.value_or(0)));
  if (now - *path.suspect_since >= wait && path.unanswered_since_heard >= 2) {
    path.state = PathState::kDown;
    path.suspect_since.reset();
    path.settled_at.reset();
  }
}

std::optional<PathId> PathManager::BestCandidate(std::optional<PathId> except, TimePoint now,
                                                 bool settled_only) const {
  std::optional<PathId> best;
  for (PathId id = 0; id < paths_.size(); ++id) {
    const Path& path = paths_[id];
    if (id == except || path.state != PathState::kUp || !path.ready) continue;
    if (settled_only && (!path.settled_at || *path.settled_at > now)) continue;
    if (!best || Cost(path) < Cost(paths_[*best])) best = id;
  }
  return best;
}

void PathManager::MoveTo(PathId id, TimePoint now) {
  if (active_ == id) return;
  if (active_) {
    ++switches_;
    previous_active_ = active_;
    duplicate_until_ = now + config_.duplicate_after_switch;
    paths_[*active_].report_loss.reset();
    last_move_ = now;
  }
  active_ = id;
  better_candidate_.reset();
  better_since_.reset();
  sending_alone_since_.reset();
}

void PathManager::Update(TimePoint now) {
  for (Path& path : paths_) UpdateState(path, now);

  const bool active_failed = active_ && (paths_[*active_].state == PathState::kDown ||
                                         paths_[*active_].state == PathState::kClosed);
  if (!active_ || active_failed) {
    // The race (first path to answer wins) and failure moves: at once, to the best
    // path that answers, settled ones first.
    std::optional<PathId> next = BestCandidate(active_, now, true);
    if (!next) next = BestCandidate(active_, now, false);
    if (next) MoveTo(*next, now);
  } else {
    const Path& current = paths_[*active_];
    std::optional<PathId> candidate = BestCandidate(active_, now, true);
    const double current_cost = Cost(current);
    const double margin = std::max(config_.switch_margin_ms, config_.switch_margin_fraction * current_cost);
    if (candidate && paths_[*candidate].srtt_ms && Cost(paths_[*candidate]) + margin < current_cost) {
      if (better_candidate_ != candidate) {
        better_candidate_ = candidate;
        better_since_ = now;
      }
      // A path losing half its packets is failing: no dwell time then.
      const bool dwell_done =
          !last_move_ || now - *last_move_ >= config_.min_dwell || LossFraction(current) >= 0.5;
      if (now - *better_since_ >= config_.switch_hold && dwell_done) MoveTo(*candidate, now);
    } else {
      better_candidate_.reset();
      better_since_.reset();
    }
  }
  UpdateSendPaths(now);
}

void PathManager::UpdateSendPaths(TimePoint now) {
  send_paths_.clear();
  const auto usable = [](const Path& p) { return p.open && p.ready; };
  if (!active_ || paths_[*active_].state == PathState::kClosed) {
    // Nothing has answered yet: every ready path carries everything (the race), down
    // ones only if nothing else is left.
    for (PathId id = 0; id < paths_.size(); ++id) {
      if (usable(paths_[id]) && paths_[id].state != PathState::kDown) send_paths_.push_back(id);
    }
    if (send_paths_.empty()) {
      for (PathId id = 0; id < paths_.size(); ++id) {
        if (usable(paths_[id])) send_paths_.push_back(id);
      }
    }
    sending_alone_since_.reset();
    return;
  }
  send_paths_.push_back(*active_);
  const PathState state = paths_[*active_].state;
  if (state == PathState::kSuspect || state == PathState::kDown) {
    // Duplicating is the cheapest insurance against a gap while we find out.
    if (std::optional<PathId> alternative = BestCandidate(active_, now, false)) {
      send_paths_.push_back(*alternative);
    } else {
      for (PathId id = 0; id < paths_.size(); ++id) {
        if (id != *active_ && usable(paths_[id]) && paths_[id].state == PathState::kRacing) {
          send_paths_.push_back(id);
        }
      }
    }
  }
  if (now < duplicate_until_ && previous_active_ && *previous_active_ != *active_) {
    const Path& previous = paths_[*previous_active_];
    if (usable(previous) && (previous.state == PathState::kUp || previous.state == PathState::kSuspect) &&
        std::find(send_paths_.begin(), send_paths_.end(), *previous_active_) == send_paths_.end()) {
      send_paths_.push_back(*previous_active_);
    }
  }
  if (send_paths_.size() == 1) {
    if (!sending_alone_since_) sending_alone_since_ = now;
  } else {
    sending_alone_since_.reset();
  }
}

std::vector<ProbeRequest> PathManager::TakeDueProbes(TimePoint now) {
  std::vector<ProbeRequest> due;
  for (PathId id = 0; id < paths_.size(); ++id) {
    Path& path = paths_[id];
    if (!path.open || !path.ready) continue;
    if (path.next_probe && now < *path.next_probe) continue;
    ProbeRequest probe{id, next_sequence_++, ClockMs(now)};
    if (next_sequence_ == 0) next_sequence_ = 1;
    path.outstanding.push_back({probe.sequence, now});
    ++path.probes_sent;
    ++path.unanswered_since_heard;
    path.next_probe = now + ProbeInterval(path, now);
    due.push_back(probe);
  }
  return due;
}

std::vector<PathStatus> PathManager::Status() const {
  std::vector<PathStatus> out;
  for (PathId id = 0; id < paths_.size(); ++id) {
    const Path& path = paths_[id];
    PathStatus status;
    status.id = id;
    status.kind = path.kind;
    status.state = path.state;
    status.active = active_ == id;
    status.rtt_ms = path.srtt_ms;
    status.loss_fraction = LossFraction(path);
    status.cost_ms = Cost(path);
    status.probes_sent = path.probes_sent;
    status.probes_answered = path.probes_answered;
    status.last_heard = path.last_heard;
    out.push_back(status);
  }
  return out;
}

}  // namespace parley::call
