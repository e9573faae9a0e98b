// Signaling hubs of several parleyd nodes on one store and one InProcessCluster, in
// simulated time: every call flow between users on different nodes gives each user the
// same messages, byte for byte, as on one node; busy and presence across nodes; forged
// envelopes; an owner node that vanishes; store and bus failures in the operator's log.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "parley/crypto/handshake_message.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/server/in_process_cluster.h"
#include "parley/server/in_process_node_bus.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/sqlite_store.h"

namespace parley::server {
namespace {

using signal::CallId;
using signal::EndReason;
using signal::ErrorCode;
using signal::Message;

constexpr char kServer[] = "parley.test";

crypto::IdentityKey KeyFor(uint64_t seed) {
  crypto::SeededKeySource source(seed);
  return crypto::IdentityKey::Generate(source);
}

CallId MakeCallId(uint64_t n) {
  CallId id{};
  for (std::size_t i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(n >> (8 * i));
  id[15] = 0xcb;
  return id;
}

std::vector<uint8_t> Handshake(crypto::HandshakeType type, const CallId& call_id) {
  crypto::HandshakeMessage m;
  m.type = type;
  m.call_id = call_id;
  m.identity[0] = 1;
  m.key[0] = 2;
  return crypto::SerializeHandshakeMessage(m);
}

HubConfig TestConfig() {
  HubConfig config;
  config.server_name = kServer;
  config.relay_host = "relay.parley.test";
  config.relay_port = 3478;
  return config;
}

// Fails what a test tells it to fail, and otherwise is the in-process bus.
class FlakyBus final : public NodeBus {
 public:
  FlakyBus(std::string node, InProcessCluster& cluster) : inner_(std::move(node), cluster) {}
  bool fail = false;
  int fail_set_presence = 0;  // the next this many SetPresence calls fail (a blip at a login)
  std::string broken_user;    // this user's presence writes fail (as a WRONGTYPE key would)
  const std::string& node_id() const override { return inner_.node_id(); }
  Result<PresenceWrite> SetPresence(const std::string& user, const PresenceRecord& record, Duration ttl) override {
    if (fail_set_presence > 0) {
      --fail_set_presence;
      return Error{"no answer within 1000 ms"};
    }
    if (!broken_user.empty() && user == broken_user) return Error{"WRONGTYPE"};
    if (fail) return Error{"connection refused"};
    return inner_.SetPresence(user, record, ttl);
  }
  Status ClearPresence(const std::string& user, const PresenceRecord& record) override {
    if (fail) return Error{"connection refused"};
    return inner_.ClearPresence(user, record);
  }
  Result<std::optional<PresenceRecord>> FindPresence(const std::string& user) override {
    if (fail) return Error{"connection refused"};
    return inner_.FindPresence(user);
  }
  Result<bool> ClaimBusy(const std::string& user, const CallId& call, Duration ttl) override {
    if (fail) return Error{"connection refused"};
    return inner_.ClaimBusy(user, call, ttl);
  }
  Status ReleaseBusy(const std::string& user, const CallId& call) override {
    if (fail) return Error{"connection refused"};
    return inner_.ReleaseBusy(user, call);
  }
  Status Send(const std::string& node, const NodeEnvelope& envelope) override {
    if (fail) return Error{"connection refused"};
    return inner_.Send(node, envelope);
  }
  void SetReceiver(std::function<void(NodeEnvelope)> receiver) override { inner_.SetReceiver(std::move(receiver)); }
  Status AnnounceRelay(const RelayRecord& relay, Duration ttl) override { return inner_.AnnounceRelay(relay, ttl); }
  Result<std::vector<RelayRecord>> LiveRelays() override { return inner_.LiveRelays(); }

 private:
  InProcessNodeBus inner_;
};

// Three nodes ("n0".."n2") on one store and one cluster, and everything each
// connection was sent. Connection ids are unique across the nodes.
class Cluster {
 public:
  explicit Cluster(Store* store = nullptr)
      : own_store_(store == nullptr ? SqliteStore::OpenInMemory().value() : nullptr),
        store_(store == nullptr ? *own_store_ : *store),
        tickets_(std::span<const uint8_t, 32>(ticket_key_)),
        cluster_(clock_) {
    clock_.Set(steady_);
    for (int n = 0; n < 3; ++n) {
      buses_.push_back(std::make_unique<FlakyBus>("n" + std::to_string(n), cluster_));
      std::array<uint8_t, 32> seed{};
      seed.fill(7);  // the same challenges on every node
      hubs_.push_back(std::make_unique<SignalingHub>(store_, tickets_, TestConfig(), seed, buses_.back().get()));
      buses_.back()->SetReceiver([this, n](NodeEnvelope envelope) {
        ++envelopes_;
        Deliver(hubs_[n]->OnEnvelope(envelope, Now()));
      });
    }
  }

  HubTime Now() const { return HubTime{steady_, unix_ms_}; }
  Store& store() { return store_; }
  SignalingHub& hub(int n) { return *hubs_[n]; }
  FlakyBus& bus(int n) { return *buses_[n]; }
  InProcessCluster& cluster() { return cluster_; }
  int envelopes() const { return envelopes_; }

  // A node that stops: no timers, no envelopes either way, its connections silent.
  void Kill(int n) {
    dead_.insert(n);
    cluster_.SetNodeDown("n" + std::to_string(n), true);
  }

  void Advance(Duration d) {
    const TimePoint end = steady_ + d;
    for (;;) {
      std::optional<TimePoint> next;
      int due = -1;
      for (int n = 0; n < 3; ++n) {
        if (dead_.count(n) != 0) continue;
        auto at = hubs_[n]->NextTimerAt();
        if (at && (!next || *at < *next)) {
          next = at;
          due = n;
        }
      }
      if (!next || *next > end) break;
      SetTime(std::max(*next, steady_));
      Deliver(hubs_[due]->OnTimer(Now()));
      Pump();
    }
    SetTime(end);
  }

  ConnectionId Connect(int node) {
    const ConnectionId id = next_connection_++;
    node_of_[id] = node;
    Deliver(hubs_[node]->OnConnect(id, "192.0.2.10", Now()));
    Pump();
    return id;
  }
  void Disconnect(ConnectionId id) {
    Deliver(hubs_[node_of_.at(id)]->OnDisconnect(id, Now()));
    Pump();
  }
  void Send(ConnectionId id, const Message& m) {
    Deliver(hubs_[node_of_.at(id)]->OnMessage(id, signal::SerializeMessage(m), Now()));
    Pump();
  }
  // An envelope straight into a node's hub, as if the bus had brought it.
  void Inject(int node, const NodeEnvelope& envelope) {
    Deliver(hubs_[node]->OnEnvelope(envelope, Now()));
    Pump();
  }

  std::vector<Message> Take(ConnectionId id) {
    std::vector<Message> out;
    for (const auto& text : std::exchange(inbox_[id], {})) out.push_back(signal::ParseMessage(text).value());
    return out;
  }
  template <class T>
  T TakeOnly(ConnectionId id) {
    auto messages = Take(id);
    if (messages.size() != 1 || !std::holds_alternative<T>(messages[0])) {
      ADD_FAILURE() << "expected one '" << T::kType << "', got " << Describe(messages);
      return T{};
    }
    return std::get<T>(messages[0]);
  }
  static std::string Describe(const std::vector<Message>& messages) {
    std::string out;
    for (const auto& m : messages) out += signal::SerializeMessage(m) + "\n";
    return out.empty() ? "(nothing)" : out;
  }
  bool Closed(ConnectionId id) const { return closed_.count(id) != 0; }
  // Every text the connection was sent but its hellos (whose challenges come from
  // each node's own stream), relay tickets and hop keys blanked (random nonces).
  const std::vector<std::string>& Transcript(ConnectionId id) { return transcript_[id]; }

  ConnectionId Register(const std::string& user, const std::string& device, uint64_t seed, int node) {
    const ConnectionId id = Connect(node);
    Take(id);
    const auto key = KeyFor(seed);
    Send(id, signal::Register{1, user, device, key.public_key(),
                              key.Sign(signal::AuthSignedBytes(signal::AuthPurpose::kRegister, challenge_.at(id), user,
                                                               device, kServer))});
    EXPECT_EQ(TakeOnly<signal::Welcome>(id).user, user);
    return id;
  }
  // One millisecond after whatever came before: logins across nodes are ordered by
  // login time (ties by node id), so a test's later login is later on the clock too.
  ConnectionId Login(const std::string& user, const std::string& device, uint64_t seed, int node) {
    Advance(milliseconds(1));
    const ConnectionId id = Connect(node);
    Take(id);
    Send(id, signal::Login{2, user, device,
                           KeyFor(seed).Sign(signal::AuthSignedBytes(signal::AuthPurpose::kLogin, challenge_.at(id),
                                                                     user, device, kServer))});
    return id;
  }

  // Invite + offer: the callee is ringing.
  CallId Ring(ConnectionId caller, ConnectionId callee, const std::string& to, uint64_t n) {
    const CallId call = MakeCallId(n);
    Send(caller, signal::Invite{10, call, to});
    EXPECT_EQ(TakeOnly<signal::Route>(caller).call_id, call);
    Send(caller, signal::Offer{11, call, Handshake(crypto::HandshakeType::kCommit, call)});
    EXPECT_EQ(TakeOnly<signal::Ringing>(caller).call_id, call);
    EXPECT_EQ(TakeOnly<signal::Incoming>(callee).call_id, call);
    return call;
  }
  // Ring, accept, reveal: the call is active.
  CallId Answer(ConnectionId caller, ConnectionId callee, const std::string& to, uint64_t n) {
    const CallId call = Ring(caller, callee, to, n);
    Send(callee, signal::Accept{12, call, Handshake(crypto::HandshakeType::kAccept, call)});
    EXPECT_EQ(Take(caller).size(), 2u);  // accepted, relay
    EXPECT_EQ(TakeOnly<signal::Relay>(callee).id, signal::RequestId{12});
    Send(caller, signal::Reveal{13, call, Handshake(crypto::HandshakeType::kReveal, call)});
    EXPECT_EQ(TakeOnly<signal::OkReply>(caller).id, signal::RequestId{13});
    EXPECT_EQ(TakeOnly<signal::Revealed>(callee).call_id, call);
    return call;
  }

  // No claim is left for `user`: a fresh claim succeeds (and is released again).
  bool Unclaimed(const std::string& user) {
    const CallId probe = MakeCallId(999999);
    const bool free = cluster_.ClaimBusy("probe", user, probe, seconds(1));
    cluster_.ReleaseBusy("probe", user, probe);
    return free;
  }

 private:
  void SetTime(TimePoint t) {
    unix_ms_ += std::chrono::duration_cast<milliseconds>(t - steady_).count();
    steady_ = t;
    clock_.Set(t);
  }
  void Pump() { cluster_.Pump(); }
  void Deliver(std::vector<HubSend> sends) {
    for (int n = 0; n < 3; ++n) hubs_[n]->CheckInvariants();
    for (auto& send : sends) {
      auto parsed = signal::ParseMessage(send.text);
      ASSERT_TRUE(parsed.ok()) << send.text;
      ASSERT_FALSE(signal::IsClientMessage(*parsed)) << send.text;
      ASSERT_LT(send.connection, kFirstRemoteConnection);
      if (auto* hello = std::get_if<signal::Hello>(&*parsed)) {
        challenge_[send.connection] = hello->challenge;
      } else {
        Message normalized = *parsed;
        if (auto* relay = std::get_if<signal::Relay>(&normalized)) {
          relay->ticket.assign(relay->ticket.size(), 0);
          relay->hop_key.assign(relay->hop_key.size(), 0);
        }
        transcript_[send.connection].push_back(signal::SerializeMessage(normalized));
      }
      if (send.close_after) closed_.insert(send.connection);
      inbox_[send.connection].push_back(std::move(send.text));
    }
  }

  ManualClock clock_;
  TimePoint steady_ = TimePoint{} + seconds(1000);
  int64_t unix_ms_ = 1'767'225'600'000;
  std::unique_ptr<SqliteStore> own_store_;
  Store& store_;
  std::array<uint8_t, 32> ticket_key_{};
  RelayTicketIssuer tickets_;
  InProcessCluster cluster_;
  std::vector<std::unique_ptr<FlakyBus>> buses_;
  std::vector<std::unique_ptr<SignalingHub>> hubs_;
  std::set<int> dead_;
  int envelopes_ = 0;
  ConnectionId next_connection_ = 1;
  std::map<ConnectionId, int> node_of_;
  std::map<ConnectionId, std::vector<std::string>> inbox_;
  std::map<ConnectionId, std::vector<std::string>> transcript_;
  std::map<ConnectionId, signal::Challenge> challenge_;
  std::set<ConnectionId> closed_;
};

// --- The same flows on one node and across nodes ---------------------------------

// Which node each of alice, bob, carol and bob's second login use.
struct Layout {
  int alice = 0, bob = 0, carol = 0, bob_again = 0;
};
constexpr Layout kOneNode{0, 0, 0, 0};
constexpr Layout kSpread{0, 1, 2, 2};
constexpr Layout kBobAgainOnOwner{0, 1, 2, 0};

// A flow; returns the connections whose transcripts must match between layouts.
using Flow = std::function<std::vector<ConnectionId>(Cluster&, const Layout&)>;

struct Users {
  ConnectionId alice, bob;
};
Users AliceAndBob(Cluster& c, const Layout& l) {
  return {c.Register("alice", "laptop", 1, l.alice), c.Register("bob", "phone", 2, l.bob)};
}

std::vector<ConnectionId> Answered(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Answer(alice, bob, "bob", 1);
  c.Advance(seconds(125));  // bus renewals; no ring timeout once answered
  EXPECT_TRUE(c.Take(alice).empty());
  EXPECT_TRUE(c.Take(bob).empty());
  c.Send(bob, signal::Hangup{5, call});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(bob), (signal::Ended{5, call, EndReason::kHangup}));
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kHangup}));
  for (ConnectionId who : {alice, bob}) {
    c.Send(who, signal::History{20, 10});
    auto history = c.TakeOnly<signal::CallHistory>(who).calls;
    EXPECT_EQ(history.size(), 1u);  // one row, written by the owner
  }
  return {alice, bob};
}

