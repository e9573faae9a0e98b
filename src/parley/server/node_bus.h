// What parleyd nodes sharing one community tell each other: which node holds a user's
// signaling connection, who is in a call, envelopes for another node's hub, live relays.
// One node needs none of it (InProcessNodeBus); several share Redis (RedisNodeBus).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/signal/messages.h"

namespace parley::server {

// Same as SignalingHub's and SignalingSink's: unique per connection on one node only.
using ConnectionId = uint64_t;

// Where a logged-in user's signaling connection is. `node` is a NodeBus::node_id().
struct PresenceRecord {
  std::string node;
  ConnectionId connection = 0;
  std::string device;  // the device logged in on that connection
  // When that login happened: the hub's wall clock (HubTime::unix_ms, >= 0) at login.
  // Orders logins across nodes (LoggedInBefore); node clocks are assumed NTP-synced.
  int64_t login_unix_ms = 0;
  bool operator==(const PresenceRecord&) const = default;
};

// The order of logins: the earlier login time first, ties broken by node id, then by
// connection id (so two different records are never equal in order). A login write
// replaces only an earlier login; RedisNodeBus's script compares the same way.
inline bool LoggedInBefore(const PresenceRecord& a, const PresenceRecord& b) {
  if (a.login_unix_ms != b.login_unix_ms) return a.login_unix_ms < b.login_unix_ms;
  if (a.node != b.node) return a.node < b.node;
  return a.connection < b.connection;
}

// What a login's presence write (NodeBus::SetPresence) did.
struct PresenceWrite {
  // True: the record is on the bus now, and `other` is the earlier login it replaced
  // (another connection, which must be told kReplaced), if any. False: the bus holds a
  // later login, `other`, which was left in place: the writing login yields to it.
  bool written = true;
  std::optional<PresenceRecord> other;
  bool operator==(const PresenceWrite&) const = default;
};

// One hub-to-hub message. A call is owned by the caller's node (its SignalingHub keeps
// the call's state); the callee's node ("holder") only relays its user's messages.
// `text` is one signaling message (docs/protocol.md, "Signaling") as a client sends or
// receives it; a hub never trusts an envelope more than the client text it carries.
// A kDeliver with empty `text` sends nothing: it tells the holder of `call` before its
// user hears of it (so a disconnect then is reported), or, with ends_call, of its end.
struct NodeEnvelope {
  enum class Kind : uint8_t {
    kDeliver = 1,        // owner -> holder: send `text` to `connection` if `user` is still on it
    kFromParty = 2,      // holder -> owner: `user` sent `text` about `call` on `connection`
    kPartyLeft = 3,      // holder -> owner: the party of `call` on `connection` is gone
    kUndeliverable = 4,  // holder -> owner: a kDeliver about `call` found no `user` on `connection`
    kReplaced = 5,       // new login's node -> old holder: close `connection`, `user` logged in elsewhere
  };
  Kind kind = Kind::kDeliver;
  std::string from_node;         // the sender's node_id()
  ConnectionId connection = 0;   // always a connection on the holder node
  std::string user;              // the user on `connection`
  std::string device;            // kFromParty: the device logged in on `connection`
  std::optional<signal::CallId> call;
  bool ends_call = false;        // kDeliver: the holder forgets `call` after sending `text`
  std::string text;              // kDeliver, kFromParty: the signaling message
  bool operator==(const NodeEnvelope&) const = default;
};

// One entry of NodeBus::RenewPresences or SetPresences: this node's `record` of `user`.
struct PresenceRenewal {
  std::string user;
  PresenceRecord record;
};

// One entry of NodeBus::RenewBusyClaims: `user`'s claim for `call`, made by this node.
struct BusyClaim {
  std::string user;
  signal::CallId call{};
};

// A relay process (`parleyd --role relay`) as it announces itself.
struct RelayRecord {
  std::string id;       // unique per relay process
  std::string host;     // what clients are told (name or address)
  uint16_t port = 0;    // UDP
  uint32_t calls = 0;   // calls it carries now
  uint32_t capacity = 0;  // calls it accepts at most
  bool operator==(const RelayRecord&) const = default;
};

// Called from one context at a time (the hub strand). Every method may block for one
// round trip to the bus (Redis on the same network: well under a millisecond), as the
// Store blocks on its fsync. An error means the bus is unreachable or answered
// nonsense; the message is one sentence for the operator's log.
class NodeBus {
 public:
  virtual ~NodeBus() = default;

  // This node's id: unique among nodes sharing the bus, 1..64 bytes of [A-Za-z0-9_.-].
  virtual const std::string& node_id() const = 0;

