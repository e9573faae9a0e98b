// NodeBus over Redis (hiredis): presence and busy claims as keys with expiry, envelopes
// by PUBLISH to each node's channel, relays in a hash with their expiry in a sorted set.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "parley/base/result.h"
#include "parley/server/circuit_breaker.h"
#include "parley/server/node_bus.h"

struct redisContext;
struct redisReply;

namespace parley::server {

// Where a Redis bus lives: parsed from "redis://host:port[/prefix]".
struct RedisAddress {
  std::string host;
  uint16_t port = 6379;
  std::string prefix = "parley";  // every key and channel starts with prefix + ":"
};
// One sentence on error, e.g. a missing host or a prefix with characters other than
// [A-Za-z0-9_.-] (a community's prefix must not collide with another's keys).
Result<RedisAddress> ParseRedisUrl(const std::string& url);

// How long the bus waits for Redis, and when it tries again after Redis failed.
struct RedisBusOptions {
  Duration connect_timeout = seconds(1);  // TCP connect (and the subscriber's SUBSCRIBE)
  // One command's round trip. Redis answers in well under a millisecond on the
  // operator's network; a Redis that stopped answering (stopped, swapping, a dead
  // link) blocks the hub strand this long once per retry interval, never once per call.
  Duration command_timeout = seconds(1);
  CircuitBreaker::Config retry{seconds(1), seconds(8)};
};

// Redis layout (prefix "p", docs/protocol.md "Between nodes (Redis)"):
//   p:presence:<user>  PresenceRecord bytes, PX ttl
//   p:busy:<user>      the 16-byte call id, PX ttl
//   p:node:<node_id>   the channel a node's envelopes are published on
//   p:relays           sorted set: relay id -> expiry (Redis's TIME, ms)
//   p:relay-records    hash: relay id -> RelayRecord bytes (expired ones dropped by LiveRelays)
//
// Contexts: every NodeBus method runs on the caller's one context (the hub strand) over
// one command connection, blocking for a round trip (at most options.command_timeout).
// A command connection found closed (Redis restarted) is reconnected within the call.
// Any failure to reach Redis (refused, timed out, closed mid-command) opens a
// CircuitBreaker: until its retry time every method fails at once with the same
// "unreachable" sentence, without connecting or waiting; then one call tries again
// (reconnecting), and its success closes the breaker. So a stalled Redis costs the hub
// one timeout per retry interval (1 s, doubling to 8 s), however many users it renews.
//
// Records read back from Redis that do not decode (written by a newer or broken
// parleyd, or by hand) are skipped as if absent: FindPresence answers "nobody",
// LiveRelays leaves that relay out, a renewal or login overwrites it. The first is
// logged, all are counted (malformed_records()). Received
// envelopes are read on a thread of this object's own (with its own connection, which
// it reconnects with backoff from 50 ms up to 2 s when Redis goes away); they are passed
// to the receiver on that thread. Destruction stops and joins that thread.
class RedisNodeBus final : public NodeBus {
 public:
  // Connects both connections and subscribes before returning, so an envelope sent
  // to this node after Connect returns is not lost. `node_id`: see NodeBus::node_id().
  static Result<std::unique_ptr<RedisNodeBus>> Connect(const std::string& url, std::string node_id,
                                                       RedisBusOptions options = {});
  ~RedisNodeBus() override;
  RedisNodeBus(const RedisNodeBus&) = delete;
  RedisNodeBus& operator=(const RedisNodeBus&) = delete;

  const std::string& node_id() const override { return node_id_; }
  // One Lua script compares the held record's login order with `record`'s (kLogin).
  Result<PresenceWrite> SetPresence(const std::string& user, const PresenceRecord& record, Duration ttl) override;
  // Pipelined as RenewPresences.
  std::vector<Result<PresenceWrite>> SetPresences(std::span<const PresenceRenewal> logins, Duration ttl) override;
  // One Lua script: extends `record` or sets it again if the key expired, but leaves
  // another node's (or connection's) newer record in place and returns it.
  Result<std::optional<PresenceRecord>> RenewPresence(const std::string& user, const PresenceRecord& record,
                                                      Duration ttl) override;
  // Pipelined: the scripts of up to kPipelineDepth entries are sent at once, then their
  // replies read in order (one round trip per kPipelineDepth entries). Each reply waits
  // at most options.command_timeout; a stalled Redis fails the entries not yet
  // answered after that one wait and opens the breaker (later chunks fail at once).
  std::vector<Result<std::optional<PresenceRecord>>> RenewPresences(std::span<const PresenceRenewal> renewals,
                                                                    Duration ttl) override;
  Status ClearPresence(const std::string& user, const PresenceRecord& record) override;
  Result<std::optional<PresenceRecord>> FindPresence(const std::string& user) override;
  Result<bool> ClaimBusy(const std::string& user, const signal::CallId& call, Duration ttl) override;
  // Pipelined as RenewPresences.
  std::vector<Result<bool>> RenewBusyClaims(std::span<const BusyClaim> claims, Duration ttl) override;
  Status ReleaseBusy(const std::string& user, const signal::CallId& call) override;
  // PUBLISH that reached no subscriber (the node is down, or its subscription is being
  // reconnected) is an error: the envelope is lost, and the hub treats that node as gone.
  Status Send(const std::string& node, const NodeEnvelope& envelope) override;
  // Envelopes that arrived before this call (at most kMaxHeldEnvelopes) are passed on now.
  // The receiver is called with an internal lock held (so never concurrently and in
  // order): it must not call this bus, and it must outlive the bus.
  void SetReceiver(std::function<void(NodeEnvelope)> receiver) override;
  Status AnnounceRelay(const RelayRecord& relay, Duration ttl) override;
  Result<std::vector<RelayRecord>> LiveRelays() override;