std::vector<ConnectionId> Declined(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  c.Send(bob, signal::Decline{5, call});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(bob), (signal::Ended{5, call, EndReason::kDeclined}));
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kDeclined}));
  // Declining again: the call is gone (error from the node where bob is).
  c.Send(bob, signal::Decline{6, call});
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(bob).code, ErrorCode::kNoSuchCall);
  return {alice, bob};
}

std::vector<ConnectionId> CancelledBeforeRinging(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = MakeCallId(1);
  c.Send(alice, signal::Invite{1, call, "bob"});
  c.Send(alice, signal::Cancel{2, call});
  EXPECT_EQ(c.Take(alice).size(), 2u);
  EXPECT_TRUE(c.Take(bob).empty());
  return {alice, bob};
}

std::vector<ConnectionId> CancelledWhileRinging(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  c.Send(alice, signal::Cancel{2, call});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(bob), (signal::Ended{std::nullopt, call, EndReason::kCancelled}));
  return {alice, bob};
}

std::vector<ConnectionId> RingTimeout(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  c.Advance(seconds(46));
  EXPECT_EQ(c.TakeOnly<signal::Ended>(bob), (signal::Ended{std::nullopt, call, EndReason::kTimeout}));
  // The missed call waits for bob's next login.
  c.Disconnect(bob);
  const ConnectionId again = c.Login("bob", "phone", 2, l.bob_again);
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(again).missed_calls.size(), 1u);
  return {alice, bob, again};
}