  // Presence: set at login (and retried by a login whose write failed), renewed before
  // `ttl` runs out while the connection lasts, cleared at disconnect. One atomic
  // compare: `record` is set only if the key is absent, holds this very record, or holds
  // an earlier login (LoggedInBefore); otherwise the later login stays and is returned
  // with written = false. Redis keeps no order of its own: without the compare, a
  // retried write of an older login would close a newer one.
  virtual Result<PresenceWrite> SetPresence(const std::string& user, const PresenceRecord& record,
                                            Duration ttl) = 0;
  // SetPresence for each entry, answered in the same order (one result per entry): the
  // hub's retry of the logins whose write failed. This default calls SetPresence once
  // per entry; RedisNodeBus pipelines them. An entry's own error (say, a key of the
  // wrong type) fails that entry only.
  virtual std::vector<Result<PresenceWrite>> SetPresences(std::span<const PresenceRenewal> logins, Duration ttl) {
    std::vector<Result<PresenceWrite>> results;
    results.reserve(logins.size());
    for (const PresenceRenewal& l : logins) results.push_back(SetPresence(l.user, l.record, ttl));
    return results;
  }
  // Renewal of this node's own record (the hub, every bus_refresh): extends `record`,
  // or sets it again if it expired meanwhile (the bus was out longer than `ttl`), but
  // never overwrites another record, a later login on any node: that one is left in
  // place and returned, and the caller yields to it. nullopt: renewed.
  // This default reads, then writes: atomic only where nothing else runs between
  // (InProcessNodeBus, one context); RedisNodeBus does it in one script.
  virtual Result<std::optional<PresenceRecord>> RenewPresence(const std::string& user, const PresenceRecord& record,
                                                              Duration ttl) {
    auto held = FindPresence(user);
    if (!held.ok()) return held.error();
    if (*held && **held != record) return held;
    auto renewed = SetPresence(user, record, ttl);
    if (!renewed.ok()) return renewed.error();
    if (!renewed->written) return renewed->other;
    return std::optional<PresenceRecord>{};
  }
  // RenewPresence for each entry, answered in the same order (one result per entry):
  // the hub's renewal of every user online on this node, every bus_refresh. This
  // default calls RenewPresence once per entry (one round trip each); RedisNodeBus
  // pipelines them, so 10,000 users cost a few round trips, not 10,000. While the bus
  // is unreachable every entry fails, after at most one wait of the bus's timeout.
  virtual std::vector<Result<std::optional<PresenceRecord>>> RenewPresences(
      std::span<const PresenceRenewal> renewals, Duration ttl) {
    std::vector<Result<std::optional<PresenceRecord>>> results;
    results.reserve(renewals.size());
    for (const PresenceRenewal& r : renewals) results.push_back(RenewPresence(r.user, r.record, ttl));
    return results;
  }
  // Removes the user's presence only while it is still `record` (a later login wins).
  virtual Status ClearPresence(const std::string& user, const PresenceRecord& record) = 0;
  virtual Result<std::optional<PresenceRecord>> FindPresence(const std::string& user) = 0;

  // A user is in at most one call across all nodes. Succeeds (true) if the user has no
  // live claim or already holds one for `call` made by this node (then its ttl starts
  // again: the owner re-claims to keep a long call's claim alive); false if busy with
  // another call, or with this call id claimed by another node (call ids are chosen by
  // clients: one reused on another node must not renew or take over a live call).
  virtual Result<bool> ClaimBusy(const std::string& user, const signal::CallId& call, Duration ttl) = 0;
  // ClaimBusy for each entry, answered in the same order: the owner's renewal of the
  // claims of its calls' parties. Default: one ClaimBusy per entry; RedisNodeBus
  // pipelines them, as RenewPresences.
  virtual std::vector<Result<bool>> RenewBusyClaims(std::span<const BusyClaim> claims, Duration ttl) {
    std::vector<Result<bool>> results;
    results.reserve(claims.size());
    for (const BusyClaim& c : claims) results.push_back(ClaimBusy(c.user, c.call, ttl));
    return results;
  }
  // Releases the user's claim only while it is for `call` and was made by this node.
  virtual Status ReleaseBusy(const std::string& user, const signal::CallId& call) = 0;

  // To `node`'s receiver. Delivered at most once and in order between two nodes; lost
  // if that node is down (the hubs' ring timeouts and presence expiry clean up after).
  virtual Status Send(const std::string& node, const NodeEnvelope& envelope) = 0;
  // Where envelopes for this node go. Set once, before any can arrive. Called on a
  // thread of the bus's own (RedisNodeBus) or from Pump() (InProcessNodeBus): the
  // receiver must hand the envelope to the hub strand, never call the hub itself.
  virtual void SetReceiver(std::function<void(NodeEnvelope)> receiver) = 0;

  // Relays announce themselves (and their load) before `ttl` runs out; a relay that
  // stops announcing drops out of LiveRelays.
  virtual Status AnnounceRelay(const RelayRecord& relay, Duration ttl) = 0;
  virtual Result<std::vector<RelayRecord>> LiveRelays() = 0;
};

}  // namespace parley::server
