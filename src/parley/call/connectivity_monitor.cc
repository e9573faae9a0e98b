// The handover rules: silence and network changes start reconnecting, an unanswered
// rebind escalates to a fresh socket, the peer heard again ends it, 30 s ends the call.
#include "parley/call/connectivity_monitor.h"

namespace parley::call {

std::string_view ConnectivityStateName(ConnectivityState state) {
  switch (state) {
    case ConnectivityState::kConnecting: return "connecting";
    case ConnectivityState::kConnected: return "connected";
    case ConnectivityState::kReconnecting: return "reconnecting";
    case ConnectivityState::kLost: return "lost";
  }
  return "?";
}

std::string_view NetworkChangeName(NetworkChange change) {
  switch (change) {
    case NetworkChange::kLocalAddresses: return "local addresses changed";
    case NetworkChange::kSendFailed: return "sends failed";
    case NetworkChange::kReflexiveAddress: return "the relay sees another address";
    case NetworkChange::kForced: return "rebind requested";
  }
  return "?";
}

std::optional<TimePoint> PeerLastHeard(const PathsReport& report) {
  std::optional<TimePoint> newest;
  for (const PathReport& path : report.paths) {
    if (path.status.last_heard && (!newest || *path.status.last_heard > *newest)) newest = path.status.last_heard;
  }
  return newest;
}

ConnectivityMonitor::ConnectivityMonitor(ConnectivityMonitorConfig config, TimePoint now)
    : config_(config), start_(now) {}

void ConnectivityMonitor::OnNetworkChange(NetworkChange change, TimePoint /*now*/) {
  if (state_ == ConnectivityState::kLost) return;
  // A forced change or new addresses outrank a failing send as the reason shown.
  if (!pending_change_ || change != NetworkChange::kSendFailed) pending_change_ = change;
}

void ConnectivityMonitor::StartReconnecting(TimePoint now, bool heard_recently) {
  state_ = ConnectivityState::kReconnecting;
  reconnecting_since_ = now;
  // The outage as the listener hears it began with the last packet before the silence,
  // or with the change itself if packets were still coming.
  outage_began_ = last_heard_ && !heard_recently ? *last_heard_ : now;
  attempted_fresh_socket_ = false;
  ++stats_.reconnections;
}

ConnectivityActions ConnectivityMonitor::Update(const ConnectivitySnapshot& snapshot, TimePoint now) {
  ConnectivityActions actions;
  if (state_ == ConnectivityState::kLost) return actions;
  if (snapshot.peer_last_heard && (!last_heard_ || *snapshot.peer_last_heard > *last_heard_)) {
    last_heard_ = snapshot.peer_last_heard;
  }
  const bool heard_recently = last_heard_ && now - *last_heard_ < config_.silence_before_reconnecting;

  // Our own network changed: a fresh socket at once (the old one's address or NAT
  // mapping may be gone), unless one was just taken.
  if (pending_change_ && (!last_fresh_socket_ || now - *last_fresh_socket_ >= config_.min_fresh_socket_gap)) {
    if (state_ == ConnectivityState::kConnected) StartReconnecting(now, heard_recently);
    pending_change_.reset();
    actions.fresh_socket = true;
  }

  switch (state_) {
    case ConnectivityState::kConnecting:
      if (last_heard_) state_ = ConnectivityState::kConnected;
      break;
    case ConnectivityState::kConnected:
      if (!heard_recently) {
        // Every path went silent: find out cheaply whether the relay still hears us.
        StartReconnecting(now, heard_recently);
        actions.rebind = true;
      }
      break;
    case ConnectivityState::kReconnecting:
      if (last_heard_ && *last_heard_ > *reconnecting_since_) {
        stats_.last_outage = *last_heard_ - outage_began_;
        state_ = ConnectivityState::kConnected;
        reconnecting_since_.reset();
        break;
      }
      if (!actions.fresh_socket && !snapshot.relay_acknowledged && last_relay_attempt_) {
        const Duration wait = attempted_fresh_socket_ ? config_.fresh_socket_interval : config_.fresh_socket_after;
        if (now - *last_relay_attempt_ >= wait) actions.fresh_socket = true;
      }
      break;
    case ConnectivityState::kLost: break;
  }

  if (actions.fresh_socket) {
    actions.rebind = false;  // a fresh socket rebinds anyway
    last_fresh_socket_ = now;
    last_relay_attempt_ = now;
    attempted_fresh_socket_ = true;
    ++stats_.fresh_sockets;
  } else if (actions.rebind) {
    last_relay_attempt_ = now;
    ++stats_.rebinds;
  }

  const TimePoint silent_since = last_heard_.value_or(start_);
  if (state_ != ConnectivityState::kConnected && now - silent_since >= config_.give_up_after) {
    const bool ever_heard = last_heard_.has_value();
    state_ = ConnectivityState::kLost;
    reconnecting_since_.reset();
    actions = {};
    const std::string limit = std::to_string(std::chrono::duration_cast<seconds>(config_.give_up_after).count());
    actions.give_up = ever_heard ? "The call was lost: nothing arrived from the other side for " + limit +
                                       " s after the network changed or went silent; check your connection and "
                                       "call again."
                                 : "No media path to the other side could be opened in " + limit +
                                       " s; check this network (or try --transport tls) and call again.";
  }
  return actions;
}

}  // namespace parley::call