std::vector<ConnectionId> RouteTimeout(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  c.Send(alice, signal::Invite{1, MakeCallId(1), "bob"});
  c.Advance(seconds(46));
  EXPECT_EQ(c.Take(alice).size(), 2u);  // route, ended{timeout}
  EXPECT_TRUE(c.Take(bob).empty());
  return {alice, bob};
}

std::vector<ConnectionId> Offline(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  c.Disconnect(bob);
  const CallId call = MakeCallId(1);
  c.Send(alice, signal::Invite{1, call, "bob"});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{1, call, EndReason::kUnavailable}));
  const ConnectionId again = c.Login("bob", "phone", 2, l.bob_again);
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(again).missed_calls.size(), 1u);
  return {alice, again};
}

std::vector<ConnectionId> NotFoundAndRefused(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  c.Send(alice, signal::Invite{1, MakeCallId(1), "nobody"});
  c.Send(bob, signal::BlockUser{2, "alice"});
  c.Send(alice, signal::Invite{3, MakeCallId(2), "bob"});
  auto messages = c.Take(alice);
  EXPECT_EQ(messages.size(), 2u);
  for (const auto& m : messages) EXPECT_EQ(std::get<signal::Ended>(m).reason, EndReason::kNotFound);
  // Messages about calls one is not in: the same errors.
  c.Send(bob, signal::Hangup{4, MakeCallId(2)});
  c.Send(bob, signal::Accept{5, MakeCallId(3), Handshake(crypto::HandshakeType::kAccept, MakeCallId(3))});
  return {alice, bob};
}

// Bob (in a call that carol's node owns) is busy for alice.
std::vector<ConnectionId> BusyInACallOfAThirdNode(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const ConnectionId carol = c.Register("carol", "tablet", 3, l.carol);
  c.Answer(carol, bob, "bob", 1);
  const CallId second = MakeCallId(2);
  c.Send(alice, signal::Invite{1, second, "bob"});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{1, second, EndReason::kBusy}));
  // And bob, in that call, cannot place another one.
  c.Send(bob, signal::Invite{2, MakeCallId(3), "alice"});
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(bob).code, ErrorCode::kInCall);
  // Carol cannot either (she owns it), nor can alice reach carol.
  c.Send(alice, signal::Invite{3, MakeCallId(4), "carol"});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice).reason, EndReason::kBusy);
  return {alice, bob, carol};
}

// Who leaves and when.
std::vector<ConnectionId> Leaves(Cluster& c, const Layout& l, int stage, bool caller_leaves) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = MakeCallId(1);
  c.Send(alice, signal::Invite{1, call, "bob"});
  if (stage >= 1) c.Send(alice, signal::Offer{2, call, Handshake(crypto::HandshakeType::kCommit, call)});
  if (stage >= 2) c.Send(bob, signal::Accept{3, call, Handshake(crypto::HandshakeType::kAccept, call)});
  if (stage >= 3) c.Send(alice, signal::Reveal{4, call, Handshake(crypto::HandshakeType::kReveal, call)});
  const ConnectionId stays = caller_leaves ? bob : alice;
  const size_t heard_before = c.Transcript(stays).size();
  c.Disconnect(caller_leaves ? alice : bob);
  const ConnectionId carol = c.Register("carol", "tablet", 3, l.carol);
  if (stage >= 3) {
    // An active call outlives a party's connection (its media goes on end to end): the
    // one who stayed is told nothing and stays busy until they hang up.
    EXPECT_EQ(c.Transcript(stays).size(), heard_before);
    c.Send(carol, signal::Invite{8, MakeCallId(3), caller_leaves ? "bob" : "alice"});
    EXPECT_EQ(c.TakeOnly<signal::Ended>(carol).reason, EndReason::kBusy);
    c.Take(stays);  // what it heard while the call was set up
    c.Send(stays, signal::Hangup{5, call});
    EXPECT_EQ(c.TakeOnly<signal::Ended>(stays), (signal::Ended{5, call, EndReason::kHangup}));
  }
  EXPECT_FALSE(c.Transcript(stays).empty());
  // Whoever stayed can be called again at once (claims released).
  c.Send(carol, signal::Invite{9, MakeCallId(2), caller_leaves ? "bob" : "alice"});
  EXPECT_EQ(c.TakeOnly<signal::Route>(carol).id, signal::RequestId{9});
  return {alice, bob, carol};
}

