// parleyd's signaling hub: logins, call routing, privacy, presence, rate limits and
// the call log, as logic without I/O. Behaviour: docs/protocol.md, "Signaling".
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/crypto/key_source.h"
#include "parley/server/node_bus.h"
#include "parley/server/rate_limiter.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/store.h"
#include "parley/signal/messages.h"

namespace parley::server {

using ConnectionId = uint64_t;

// Ids from here up name parties of this node's calls that are connected to another
// node; the front's connection ids stay below.
inline constexpr ConnectionId kFirstRemoteConnection = ConnectionId{1} << 62;
// Connection ids start at 1: 0 marks a party of an active call whose connection went
// away while its media goes on (see EndCallOfLeaving).
inline constexpr ConnectionId kAwayParty = 0;

// Both clocks come from the caller: `steady` for timeouts and rate limits, `unix_ms`
// (wall clock, milliseconds since 1970 UTC) for the call log and ticket expiry.
struct HubTime {
  TimePoint steady;
  int64_t unix_ms;
};

// One text frame for one connection. After a send with close_after, the hub has
// already forgotten the connection: the front sends the text, then closes it (a later
// OnDisconnect for it is a no-op).
struct HubSend {
  ConnectionId connection;
  std::string text;
  bool close_after = false;
};

struct HubConfig {
  std::string server_name;  // what clients sign (hello.server); 1..255 bytes
  std::string relay_host;   // sent in `relay`; non-empty
  uint16_t relay_port = 0;  // non-zero
  // Where a call moves if relay_host:relay_port stops carrying it (same ticket key),
  // in order; at most signal::kMaxRelayAlternates are sent.
  std::vector<signal::RelayAddress> relay_alternates;
  // If set, asked once per accepted call on the hub's strand: the call's relays, best
  // first (RelayChooser over the bus's live relays). An empty answer falls back to
  // relay_host:relay_port and relay_alternates.
  std::function<std::vector<signal::RelayAddress>()> choose_relays;
  Duration ring_timeout = seconds(45);  // per stage: invite -> offer, offer -> answer
  // How long an active call waits for a party whose connection went away to log in
  // again (on any node, same device) before it ends for the peer: a client on a new
  // network is back within seconds; one that crashed or closed never is.
  Duration away_grace = seconds(15);
  Duration ticket_lifetime = std::chrono::hours(12);
  RateLimit auth_per_ip{10, seconds(6)};            // register + login attempts
  RateLimit invites_per_caller{5, seconds(12)};     // invites that pass the in-call checks
  RateLimit messages_per_connection{40, milliseconds(50)};
  // path_test (`parley doctor`): one run asks for three pairs.
  RateLimit path_tests_per_user{6, seconds(20)};
  Duration path_test_ticket_lifetime = seconds(60);
  // new_app_invite: live web app invites one account may make in 24 hours; 0 = only
  // the operator makes them (docs/protocol.md, "Web app and invites").
  int64_t app_invites_per_day = 5;
  // Several nodes (docs/protocol.md, "Several nodes"): presence records and busy claims
  // live this long on the bus unless renewed; a hub given a bus renews them every
  // bus_refresh, so a dead node's records expire within the ttl.
  Duration presence_ttl = seconds(90);
  Duration busy_ttl = seconds(90);
  Duration bus_refresh = seconds(30);
  // A login whose presence write failed (the bus was unreachable) writes it again this
  // often until it succeeds (bus calls fail at once meanwhile: the bus's breaker).
  Duration presence_retry = seconds(2);
};

// Not thread-safe: the web front calls every method from one strand. Sessions and
// calls live in memory (a restart ends them); accounts, lists and the call log live
// in the Store. Every refused message leaves the state as it was.
//
// Several nodes: a call is owned by the caller's hub, which keeps its state; a callee
// connected to another node is a session here marked remote (ids from
// kFirstRemoteConnection), whose messages go out as kDeliver envelopes and come in as
// kFromParty (OnEnvelope). The callee's hub ("holder") only relays. Busy claims and
// presence are on the bus for local calls and users too. Bus and store failures are
// logged for the operator (spdlog); a bus failure ends a call as `unavailable`.
class SignalingHub {
 public:
  // `store`, `tickets` and `bus` must outlive the hub. `challenge_seed`: randomness
  // for the login challenges (tests pass a fixed one; production passes 32 random
  // bytes). `bus` null: one node alone, on an in-process bus of the hub's own that
  // is never renewed (nothing outside this hub reads it), so NextTimerAt stays the
  // ring deadlines only. A hub given a bus renews it (NextTimerAt includes that) and
  // must hand the bus's envelopes to OnEnvelope on the hub's strand.
  SignalingHub(Store& store, const RelayTicketIssuer& tickets, HubConfig config,
               std::array<uint8_t, 32> challenge_seed, NodeBus* bus = nullptr);

