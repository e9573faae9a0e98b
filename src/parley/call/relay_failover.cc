// The relay failover rules: an unanswering relay is left for the next in the list,
// a later relay where the peer never shows up is left for the first.
#include "parley/call/relay_failover.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::call {

RelayFailover::RelayFailover(std::size_t relay_count, RelayFailoverConfig config)
    : relay_count_(relay_count), config_(config), left_in_episode_(relay_count, false) {
  PARLEY_CHECK_MSG(relay_count >= 1, "RelayFailover needs at least one relay");
}

bool RelayFailover::tried_every_relay() const {
  return relay_count_ == 1 || std::all_of(left_in_episode_.begin(), left_in_episode_.end(), [](bool left) { return left; });
}

std::size_t RelayFailover::MoveTo(std::size_t index, TimePoint now) {
  left_in_episode_[current_] = true;
  current_ = index;
  arrived_at_ = now;
  unacked_since_ = now;  // the move's rebind is unanswered until the new relay acks
  ++stats_.moves;
  return index;
}

std::optional<std::size_t> RelayFailover::Update(const RelayFailoverSnapshot& snapshot, TimePoint now) {
  if (snapshot.state != ConnectivityState::kReconnecting || !snapshot.reconnecting_since) {
    episode_.reset();
    unacked_since_.reset();
    std::fill(left_in_episode_.begin(), left_in_episode_.end(), false);
    return std::nullopt;
  }
  if (episode_ != snapshot.reconnecting_since) {
    // A new episode: the monitor asked for a rebind when it began.
    episode_ = snapshot.reconnecting_since;
    unacked_since_ = *snapshot.reconnecting_since;
    std::fill(left_in_episode_.begin(), left_in_episode_.end(), false);
  }
  if (relay_count_ == 1) return std::nullopt;

  if (snapshot.relay_acknowledged) {
    unacked_since_.reset();
    if (current_ != 0 && now - arrived_at_ >= config_.return_after) {
      ++stats_.returns;
      return MoveTo(0, now);
    }
    return std::nullopt;
  }
  if (!unacked_since_) unacked_since_ = now;  // an acknowledgement was lost (a fresh socket)
  if (now - *unacked_since_ < config_.relay_dead_after) return std::nullopt;
  return MoveTo((current_ + 1) % relay_count_, now);
}

}  // namespace parley::call