// Bob logs in again elsewhere while ringing: the old connection is replaced and the
// call ends as on one node. (One difference: on one node the missed call is stored
// before the new login's `welcome` and listed in it; across nodes the call ends just
// after, so the missed call waits for the login after that.)
std::vector<ConnectionId> ReplacedWhileRinging(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  const ConnectionId again = c.Login("bob", "phone", 2, l.bob_again);
  EXPECT_TRUE(c.Closed(bob));
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(bob).code, ErrorCode::kReplaced);
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kUnavailable}));
  const bool one_node = l.bob == l.bob_again;
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(again).missed_calls.size(), one_node ? 1u : 0u);
  // The new connection is bob now.
  c.Ring(alice, again, "bob", 2);
  c.Send(again, signal::History{30, 10});
  EXPECT_EQ(c.TakeOnly<signal::CallHistory>(again).calls.size(), 1u);  // the missed one, logged
  return {alice, bob};
}

std::vector<ConnectionId> ReplacedInACall(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Answer(alice, bob, "bob", 1);
  const ConnectionId again = c.Login("bob", "phone", 2, l.bob_again);
  EXPECT_TRUE(c.Closed(bob));
  // Bob's network changed and his client logged in again: the call goes on on its media
  // path; alice is told nothing, and her hangup ends it.
  EXPECT_TRUE(c.Take(alice).empty());
  c.Send(alice, signal::Hangup{3, call});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{3, call, EndReason::kHangup}));
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(again).user, "bob");
  EXPECT_TRUE(c.Take(again).empty());
  return {alice, bob, again};
}

// Bob's connection goes away in an active call and he is not back within the grace: alice
// gets ended{hangup} then (his client crashed or closed), and is free again.
std::vector<ConnectionId> AwayAndNotBack(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Answer(alice, bob, "bob", 1);
  c.Disconnect(bob);
  c.Advance(HubConfig{}.away_grace - seconds(1));
  EXPECT_TRUE(c.Take(alice).empty());
  c.Advance(seconds(2));
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kHangup}));
  const ConnectionId carol = c.Register("carol", "tablet", 3, l.carol);
  c.Send(carol, signal::Invite{9, MakeCallId(2), "alice"});
  EXPECT_EQ(c.TakeOnly<signal::Route>(carol).id, signal::RequestId{9});
  return {alice, bob, carol};
}

// `leaver`'s client logs in again (its network changed) within the grace: both stay busy
// meanwhile, the new connection is the call's party after the grace (its hangup ends
// the call for the other), nobody was told anything before.
std::vector<ConnectionId> AwayAndBack(Cluster& c, const Layout& l, bool caller_leaves) {
  auto [alice, bob] = AliceAndBob(c, l);
  const CallId call = c.Answer(alice, bob, "bob", 1);
  const ConnectionId stays = caller_leaves ? bob : alice;
  c.Disconnect(caller_leaves ? alice : bob);
  c.Advance(seconds(3));
  const ConnectionId again = caller_leaves ? c.Login("alice", "laptop", 1, l.bob_again)
                                           : c.Login("bob", "phone", 2, l.bob_again);
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(again).user, caller_leaves ? "alice" : "bob");
  const ConnectionId carol = c.Register("carol", "tablet", 3, l.carol);
  uint64_t n = 20;  // call ids are never reused
  for (const char* user : {"alice", "bob"}) {  // both, the one back included
    c.Send(carol, signal::Invite{9, MakeCallId(n++), user});
    EXPECT_EQ(c.TakeOnly<signal::Ended>(carol).reason, EndReason::kBusy) << user;
  }
  c.Send(again, signal::Invite{4, MakeCallId(3), "carol"});
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(again).code, ErrorCode::kInCall);
  c.Advance(HubConfig{}.away_grace + seconds(5));
  EXPECT_TRUE(c.Take(stays).empty());
  c.Send(carol, signal::Invite{9, MakeCallId(n++), caller_leaves ? "alice" : "bob"});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(carol).reason, EndReason::kBusy);
  c.Send(again, signal::Hangup{5, call});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(again), (signal::Ended{5, call, EndReason::kHangup}));
  EXPECT_EQ(c.TakeOnly<signal::Ended>(stays), (signal::Ended{std::nullopt, call, EndReason::kHangup}));
  return {alice, bob, again, carol};
}

std::vector<ConnectionId> PresenceBetweenMutualContacts(Cluster& c, const Layout& l) {
  auto [alice, bob] = AliceAndBob(c, l);
  c.Send(alice, signal::ContactsAdd{1, "bob"});
  c.Send(bob, signal::ContactsAdd{2, "alice"});  // now mutual: both see each other
  EXPECT_EQ(c.Take(alice).size(), 2u);           // ok, presence{bob, online}
  EXPECT_EQ(c.Take(bob).size(), 2u);             // ok, presence{alice, online}
  c.Disconnect(bob);
  EXPECT_EQ(c.TakeOnly<signal::Presence>(alice), (signal::Presence{std::nullopt, "bob", false}));
  const ConnectionId again = c.Login("bob", "phone", 2, l.bob_again);
  EXPECT_EQ(c.TakeOnly<signal::Presence>(alice), (signal::Presence{std::nullopt, "bob", true}));
  c.Send(alice, signal::BlockUser{3, "bob"});  // not mutually visible any more
  EXPECT_EQ(c.Take(again).size(), 3u);         // welcome, presence{alice, online}, presence{alice, offline}
  return {alice, bob, again};
}

std::vector<ConnectionId> Candidates(Cluster& c, const Layout& l, bool p2p) {
  auto [alice, bob] = AliceAndBob(c, l);
  const signal::Audience audience = p2p ? signal::Audience::kEveryone : signal::Audience::kNobody;
  c.Send(alice, signal::Settings{1, std::nullopt, audience});
  c.Send(bob, signal::Settings{2, std::nullopt, signal::Audience::kEveryone});
  c.Take(alice);
  c.Take(bob);
  const CallId call = c.Answer(alice, bob, "bob", 1);
  c.Send(bob, signal::Candidates{3, call, {net::UdpEndpoint::Parse("203.0.113.42:50002").value()}});
  c.Send(alice, signal::Candidates{4, call, {net::UdpEndpoint::Parse("198.51.100.21:40001").value()}});
  EXPECT_EQ(c.Take(bob).size(), p2p ? 2u : 1u);  // peer_candidates + ok | error{not_allowed}
  EXPECT_EQ(c.Take(alice).size(), p2p ? 2u : 1u);
  return {alice, bob};
}

struct NamedFlow {
  const char* name;
  Flow flow;
};

