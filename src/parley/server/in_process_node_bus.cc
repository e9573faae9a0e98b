// One node's view of an InProcessCluster.
#include "parley/server/in_process_node_bus.h"

#include <utility>

#include "parley/base/check.h"

namespace parley::server {

InProcessNodeBus::InProcessNodeBus(std::string node_id, const Clock& clock)
    : node_id_(std::move(node_id)),
      own_cluster_(std::make_unique<InProcessCluster>(clock)),
      cluster_(*own_cluster_) {
  PARLEY_CHECK_MSG(!node_id_.empty(), "a node id is 1..64 bytes");
}

InProcessNodeBus::InProcessNodeBus(std::string node_id, InProcessCluster& cluster)
    : node_id_(std::move(node_id)), cluster_(cluster) {
  PARLEY_CHECK_MSG(!node_id_.empty(), "a node id is 1..64 bytes");
}

Result<PresenceWrite> InProcessNodeBus::SetPresence(const std::string& user, const PresenceRecord& record,
                                                    Duration ttl) {
  return cluster_.SetPresence(user, record, ttl);
}

Status InProcessNodeBus::ClearPresence(const std::string& user, const PresenceRecord& record) {
  cluster_.ClearPresence(user, record);
  return Ok{};
}

Result<std::optional<PresenceRecord>> InProcessNodeBus::FindPresence(const std::string& user) {
  return cluster_.FindPresence(user);
}

Result<bool> InProcessNodeBus::ClaimBusy(const std::string& user, const signal::CallId& call, Duration ttl) {
  return cluster_.ClaimBusy(node_id_, user, call, ttl);
}

Status InProcessNodeBus::ReleaseBusy(const std::string& user, const signal::CallId& call) {
  cluster_.ReleaseBusy(node_id_, user, call);
  return Ok{};
}

Status InProcessNodeBus::Send(const std::string& node, const NodeEnvelope& envelope) {
  cluster_.Send(node_id_, node, envelope);
  return Ok{};
}

void InProcessNodeBus::SetReceiver(std::function<void(NodeEnvelope)> receiver) {
  cluster_.SetReceiver(node_id_, std::move(receiver));
}

Status InProcessNodeBus::AnnounceRelay(const RelayRecord& relay, Duration ttl) {
  cluster_.AnnounceRelay(relay, ttl);
  return Ok{};
}

Result<std::vector<RelayRecord>> InProcessNodeBus::LiveRelays() { return cluster_.LiveRelays(); }

}  // namespace parley::server