  // A new connection (`id` not in use); the reply is its `hello`. `remote_ip` is used
  // only for rate limits and never sent to anyone.
  std::vector<HubSend> OnConnect(ConnectionId id, const std::string& remote_ip, HubTime now);
  // One text frame from the connection. Unknown connections are ignored.
  std::vector<HubSend> OnMessage(ConnectionId id, std::string_view text, HubTime now);
  // The connection is gone: its call ends and its mutual contacts see it offline.
  std::vector<HubSend> OnDisconnect(ConnectionId id, HubTime now);
  // One envelope from another node (NodeBus's receiver, moved to the hub's strand).
  // Envelopes that do not match this hub's state exactly are ignored.
  std::vector<HubSend> OnEnvelope(const NodeEnvelope& envelope, HubTime now);
  // Ends the calls whose ring timeout has passed, and renews this node's presence
  // records and busy claims on a bus it was given; call at NextTimerAt() or later.
  std::vector<HubSend> OnTimer(HubTime now);
  // The earliest ring deadline or bus renewal, or nullopt when there is none.
  std::optional<TimePoint> NextTimerAt() const;

  // For tests, the fuzzer and metrics: connections on this node (not remote parties).
  std::size_t connection_count() const { return sessions_.size() - remote_sessions_; }
  std::size_t call_count() const { return calls_.size(); }
  // Aborts (PARLEY_CHECK) if sessions, the online table and calls disagree.
  void CheckInvariants() const;

 private:
  enum class CallState {
    kRouting,   // route sent to the caller; the callee knows nothing yet
    kRinging,   // incoming sent to the callee
    kAccepted,  // accepted sent to the caller; relay tickets issued
    kActive,    // revealed sent to the callee
  };
  struct Call {
    signal::CallId id{};
    std::string caller, callee;
    std::string caller_device, callee_device;
    ConnectionId caller_connection = 0, callee_connection = 0;
    CallState state = CallState::kRouting;
    TimePoint deadline{};  // routing and ringing; active with a party away: its grace
    // Exactly when a party is kAwayParty: where it was (a record naming that node and
    // connection is stale, not a return).
    bool awaiting_return = false;
    std::string away_node;
    ConnectionId away_connection = 0;  // on away_node
    int64_t started_unix_ms = 0;
    int64_t answered_unix_ms = 0;
    // Decided at accept (both users' p2p settings allow the other); only then are
    // `candidates` forwarded, and only between the two parties of this call.
    bool p2p_allowed = false;
  };
  // Owner side: where a party connected to another node is.
  struct RemoteParty {
    std::string node;
    ConnectionId connection = 0;  // on that node
    signal::CallId call{};        // the one call this session exists for
  };
  // Holder side: a call of this session's user that another node owns.
  struct HeldCall {
    signal::CallId id{};
    std::string owner;  // node id
  };
  struct Session {
    std::string remote_ip;
    signal::Challenge challenge{};  // for the next register/login
    // Logged in (user non-empty):
    std::string user;
    std::string device;
    crypto::IdentityPublicKey device_key{};
    signal::Challenge login_challenge{};  // what delete_account signs
    int64_t login_unix_ms = 0;            // HubTime::unix_ms at login: orders logins across nodes
    std::optional<signal::CallId> call;  // a call this hub owns
    std::optional<HeldCall> held;        // or one another node owns (never both)
    std::optional<RemoteParty> remote;   // set: not a connection here (owner side)
    bool logged_in() const { return !user.empty(); }
  };
  // What one entry point produces: frames for this node's connections, and envelopes
  // for other nodes, sent by Finish.
  struct Out {
    std::vector<HubSend> sends;
    std::vector<std::pair<std::string, NodeEnvelope>> envelopes;  // (node, envelope)
  };
  // Where a user's connection is.
  struct Whereabouts {
    enum class Kind { kOffline, kHere, kElsewhere, kUnknown } kind = Kind::kOffline;
    ConnectionId here = 0;    // kHere
    PresenceRecord elsewhere;  // kElsewhere
  };