std::vector<NamedFlow> Flows() {
  std::vector<NamedFlow> flows = {
      {"Answered", Answered},
      {"Declined", Declined},
      {"CancelledBeforeRinging", CancelledBeforeRinging},
      {"CancelledWhileRinging", CancelledWhileRinging},
      {"RingTimeout", RingTimeout},
      {"RouteTimeout", RouteTimeout},
      {"Offline", Offline},
      {"NotFoundAndRefused", NotFoundAndRefused},
      {"BusyInACallOfAThirdNode", BusyInACallOfAThirdNode},
      {"ReplacedWhileRinging", ReplacedWhileRinging},
      {"ReplacedInACall", ReplacedInACall},
      {"AwayAndNotBack", AwayAndNotBack},
      {"CalleeAwayAndBack", [](Cluster& c, const Layout& l) { return AwayAndBack(c, l, false); }},
      {"CallerAwayAndBack", [](Cluster& c, const Layout& l) { return AwayAndBack(c, l, true); }},
      {"PresenceBetweenMutualContacts", PresenceBetweenMutualContacts},
      {"CandidatesWhenP2PAllowed", [](Cluster& c, const Layout& l) { return Candidates(c, l, true); }},
      {"CandidatesWhenP2PRefused", [](Cluster& c, const Layout& l) { return Candidates(c, l, false); }},
  };
  const char* const stages[] = {"Routing", "Ringing", "Accepted", "Active"};
  static std::vector<std::string> names;  // flows keep pointers into it
  names.reserve(8);
  for (int stage = 0; stage < 4; ++stage) {
    for (bool caller : {true, false}) {
      names.push_back(std::string(caller ? "CallerLeaves" : "CalleeLeaves") + stages[stage]);
      flows.push_back({names.back().c_str(),
                       [stage, caller](Cluster& c, const Layout& l) { return Leaves(c, l, stage, caller); }});
    }
  }
  return flows;
}

class SameMessagesAcrossNodes : public ::testing::TestWithParam<NamedFlow> {};

TEST_P(SameMessagesAcrossNodes, AsOnOneNode) {
  for (const Layout& spread : {kSpread, kBobAgainOnOwner}) {
    Cluster one, many;
    const auto one_connections = GetParam().flow(one, kOneNode);
    const auto many_connections = GetParam().flow(many, spread);
    ASSERT_EQ(one_connections.size(), many_connections.size());
    for (std::size_t i = 0; i < one_connections.size(); ++i) {
      EXPECT_EQ(one.Transcript(one_connections[i]), many.Transcript(many_connections[i])) << "connection #" << i;
      EXPECT_FALSE(many.Transcript(many_connections[i]).empty());
    }
    EXPECT_EQ(one.envelopes(), 0);
    // Nothing left behind but calls still in progress.
    for (int n = 0; n < 3; ++n) many.hub(n).CheckInvariants();
  }
}

INSTANTIATE_TEST_SUITE_P(Flows, SameMessagesAcrossNodes, ::testing::ValuesIn(Flows()),
                         [](const ::testing::TestParamInfo<NamedFlow>& info) { return std::string(info.param.name); });

// --- Across nodes only -------------------------------------------------------------

TEST(SignalingHubClusterTest, OwnerKeepsTheCallAndTheHolderOnlyRelays) {
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  c.Ring(alice, bob, "bob", 1);
  EXPECT_EQ(c.hub(0).call_count(), 1u);
  EXPECT_EQ(c.hub(1).call_count(), 0u);
  EXPECT_EQ(c.hub(0).connection_count(), 1u);  // bob is a remote party there, not a connection
  EXPECT_EQ(c.hub(1).connection_count(), 1u);
  EXPECT_FALSE(c.Unclaimed("alice"));
  EXPECT_FALSE(c.Unclaimed("bob"));
  // The owner renews both claims: still held long after their ttl.
  c.Advance(seconds(44));
  EXPECT_FALSE(c.Unclaimed("bob"));
  c.Send(alice, signal::Cancel{3, MakeCallId(1)});
  EXPECT_EQ(c.hub(0).call_count(), 0u);
  EXPECT_EQ(c.hub(0).connection_count(), 1u);
  EXPECT_TRUE(c.Unclaimed("alice"));
  EXPECT_TRUE(c.Unclaimed("bob"));
}

TEST(SignalingHubClusterTest, ACallIdReusedOnAnotherNodeCannotTakeOverTheCall) {
  // Call ids are chosen by clients. Carol, on a third node, invites bob with the id of
  // his call with alice: the id is claimed on the bus, so hers is refused as a reused
  // id, and bob's node keeps relaying his call to alice's node.
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  const CallId call = c.Answer(alice, bob, "bob", 1);
  const ConnectionId carol = c.Register("carol", "tablet", 3, kSpread.carol);
  c.Send(carol, signal::Invite{1, call, "bob"});
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(carol).code, ErrorCode::kNotAllowed);
  EXPECT_TRUE(c.Take(bob).empty());
  EXPECT_EQ(c.hub(2).call_count(), 0u);
  // The real call is untouched: bob's hang-up reaches alice through its owner.
  c.Send(bob, signal::Hangup{2, call});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice).reason, EndReason::kHangup);
  EXPECT_EQ(c.TakeOnly<signal::Ended>(bob).reason, EndReason::kHangup);
  EXPECT_TRUE(c.Unclaimed("bob"));
  EXPECT_TRUE(c.Unclaimed("carol"));
}

TEST(SignalingHubClusterTest, ACallIdInUseOnAnotherNodeIsRefusedForAnotherPair) {
  // The relay pairs a call's participants by call id alone. Alice (n0) calls bob (n1);
  // carol (n2) then invites dave (n2) with the same id: a different pair on a node that
  // never saw the id. It is refused as a reused id, and nobody else hears of it.
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  const ConnectionId carol = c.Register("carol", "tablet", 3, 2);
  const ConnectionId dave = c.Register("dave", "phone", 4, 2);
  c.Send(carol, signal::Invite{1, call, "dave"});
  const auto refused = c.TakeOnly<signal::ErrorReply>(carol);
  EXPECT_EQ(refused.code, ErrorCode::kNotAllowed);
  EXPECT_EQ(refused.id, signal::RequestId{1});
  EXPECT_TRUE(c.Take(dave).empty());
  EXPECT_EQ(c.hub(2).call_count(), 0u);
  EXPECT_TRUE(c.Unclaimed("carol"));
  EXPECT_TRUE(c.Unclaimed("dave"));
  // Still refused after the first call ended (its tickets live on), here from bob's
  // node, which only relayed that call and keeps no memory of its id; a fresh id works.
  c.Send(alice, signal::Cancel{20, call});
  c.Take(alice);
  c.Take(bob);
  c.Advance(std::chrono::hours(1));
  const ConnectionId erin = c.Register("erin", "phone", 5, 1);
  c.Send(erin, signal::Invite{2, call, "dave"});
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(erin).code, ErrorCode::kNotAllowed);
  EXPECT_TRUE(c.Take(dave).empty());
  const CallId fresh = c.Ring(carol, dave, "dave", 2);
  EXPECT_NE(fresh, call);
}

