// The shared state of parleyd nodes that run in one process: presence, busy claims,
// relays and envelope queues. One node alone owns one (the default bus); tests put
// several InProcessNodeBus on one to run a cluster in one thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "parley/base/time.h"
#include "parley/server/node_bus.h"

namespace parley::server {

// Not thread-safe: one thread (or one strand) uses the cluster and every bus on it.
// Expiry reads `clock` (which must outlive the cluster) on each call.
class InProcessCluster {
 public:
  explicit InProcessCluster(const Clock& clock) : clock_(clock) {}
  InProcessCluster(const InProcessCluster&) = delete;
  InProcessCluster& operator=(const InProcessCluster&) = delete;

  // Hands queued envelopes to their node's receiver, oldest first, until none are
  // left (envelopes the receivers send meanwhile included). A call from inside a
  // receiver returns 0 at once: delivery is never re-entrant. Returns how many it
  // handed over; envelopes for nodes without a receiver (or down) are dropped.
  std::size_t Pump();
  // Envelopes waiting for Pump.
  std::size_t queued() const { return queue_.size(); }

  // Tests: a down node neither receives nor sends (what it sends is dropped), as a
  // killed node; its presence and claims stay until they expire.
  void SetNodeDown(const std::string& node, bool down);

  // What NodeBus promises, for the node `from` (see node_bus.h).
  PresenceWrite SetPresence(const std::string& user, const PresenceRecord& record, Duration ttl);
  void ClearPresence(const std::string& user, const PresenceRecord& record);
  std::optional<PresenceRecord> FindPresence(const std::string& user);
  bool ClaimBusy(const std::string& node, const std::string& user, const signal::CallId& call, Duration ttl);
  void ReleaseBusy(const std::string& node, const std::string& user, const signal::CallId& call);
  void Send(const std::string& from, const std::string& to, NodeEnvelope envelope);
  void SetReceiver(const std::string& node, std::function<void(NodeEnvelope)> receiver);
  void AnnounceRelay(const RelayRecord& relay, Duration ttl);
  std::vector<RelayRecord> LiveRelays();

 private:
  struct Presence {
    PresenceRecord record;
    TimePoint expires;
  };
  struct Claim {
    signal::CallId call{};
    std::string node;  // the node that claimed it: only it renews or releases it
    TimePoint expires;
  };
  struct Relay {
    RelayRecord record;
    TimePoint expires;
  };
  struct Queued {
    std::string to;
    NodeEnvelope envelope;
  };

  const Clock& clock_;
  std::map<std::string, Presence> presence_;  // user ->
  std::map<std::string, Claim> busy_;         // user ->
  std::map<std::string, Relay> relays_;       // relay id ->
  std::map<std::string, std::function<void(NodeEnvelope)>> receivers_;  // node ->
  std::set<std::string> down_;
  std::deque<Queued> queue_;
  bool pumping_ = false;
};

}  // namespace parley::server