  void Send(Out& out, ConnectionId to, const signal::Message& message, bool close_after = false) const;
  void SendError(Out& out, ConnectionId to, signal::RequestId id, signal::ErrorCode code,
                 std::string message) const;
  // Sends the envelopes (a failed delivery of a call's message ends that call as if
  // its remote party had left), drops remote sessions whose call ended, and returns
  // the frames for this node's connections.
  std::vector<HubSend> Finish(Out& out, HubTime now);
  void SetNow(HubTime now);
  Whereabouts Locate(const std::string& user);
  // After its grace: the away party of `call`, if logged in again with its device (here
  // or on another node) and in no other call, becomes that connection again.
  enum class Return { kReattached, kGone, kCannotTell };
  Return ReattachAwayParty(Out& out, Call& call);
  // `user` is the away party of a call awaiting its return (busy, as in the call).
  bool AwayInACall(const std::string& user) const;
  // A message to `user` on another node, outside any call (presence).
  void DeliverElsewhere(Out& out, const PresenceRecord& where, const std::string& user, const signal::Message& message);
  // The holder's side of a message its user sent about a call another node owns.
  void ForwardToOwner(Out& out, ConnectionId id, Session& s, const signal::Message& message, std::string_view text);
  // Whether a held call still holds its user's busy claim (else it is forgotten: its
  // owner died). `probe` is a call id the user holds no claim for.
  bool HeldCallIsLive(Session& s, const signal::CallId& probe);
  void OnDeliverEnvelope(Out& out, const NodeEnvelope& envelope);
  void OnReplacedEnvelope(Out& out, const NodeEnvelope& envelope, HubTime now);
  // The remote party of `envelope.call` that the envelope's sender holds, or nullopt.
  std::optional<ConnectionId> RemotePartyOf(const NodeEnvelope& envelope) const;
  void RenewBus(Out& out, HubTime now);
  // This node's presence record of logged-in connection `id` (login time included).
  PresenceRecord PresenceOf(ConnectionId id, const Session& s) const;
  // Acts on a login's presence write: tells the node of the earlier login it replaced
  // elsewhere kReplaced. False if the bus holds a later login instead (the caller
  // closes this login: the newest login wins, whichever write came first).
  bool ApplyPresenceWrite(Out& out, const std::string& user, const PresenceWrite& write);
  // Closes connection `old` here as replaced by a later login (ending its call).
  void CloseReplaced(Out& out, ConnectionId old, HubTime now);
  // The login's presence write again, in one batch, for each login in
  // presence_unrecorded_: those written are renewed normally from then on; those that
  // find a later login yield to it (CloseReplaced); those that fail stay for the next round.
  void RetryUnrecordedPresence(Out& out, HubTime now);
  void ReleaseClaims(const std::string& caller, const std::string& callee, const signal::CallId& call);
  void RecordCallLogged(const CallLogEntry& entry);
  void AddMissedCallLogged(const std::string& user, const CallLogEntry& entry);
  signal::Challenge NextChallenge();

  void Handle(Out& out, ConnectionId id, Session& s, const signal::Message& message, HubTime now);
  void OnRegister(Out& out, ConnectionId id, Session& s, const signal::Register& m, HubTime now);
  void OnLogin(Out& out, ConnectionId id, Session& s, const signal::Login& m, HubTime now);
  // After a failed register/login: the error, then a fresh hello.
  void FailAuth(Out& out, ConnectionId id, signal::RequestId request, signal::ErrorCode code,
                std::string message);
  void LogIn(Out& out, ConnectionId id, Session& s, const std::string& user, const std::string& device,
             const crypto::IdentityPublicKey& key, const signal::Challenge& challenge,
             signal::RequestId request, HubTime now);
  void OnDeleteAccount(Out& out, ConnectionId id, Session& s, const signal::DeleteAccount& m, HubTime now);
  void OnInvite(Out& out, ConnectionId id, Session& s, const signal::Invite& m, HubTime now);
  void OnOffer(Out& out, ConnectionId id, Session& s, const signal::Offer& m, HubTime now);
  void OnAccept(Out& out, ConnectionId id, Session& s, const signal::Accept& m, HubTime now);
  void OnReveal(Out& out, ConnectionId id, Session& s, const signal::Reveal& m);
  void OnDecline(Out& out, ConnectionId id, Session& s, const signal::Decline& m, HubTime now);
  void OnCancel(Out& out, ConnectionId id, Session& s, const signal::Cancel& m, HubTime now);
  void OnHangup(Out& out, ConnectionId id, Session& s, const signal::Hangup& m, HubTime now);
  void OnCandidates(Out& out, ConnectionId id, Session& s, const signal::Candidates& m);
  // Two tickets of a fresh test call id, both to this session; no call, no log, no ring.
  void OnPathTest(Out& out, ConnectionId id, Session& s, const signal::PathTest& m, HubTime now);
  void OnNewAppInvite(Out& out, ConnectionId id, Session& s, const signal::NewAppInvite& m, HubTime now);
  void OnContactsChange(Out& out, ConnectionId id, Session& s, signal::RequestId request,
                        const std::string& other, bool contact, bool add);
  void OnSettings(Out& out, ConnectionId id, Session& s, const signal::Settings& m);
  void OnHistory(Out& out, ConnectionId id, Session& s, const signal::History& m);