  // LiveRelays returns at most this many relays (bounded work per call).
  static constexpr int kMaxRelays = 256;
  static constexpr std::size_t kMaxHeldEnvelopes = 1024;
  // Commands sent before their replies are read, at most (bounds the buffers on both sides).
  static constexpr std::size_t kPipelineDepth = 1000;

  // Received envelopes that did not decode (dropped, each logged once to stderr).
  uint64_t malformed_envelopes() const;
  // Presence and relay records read from Redis that did not decode (skipped). Caller's context.
  uint64_t malformed_records() const { return malformed_records_; }

 private:
  // What a busy claim of this node for `call` holds in Redis: call id || node id.
  std::string ClaimValue(const signal::CallId& call) const;
  struct Reply;  // owns a redisReply
  RedisNodeBus(RedisAddress address, std::string node_id, RedisBusOptions options);

  // Runs one command (argv form, binary safe) on the command connection: fails at once
  // while the breaker is open; reconnects first if the connection is known dead, and
  // once more after the connection closed mid-command when `retry_after_failure`
  // (idempotent commands; PUBLISH is not, to stay at most once). Never after a
  // timeout: a stalled Redis would only make the caller wait twice.
  Result<Reply> Command(const std::vector<std::string>& args, bool retry_after_failure);
  Result<Reply> Attempt(std::vector<const char*>& argv, const std::vector<size_t>& lengths,
                        const std::string& name, bool retry_after_failure, bool* reached);
  // Runs idempotent `commands` pipelined, kPipelineDepth at a time; one result per
  // command, in order. Like Command: fails at once while the breaker is open; a
  // connection closed mid-pipeline is reconnected once and the unanswered commands sent
  // again; a timeout fails the unanswered ones (never retried) and opens the breaker.
  std::vector<Result<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);
  void PipelineChunk(std::span<const std::vector<std::string>> commands, std::vector<Result<Reply>>& replies);
  // The login script's EVAL for one presence write, and its reply read back.
  std::vector<std::string> LoginCommand(const std::string& user, const PresenceRecord& record,
                                        const std::string& ttl_ms) const;
  Result<PresenceWrite> ReadLoginReply(const redisReply* reply, const std::string& user);
  // Decodes a presence record read from Redis; nullopt (logged once, counted) if malformed.
  std::optional<PresenceRecord> ReadPresence(std::span<const uint8_t> bytes, const std::string& user);
  void NoteMalformedRecord(const std::string& what, const std::string& why);
  Status ConnectCommand();
  std::string Key(const char* kind, const std::string& name) const;
  std::string Unreachable(const std::string& why) const;

  void SubscriberLoop(redisContext* first);
  Result<redisContext*> ConnectSubscriber();
  void Deliver(NodeEnvelope envelope);
  // Waits `delay` unless stopping; returns false when stopping.
  bool WaitUnlessStopping(Duration delay);

  const RedisAddress address_;
  const std::string node_id_;
  const std::string channel_;
  const RedisBusOptions options_;
  redisContext* command_ = nullptr;  // caller's context only
  CircuitBreaker breaker_;           // caller's context only: guards the command connection
  uint64_t malformed_records_ = 0;   // caller's context only

  int wake_fd_ = -1;  // eventfd: the destructor wakes the subscriber's poll()
  std::thread subscriber_;

  mutable std::mutex mutex_;  // guards receiver_, held_, stopping_, malformed_
  std::condition_variable stop_signal_;
  std::function<void(NodeEnvelope)> receiver_;
  std::deque<NodeEnvelope> held_;  // arrived before SetReceiver
  bool stopping_ = false;
  uint64_t malformed_ = 0;
};

}  // namespace parley::server
