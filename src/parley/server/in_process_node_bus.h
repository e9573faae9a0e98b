// The node bus of parleyd nodes in one process: the one-node default (its own
// InProcessCluster), or one of several nodes sharing an InProcessCluster in tests.
#pragma once

#include <memory>
#include <string>

#include "parley/server/in_process_cluster.h"
#include "parley/server/node_bus.h"

namespace parley::server {

// Never fails. Called from one context at a time, as NodeBus says; nodes sharing a
// cluster must share that context too (tests: one thread). The receiver is called
// from InProcessCluster::Pump only.
class InProcessNodeBus final : public NodeBus {
 public:
  // One node alone; expiry reads `clock`, which must outlive the bus.
  InProcessNodeBus(std::string node_id, const Clock& clock);
  // One of several nodes on `cluster`, which must outlive the bus.
  InProcessNodeBus(std::string node_id, InProcessCluster& cluster);

  const std::string& node_id() const override { return node_id_; }
  Result<PresenceWrite> SetPresence(const std::string& user, const PresenceRecord& record, Duration ttl) override;
  Status ClearPresence(const std::string& user, const PresenceRecord& record) override;
  Result<std::optional<PresenceRecord>> FindPresence(const std::string& user) override;
  Result<bool> ClaimBusy(const std::string& user, const signal::CallId& call, Duration ttl) override;
  Status ReleaseBusy(const std::string& user, const signal::CallId& call) override;
  Status Send(const std::string& node, const NodeEnvelope& envelope) override;
  void SetReceiver(std::function<void(NodeEnvelope)> receiver) override;
  Status AnnounceRelay(const RelayRecord& relay, Duration ttl) override;
  Result<std::vector<RelayRecord>> LiveRelays() override;

  InProcessCluster& cluster() { return cluster_; }

 private:
  std::string node_id_;
  std::unique_ptr<InProcessCluster> own_cluster_;  // the one-node default only
  InProcessCluster& cluster_;
};

}  // namespace parley::server