TEST(SignalingHubClusterTest, ACallIdClaimExpiresWithTheTicketsAndABusFailureIsUnavailable) {
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  c.Send(alice, signal::Cancel{20, call});
  c.Take(alice);
  c.Take(bob);
  // Past the tickets' lifetime (12 h) and two ring timeouts, the id is free on the bus
  // (another node may take it; the owner's own memory of used ids still refuses it).
  c.Advance(std::chrono::hours(12) + seconds(91));
  const ConnectionId carol = c.Register("carol", "tablet", 3, 2);
  const ConnectionId dave = c.Register("dave", "phone", 4, 2);
  EXPECT_EQ(c.Ring(carol, dave, "dave", 1), call);
  // A bus that does not answer: the invite ends as unavailable, as other bus failures do.
  const ConnectionId erin = c.Register("erin", "phone", 5, 1);
  c.bus(1).fail = true;
  c.Send(erin, signal::Invite{3, MakeCallId(3), "alice"});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(erin).reason, EndReason::kUnavailable);
}

TEST(SignalingHubClusterTest, ClaimsOfALongCallAreRenewed) {
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  c.Answer(alice, bob, "bob", 1);
  c.Advance(std::chrono::minutes(10));
  EXPECT_FALSE(c.Unclaimed("alice"));
  EXPECT_FALSE(c.Unclaimed("bob"));
  ASSERT_TRUE(c.cluster().FindPresence("bob").has_value());  // presence renewed too
  EXPECT_EQ(c.cluster().FindPresence("bob")->node, "n1");
}

TEST(SignalingHubClusterTest, ForgedOrMismatchedEnvelopesAreIgnored) {
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  const std::string accept =
      signal::SerializeMessage(signal::Accept{7, call, Handshake(crypto::HandshakeType::kAccept, call)});
  NodeEnvelope real;
  real.kind = NodeEnvelope::Kind::kFromParty;
  real.from_node = "n1";
  real.connection = bob;
  real.user = "bob";
  real.device = "phone";
  real.call = call;
  real.text = accept;

  std::vector<NodeEnvelope> forged;
  auto with = [&](auto change) {
    NodeEnvelope e = real;
    change(e);
    forged.push_back(e);
  };
  with([](NodeEnvelope& e) { e.from_node = "n2"; });             // another node
  with([&](NodeEnvelope& e) { e.connection = bob + 100; });      // another connection
  with([](NodeEnvelope& e) { e.user = "alice"; });               // another user
  with([](NodeEnvelope& e) { e.device = "laptop"; });            // another device
  with([](NodeEnvelope& e) { e.call = MakeCallId(2); });         // another call
  with([](NodeEnvelope& e) { e.call.reset(); });                 // no call
  with([&](NodeEnvelope& e) {                                    // text about another call
    e.text = signal::SerializeMessage(
        signal::Accept{7, MakeCallId(2), Handshake(crypto::HandshakeType::kAccept, MakeCallId(2))});
  });
  with([&](NodeEnvelope& e) {  // not a message a holder forwards
    e.text = signal::SerializeMessage(signal::Invite{7, call, "carol"});
  });
  with([](NodeEnvelope& e) { e.text = "{not json"; });
  with([](NodeEnvelope& e) { e.kind = NodeEnvelope::Kind::kPartyLeft; e.connection += 1; });
  with([](NodeEnvelope& e) { e.kind = NodeEnvelope::Kind::kUndeliverable; e.user = "carol"; });
  with([](NodeEnvelope& e) { e.kind = NodeEnvelope::Kind::kReplaced; e.connection = 999; });
  with([&](NodeEnvelope& e) {  // a delivery for alice that names bob's connection on n0
    e.kind = NodeEnvelope::Kind::kDeliver;
    e.connection = alice;
    e.user = "bob";
    e.text = signal::SerializeMessage(signal::Ended{std::nullopt, call, EndReason::kHangup});
  });
  with([&](NodeEnvelope& e) {  // a client message as a delivery
    e.kind = NodeEnvelope::Kind::kDeliver;
    e.connection = alice;
    e.user = "alice";
    e.call.reset();
    e.text = accept;
  });
  with([&](NodeEnvelope& e) {  // a delivery about a call alice is not held in
    e.kind = NodeEnvelope::Kind::kDeliver;
    e.connection = alice;
    e.user = "alice";
    e.text = signal::SerializeMessage(signal::Revealed{std::nullopt, call, Handshake(crypto::HandshakeType::kReveal, call)});
  });
  for (const auto& e : forged) c.Inject(0, e);
  EXPECT_TRUE(c.Take(alice).empty());
  EXPECT_TRUE(c.Take(bob).empty());
  EXPECT_EQ(c.hub(0).call_count(), 1u);
  // The real one goes through.
  c.Inject(0, real);
  EXPECT_EQ(c.Take(alice).size(), 2u);  // accepted, relay
  EXPECT_EQ(c.TakeOnly<signal::Relay>(bob).id, signal::RequestId{7});
}

TEST(SignalingHubClusterTest, AnOwnerThatVanishesLeavesClaimsThatExpire) {
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  const ConnectionId carol = c.Register("carol", "tablet", 3, 2);
  c.Answer(alice, bob, "bob", 1);
  c.Kill(0);
  // Bob's messages about the call go nowhere; he is still busy while the claim lasts.
  c.Send(bob, signal::Hangup{3, MakeCallId(1)});
  EXPECT_TRUE(c.Take(bob).empty());
  c.Send(carol, signal::Invite{4, MakeCallId(2), "bob"});
  EXPECT_EQ(c.TakeOnly<signal::Ended>(carol).reason, EndReason::kBusy);
  c.Send(bob, signal::Invite{5, MakeCallId(3), "carol"});
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(bob).code, ErrorCode::kInCall);
  c.Send(bob, signal::Invite{5, MakeCallId(1), "carol"});  // the held call's own id
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(bob).code, ErrorCode::kInCall);
  EXPECT_FALSE(c.Unclaimed("bob"));
  // After the ttl nobody renews it: bob is free both ways.
  c.Advance(seconds(91));
  c.Send(bob, signal::Invite{6, MakeCallId(4), "carol"});
  EXPECT_EQ(c.TakeOnly<signal::Route>(bob).id, signal::RequestId{6});
  c.Send(bob, signal::Cancel{7, MakeCallId(4)});
  c.Take(bob);
  c.Send(carol, signal::Invite{8, MakeCallId(5), "bob"});
  EXPECT_EQ(c.TakeOnly<signal::Route>(carol).id, signal::RequestId{8});
  // Alice's presence on the dead node has expired too.
  EXPECT_FALSE(c.cluster().FindPresence("alice").has_value());
}

