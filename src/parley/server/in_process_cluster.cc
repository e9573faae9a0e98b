// Maps with expiry times standing in for what Redis keeps between nodes.
#include "parley/server/in_process_cluster.h"

#include <utility>

namespace parley::server {

std::size_t InProcessCluster::Pump() {
  if (pumping_) return 0;
  pumping_ = true;
  std::size_t handed = 0;
  while (!queue_.empty()) {
    Queued next = std::move(queue_.front());
    queue_.pop_front();
    if (down_.count(next.to) != 0) continue;
    auto receiver = receivers_.find(next.to);
    if (receiver == receivers_.end() || !receiver->second) continue;
    ++handed;
    receiver->second(std::move(next.envelope));
  }
  pumping_ = false;
  return handed;
}

void InProcessCluster::SetNodeDown(const std::string& node, bool down) {
  if (down) {
    down_.insert(node);
  } else {
    down_.erase(node);
  }
}

PresenceWrite InProcessCluster::SetPresence(const std::string& user, const PresenceRecord& record, Duration ttl) {
  const TimePoint now = clock_.Now();
  PresenceWrite write;
  auto it = presence_.find(user);
  if (it != presence_.end() && it->second.expires > now && !(it->second.record == record)) {
    // As RedisNodeBus's script: a later login stays, whatever order the writes came in.
    if (LoggedInBefore(record, it->second.record)) return PresenceWrite{false, it->second.record};
    write.other = it->second.record;
  }
  presence_[user] = Presence{record, now + ttl};
  return write;
}

void InProcessCluster::ClearPresence(const std::string& user, const PresenceRecord& record) {
  auto it = presence_.find(user);
  if (it != presence_.end() && it->second.record == record) presence_.erase(it);
}

std::optional<PresenceRecord> InProcessCluster::FindPresence(const std::string& user) {
  auto it = presence_.find(user);
  if (it == presence_.end()) return std::nullopt;
  if (it->second.expires <= clock_.Now()) {
    presence_.erase(it);
    return std::nullopt;
  }
  return it->second.record;
}

bool InProcessCluster::ClaimBusy(const std::string& node, const std::string& user, const signal::CallId& call,
                                 Duration ttl) {
  const TimePoint now = clock_.Now();
  auto it = busy_.find(user);
  if (it != busy_.end() && it->second.expires > now && (it->second.call != call || it->second.node != node)) {
    return false;
  }
  busy_[user] = Claim{call, node, now + ttl};
  return true;
}

void InProcessCluster::ReleaseBusy(const std::string& node, const std::string& user, const signal::CallId& call) {
  auto it = busy_.find(user);
  if (it != busy_.end() && it->second.call == call && it->second.node == node) busy_.erase(it);
}

void InProcessCluster::Send(const std::string& from, const std::string& to, NodeEnvelope envelope) {
  if (down_.count(from) != 0) return;
  queue_.push_back(Queued{to, std::move(envelope)});
}

void InProcessCluster::SetReceiver(const std::string& node, std::function<void(NodeEnvelope)> receiver) {
  receivers_[node] = std::move(receiver);
}

void InProcessCluster::AnnounceRelay(const RelayRecord& relay, Duration ttl) {
  relays_[relay.id] = Relay{relay, clock_.Now() + ttl};
}

std::vector<RelayRecord> InProcessCluster::LiveRelays() {
  const TimePoint now = clock_.Now();
  std::vector<RelayRecord> live;
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.expires <= now) {
      it = relays_.erase(it);
      continue;
    }
    live.push_back(it->second.record);
    ++it;
  }
  return live;
}

}  // namespace parley::server