  // The call `call_id` if this session is a party of it and may know of it (a callee
  // learns of a call at `incoming`); else sends error{no_such_call} and returns null.
  Call* FindOwnCall(Out& out, ConnectionId id, Session& s, const signal::CallId& call_id,
                    signal::RequestId request);
  // Ends a call: `ended{reason}` to the parties that know of it (the one whose request
  // ended it gets its request id), the call log, a missed call if `missed`, and both
  // sessions freed. `skip` is a connection not to notify (it is going away).
  void EndCall(Out& out, const signal::CallId& call_id, signal::EndReason reason,
               std::optional<CallOutcome> log_as, bool missed, HubTime now,
               std::optional<ConnectionId> requester = std::nullopt,
               signal::RequestId request = std::nullopt, std::optional<ConnectionId> skip = std::nullopt);
  // The party on `leaving` vanished (disconnect, replaced, deleted). Before media the
  // call ends. An active call (keys agreed, media running end to end) does not: the
  // party is marked kAwayParty and the peer is told nothing, since a client whose
  // network changed loses its signaling connection long before its media path (which
  // reconnects by itself). If that user is not logged in again with that device after
  // `away_grace`, the peer gets ended{hangup}; if it is, that connection becomes the
  // party again (ReattachAwayParty). Both stay busy meanwhile. `may_return` false (a
  // deleted account, a failed delivery) ends an active call at once, as before media.
  void EndCallOfLeaving(Out& out, ConnectionId leaving, HubTime now, bool may_return);
  void ForgetSession(ConnectionId id);

  Result<bool> MayCall(const AccountRecord& callee, const std::string& caller);
  // Whether `user`'s p2p setting lets `other` learn its address (a block always says
  // no; a store failure says no).
  bool AllowsP2P(const std::string& user, const std::string& other);
  bool MutuallyVisible(const std::string& a, const std::string& b);
  void AnnouncePresence(Out& out, ConnectionId id, const std::string& user, bool online);
  void RememberCallId(const signal::CallId& call_id);

  Store& store_;
  const RelayTicketIssuer& tickets_;
  HubConfig config_;
  // The one-node default bus and the clock its expiry reads (the last `now` given).
  ManualClock own_bus_clock_;
  std::unique_ptr<NodeBus> own_bus_;
  NodeBus& bus_;
  const bool renews_bus_;  // a bus was given
  std::optional<TimePoint> renew_at_;
  // Logins (connections here, in online_) whose presence write failed: the bus may
  // still name an older login of the same user, which a compare-and-renew would yield
  // to (closing this, the newer login), or a later one made on another node meanwhile.
  // They redo the login's ordered write (RetryUnrecordedPresence) every presence_retry
  // and at each renewal until it is answered. Their ClearPresence at disconnect removes
  // only their own record.
  std::set<ConnectionId> presence_unrecorded_;
  std::optional<TimePoint> presence_retry_at_;  // set while presence_unrecorded_ is not empty
  bool presence_retry_failure_logged_ = false;  // a retry round failed; cleared by one that does not
  int64_t last_login_unix_ms_ = 0;              // the latest Session::login_unix_ms given here
  crypto::SeededKeySource challenge_source_;
  RateLimiter auth_limiter_;
  RateLimiter invite_limiter_;
  RateLimiter message_limiter_;
  RateLimiter path_test_limiter_;  // per user

  std::map<ConnectionId, Session> sessions_;
  std::unordered_map<std::string, ConnectionId> online_;  // logged-in user -> connection
  std::map<signal::CallId, Call> calls_;
  std::size_t remote_sessions_ = 0;
  // Remote parties whose call ended during this event; Finish forgets them.
  std::vector<ConnectionId> remote_parties_left_;
  ConnectionId next_remote_connection_ = kFirstRemoteConnection;
  // Call ids seen recently (bounded), so a reused id cannot collide in the call log.
  std::set<signal::CallId> used_call_ids_;
  std::deque<signal::CallId> used_call_order_;
};

}  // namespace parley::server