TEST(SignalingHubClusterTest, AHolderThatVanishesWhileRingingEndsAtTheRingTimeout) {
  Cluster c;
  auto [alice, bob] = AliceAndBob(c, kSpread);
  const CallId call = c.Ring(alice, bob, "bob", 1);
  c.Kill(1);
  c.Advance(seconds(46));
  EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kTimeout}));
  EXPECT_EQ(c.hub(0).call_count(), 0u);
  EXPECT_TRUE(c.Unclaimed("bob"));
}

TEST(SignalingHubClusterTest, ABusErrorEndsACallAsUnavailableAndIsLogged) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  {
    Cluster c;
    auto [alice, bob] = AliceAndBob(c, kSpread);
    c.bus(0).fail = true;
    const CallId call = MakeCallId(1);
    c.Send(alice, signal::Invite{1, call, "bob"});
    EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{1, call, EndReason::kUnavailable}));
    EXPECT_NE(log.str().find("node bus failed"), std::string::npos) << log.str();
    // Back: the call connects. Then the holder's bus fails: bob's hang-up cannot be
    // forwarded, so bob's call ends there as unavailable.
    c.bus(0).fail = false;
    const CallId second = c.Answer(alice, bob, "bob", 2);
    c.bus(1).fail = true;
    c.Send(bob, signal::Hangup{9, second});
    EXPECT_EQ(c.TakeOnly<signal::Ended>(bob), (signal::Ended{9, second, EndReason::kUnavailable}));
    c.bus(1).fail = false;
  }
  spdlog::set_default_logger(previous);
}

// Where the bus says `user` is, without the login time (which follows the test clock).
std::optional<PresenceRecord> Holder(InProcessCluster& cluster, const std::string& user) {
  auto record = cluster.FindPresence(user);
  if (record) record->login_unix_ms = 0;
  return record;
}

// A login whose presence write failed (a Redis blip) is still the newest login: once
// the bus answers, its node records it and closes the older login (kReplaced, wherever
// it is) instead of yielding to that older record at its next renewal.
struct BlipCase {
  const char* name;
  int older;           // the node of alice's first login
  int newer;           // the node of her second, whose presence write fails
  Duration outage{};   // 0: one failed write; else the newer node's bus fails this long
};

class NewestLoginAfterABlip : public testing::TestWithParam<BlipCase> {};

TEST_P(NewestLoginAfterABlip, WinsOnceTheBusAnswers) {
  const BlipCase& blip = GetParam();
  Cluster c;
  const ConnectionId older = c.Register("alice", "laptop", 1, blip.older);
  const ConnectionId bob = c.Register("bob", "phone", 2, 2);
  if (blip.outage > Duration::zero()) {
    c.bus(blip.newer).fail = true;
  } else {
    c.bus(blip.newer).fail_set_presence = 1;
  }
  const ConnectionId newer = c.Login("alice", "laptop", 1, blip.newer);
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(newer).user, "alice");
  const std::string older_node = "n" + std::to_string(blip.older);
  const std::string newer_node = "n" + std::to_string(blip.newer);
  if (blip.older == blip.newer) {
    // Replaced on its own node at once, which cleared the closed connection's record.
    EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(older).code, ErrorCode::kReplaced);
    EXPECT_EQ(c.cluster().FindPresence("alice"), std::nullopt);
  } else {
    EXPECT_TRUE(c.Take(older).empty());
    EXPECT_FALSE(c.Closed(older));
    EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{older_node, older, "laptop"}));
  }
  if (blip.outage > Duration::zero()) {
    c.Advance(blip.outage);  // retries and a renewal on the newer node fail meanwhile
    EXPECT_FALSE(c.Closed(newer));
    c.bus(blip.newer).fail = false;
  }
  c.Advance(seconds(3));  // the next retry
  EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{newer_node, newer, "laptop"}));
  if (blip.older != blip.newer) {
    EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(older).code, ErrorCode::kReplaced);
  }
  EXPECT_TRUE(c.Closed(older));

  // Renewals from then on keep the newest login; calls reach it.
  c.Advance(seconds(125));
  EXPECT_FALSE(c.Closed(newer));
  EXPECT_TRUE(c.Take(newer).empty());
  EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{newer_node, newer, "laptop"}));
  c.Ring(bob, newer, "alice", 1);
}

INSTANTIATE_TEST_SUITE_P(
    Blips, NewestLoginAfterABlip,
    testing::Values(BlipCase{"OlderOnN0NewerOnN1", 0, 1}, BlipCase{"OlderOnN1NewerOnN0", 1, 0},
                    BlipCase{"BothOnN0", 0, 0}, BlipCase{"OutagePastARenewal", 0, 1, seconds(45)},
                    BlipCase{"OutagePastARenewalReverse", 1, 0, seconds(45)}),
    [](const testing::TestParamInfo<BlipCase>& info) { return std::string(info.param.name); });

// The same login disconnecting before its record reached the bus removes nothing: the
// older login keeps its record, is renewed and stays online; no retry is left behind.
TEST(SignalingHubClusterTest, ALoginWhosePresenceNeverReachedTheBusClearsOnlyItsOwnRecord) {
  Cluster c;
  const ConnectionId older = c.Register("alice", "laptop", 1, 0);
  c.bus(1).fail_set_presence = 1;
  const ConnectionId newer = c.Login("alice", "laptop", 1, 1);
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(newer).user, "alice");
  c.Disconnect(newer);
  EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{"n0", older, "laptop"}));
  EXPECT_FALSE(c.hub(1).NextTimerAt().has_value());
  c.Advance(seconds(125));
  EXPECT_FALSE(c.Closed(older));
  EXPECT_TRUE(c.Take(older).empty());
  EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{"n0", older, "laptop"}));
}

TEST(SignalingHubClusterTest, CallLogWriteFailuresAreLoggedForTheOperator) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  {
    // A real store whose call log tables another connection dropped: its writes fail.
    const std::string path = ::testing::TempDir() + "/hub_cluster_failing_log_" + std::to_string(::getpid()) + ".db";
    std::filesystem::remove(path);
    auto store = SqliteStore::Open(path).value();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "DROP TABLE missed_calls; DROP TABLE call_log;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
    Cluster c(store.get());
    auto [alice, bob] = AliceAndBob(c, kSpread);
    const CallId call = c.Ring(alice, bob, "bob", 1);
    c.Advance(seconds(46));  // a missed call: a log row and a missed-call row, both failing
    EXPECT_EQ(c.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kTimeout}));
    EXPECT_NE(log.str().find("failed to record a call in the call log"), std::string::npos)
        << log.str();
    EXPECT_NE(log.str().find("failed to keep a missed call"), std::string::npos) << log.str();
    store.reset();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix);
  }
  spdlog::set_default_logger(previous);
}

// Logins are ordered by login time, not by which write reached the bus last: alice,
// offline, logs in on n1 during a blip, then on n2 (recorded, replacing nobody). n1's
// retry finds n2's later login and yields to it, closing its own older connection.
TEST(SignalingHubClusterTest, ARetriedLoginYieldsToALaterLoginThatReachedTheBusFirst) {
  Cluster c;
  const ConnectionId first = c.Register("alice", "laptop", 1, 0);
  c.Disconnect(first);
  EXPECT_EQ(c.cluster().FindPresence("alice"), std::nullopt);
  c.bus(1).fail_set_presence = 1;
  const ConnectionId older = c.Login("alice", "laptop", 1, 1);  // its write fails
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(older).user, "alice");
  c.Advance(milliseconds(500));
  const ConnectionId newer = c.Login("alice", "laptop", 1, 2);
  EXPECT_EQ(c.TakeOnly<signal::Welcome>(newer).user, "alice");
  EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{"n2", newer, "laptop"}));
  c.Advance(seconds(3));  // n1's retry
  EXPECT_FALSE(c.Closed(newer)) << "the newest login was closed by the older login's retry";
  EXPECT_TRUE(c.Take(newer).empty());
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(older).code, ErrorCode::kReplaced);
  EXPECT_TRUE(c.Closed(older));
  EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{"n2", newer, "laptop"}));
  EXPECT_FALSE(c.hub(1).NextTimerAt().has_value());  // no retry left behind
  c.Advance(seconds(125));
  EXPECT_FALSE(c.Closed(newer));
  EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{"n2", newer, "laptop"}));
}

// Both nodes lose the bus; alice logs in on n1, then on n2, while another retry timer
// runs on n2. Whichever node's retry fires last, the later login (n2's) wins.
TEST(SignalingHubClusterTest, AfterAFullOutageTheLaterLoginWinsWhateverTheRetryPhase) {
  for (Duration bob_ahead : {milliseconds(0), milliseconds(1000), milliseconds(1900)}) {
    SCOPED_TRACE(std::to_string(bob_ahead.count()));
    Cluster c;
    const ConnectionId bob = c.Register("bob", "phone", 2, 2);
    c.Register("alice", "laptop", 1, 0);
    c.bus(1).fail = true;
    c.bus(2).fail = true;
    c.Disconnect(bob);
    const ConnectionId bob2 = c.Login("bob", "phone", 2, 2);  // n2's retry timer starts now
    c.Take(bob2);
    c.Advance(bob_ahead);
    const ConnectionId older = c.Login("alice", "laptop", 1, 1);
    c.Take(older);
    c.Advance(milliseconds(500));
    const ConnectionId newer = c.Login("alice", "laptop", 1, 2);
    c.Take(newer);
    c.bus(1).fail = false;
    c.bus(2).fail = false;
    c.Advance(seconds(5));
    EXPECT_FALSE(c.Closed(newer));
    EXPECT_TRUE(c.Closed(older));
    EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{"n2", newer, "laptop"}));
    EXPECT_EQ(Holder(c.cluster(), "bob"), (PresenceRecord{"n2", bob2, "phone"}));
  }
}

// A login whose node clock is behind finds the later login already on the bus: it is
// refused as replaced at once instead of closing that later login.
TEST(SignalingHubClusterTest, ALoginOlderThanTheRecordOnTheBusIsClosedAsReplaced) {
  Cluster c;
  const ConnectionId first = c.Register("alice", "laptop", 1, 0);
  c.Disconnect(first);
  const PresenceRecord later{"n2", 77, "laptop", c.Now().unix_ms + 60'000};  // n2's clock a minute ahead
  ASSERT_TRUE(c.cluster().SetPresence("alice", later, seconds(90)).written);
  const ConnectionId login = c.Login("alice", "laptop", 1, 1);
  EXPECT_EQ(c.TakeOnly<signal::ErrorReply>(login).code, ErrorCode::kReplaced);
  EXPECT_TRUE(c.Closed(login));
  EXPECT_EQ(c.cluster().FindPresence("alice"), later);
}

// The retry is one batch in which each login stands alone: a user whose write keeps
// failing (a key of the wrong type) does not hold back the others, and a long outage
// is one log line, not one every retry.
TEST(SignalingHubClusterTest, RetriesFailIndividuallyAndAnOutageIsLoggedOnce) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  {
    Cluster c;
    const ConnectionId alice0 = c.Register("alice", "laptop", 1, 1);
    const ConnectionId bob0 = c.Register("bob", "phone", 2, 1);
    c.Disconnect(alice0);
    c.Disconnect(bob0);
    c.bus(1).fail = true;
    const ConnectionId alice = c.Login("alice", "laptop", 1, 1);
    const ConnectionId bob = c.Login("bob", "phone", 2, 1);
    c.Take(alice);
    c.Take(bob);
    c.Advance(seconds(20));  // ten retry rounds
    const auto count = [&](const std::string& needle) {
      std::size_t n = 0;
      for (std::size_t at = log.str().find(needle); at != std::string::npos; at = log.str().find(needle, at + 1)) ++n;
      return n;
    };
    EXPECT_EQ(count("logins made while it was away"), 1u) << log.str();
    c.bus(1).broken_user = "alice";  // alice's key is broken; the bus is back
    c.bus(1).fail = false;
    c.Advance(seconds(3));
    EXPECT_EQ(Holder(c.cluster(), "bob"), (PresenceRecord{"n1", bob, "phone"}));
    EXPECT_EQ(c.cluster().FindPresence("alice"), std::nullopt);
    EXPECT_TRUE(c.hub(1).NextTimerAt().has_value());  // alice's write is retried still
    c.bus(1).broken_user.clear();
    c.Advance(seconds(3));
    EXPECT_EQ(Holder(c.cluster(), "alice"), (PresenceRecord{"n1", alice, "laptop"}));
    EXPECT_FALSE(c.Closed(alice));
    EXPECT_FALSE(c.Closed(bob));
    // A second outage is logged again.
    c.Disconnect(alice);
    c.bus(1).fail = true;
    c.Take(c.Login("alice", "laptop", 1, 1));
    c.Advance(seconds(5));
    EXPECT_EQ(count("logins made while it was away"), 2u) << log.str();
    c.bus(1).fail = false;
  }
  spdlog::set_default_logger(previous);
}

}  // namespace
}  // namespace parley::server
