// The signaling hub's rules (docs/protocol.md, "Signaling"): one handler per message
// type, each checking everything before it changes anything.
#include "parley/server/signaling_hub.h"

#include <algorithm>
#include <iterator>
#include <type_traits>
#include <utility>

#include <spdlog/spdlog.h>

#include "parley/base/check.h"
#include "parley/crypto/encoding.h"
#include "parley/crypto/handshake_message.h"
#include "parley/crypto/identity_key.h"
#include "parley/server/in_process_node_bus.h"
#include "parley/server/invite_admin.h"
#include "parley/server/username.h"

namespace parley::server {
namespace {

using signal::EndReason;
using signal::ErrorCode;
using signal::Message;
using signal::RequestId;

constexpr std::size_t kRememberedCallIds = 1 << 16;

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

std::string ConnectionKey(ConnectionId id) { return std::to_string(id); }

// The call id a message carries, if its type has one.
std::optional<signal::CallId> CallIdIn(const Message& message) {
  return std::visit(
      [](const auto& m) -> std::optional<signal::CallId> {
        if constexpr (requires { m.call_id; }) {
          return m.call_id;
        } else {
          return std::nullopt;
        }
      },
      message);
}

// The client messages about a call in progress that a holder forwards to the call's
// owner (an invite starts a call on the caller's own node; everything else is local).
bool IsForwardedCallMessage(const Message& message) {
  return std::holds_alternative<signal::Offer>(message) || std::holds_alternative<signal::Accept>(message) ||
         std::holds_alternative<signal::Reveal>(message) || std::holds_alternative<signal::Decline>(message) ||
         std::holds_alternative<signal::Cancel>(message) || std::holds_alternative<signal::Hangup>(message) ||
         std::holds_alternative<signal::Candidates>(message);
}

// For the operator: a store operation on an account, contacts or settings failed (a
// full disk, a locked database, a store that is down). The client is told too, but
// only the operator can fix it. The store's message names no secret (no keys, no
// signatures); user names stay out of the log.
void LogStoreError(std::string_view what, const Error& error) {
  spdlog::error("The store failed to {} ({}); the client was sent an error.", what, error.message);
}

void LogBusError(std::string_view what, const Error& error) {
  spdlog::error("The node bus failed to {} ({}); calls that need it end as 'unavailable' until it is back.", what,
                error.message);
}

signal::Audience ToWire(Audience a) {
  switch (a) {
    case Audience::kEveryone: return signal::Audience::kEveryone;
    case Audience::kContacts: return signal::Audience::kContacts;
    case Audience::kNobody: return signal::Audience::kNobody;
  }
  return signal::Audience::kNobody;
}

Audience FromWire(signal::Audience a) {
  switch (a) {
    case signal::Audience::kEveryone: return Audience::kEveryone;
    case signal::Audience::kContacts: return Audience::kContacts;
    case signal::Audience::kNobody: return Audience::kNobody;
  }
  return Audience::kNobody;
}

signal::CallOutcome ToWire(CallOutcome o) {
  switch (o) {
    case CallOutcome::kAnswered: return signal::CallOutcome::kAnswered;
    case CallOutcome::kDeclined: return signal::CallOutcome::kDeclined;
    case CallOutcome::kBusy: return signal::CallOutcome::kBusy;
    case CallOutcome::kCancelled: return signal::CallOutcome::kCancelled;
    case CallOutcome::kMissed: return signal::CallOutcome::kMissed;
    case CallOutcome::kFailed: return signal::CallOutcome::kFailed;
  }
  return signal::CallOutcome::kFailed;
}

// Store rows to wire records; rows the wire cannot carry (which only a damaged store
// could hold) are left out rather than failing the whole reply.
std::vector<signal::CallRecord> ToWire(const std::vector<CallLogEntry>& entries) {
  std::vector<signal::CallRecord> out;
  for (const auto& e : entries) {
    if (out.size() >= signal::kMaxListEntries) break;
    auto id = crypto::FromBase64(e.call_id);
    if (!id.ok() || id->size() != 16) continue;
    if (e.caller.empty() || e.caller.size() > signal::kMaxNameBytes || e.callee.empty() ||
        e.callee.size() > signal::kMaxNameBytes) {
      continue;
    }
    auto ms = [](int64_t v) { return std::clamp<int64_t>(v, 0, static_cast<int64_t>(signal::kMaxRequestId)); };
    signal::CallRecord r;
    std::copy(id->begin(), id->end(), r.call_id.begin());
    r.caller = e.caller;
    r.callee = e.callee;
    r.started_unix_ms = ms(e.started_unix_ms);
    r.answered_unix_ms = ms(e.answered_unix_ms);
    r.ended_unix_ms = ms(e.ended_unix_ms);
    r.outcome = ToWire(e.outcome);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> CapList(std::vector<std::string> names) {
  std::erase_if(names, [](const std::string& n) { return n.empty() || n.size() > signal::kMaxNameBytes; });
  if (names.size() > signal::kMaxListEntries) names.resize(signal::kMaxListEntries);
  return names;
}

// The key-agreement message inside a signaling field must be of the expected type and
// carry the call id of the message that carries it.
bool IsHandshakeFor(const std::vector<uint8_t>& bytes, crypto::HandshakeType type, const signal::CallId& call_id) {
  auto parsed = crypto::ParseHandshakeMessage(bytes);
  return parsed.ok() && parsed->type == type && parsed->call_id == call_id;
}

// The relays of one accepted call, best first: the chooser's answer, else the
// configured relay and its alternates; never more than 1 + kMaxRelayAlternates.
std::vector<signal::RelayAddress> RelaysForCall(const HubConfig& config) {
  std::vector<signal::RelayAddress> relays;
  if (config.choose_relays) relays = config.choose_relays();
  if (relays.empty()) {
    relays.push_back({config.relay_host, config.relay_port});
    relays.insert(relays.end(), config.relay_alternates.begin(), config.relay_alternates.end());
  }
  if (relays.size() > 1 + signal::kMaxRelayAlternates) relays.resize(1 + signal::kMaxRelayAlternates);
  return relays;
}

// The bus key a call id is claimed under (see OnInvite): "call:" and the id in
// base64url, which no username can equal.
std::string CallIdClaimKey(const signal::CallId& call_id) { return "call:" + crypto::ToBase64(call_id); }

}  // namespace

SignalingHub::SignalingHub(Store& store, const RelayTicketIssuer& tickets, HubConfig config,
                           std::array<uint8_t, 32> challenge_seed, NodeBus* bus)
    : store_(store),
      tickets_(tickets),
      config_(std::move(config)),
      own_bus_(bus == nullptr ? std::make_unique<InProcessNodeBus>("local", own_bus_clock_) : nullptr),
      bus_(bus == nullptr ? *own_bus_ : *bus),
      renews_bus_(bus != nullptr),
      challenge_source_(std::span<const uint8_t, 32>(challenge_seed)),
      auth_limiter_(config_.auth_per_ip),
      invite_limiter_(config_.invites_per_caller),
      message_limiter_(config_.messages_per_connection),
      path_test_limiter_(config_.path_tests_per_user) {
  PARLEY_CHECK_MSG(!config_.server_name.empty() && config_.server_name.size() <= 255,
                   "HubConfig.server_name must be 1..255 bytes");
  PARLEY_CHECK_MSG(!config_.relay_host.empty() && config_.relay_host.size() <= signal::kMaxHostBytes &&
                       config_.relay_port != 0,
                   "HubConfig needs relay_host and relay_port");
  PARLEY_CHECK(config_.ring_timeout > Duration::zero());
  PARLEY_CHECK(config_.bus_refresh > Duration::zero() && config_.bus_refresh < config_.presence_ttl &&
               config_.bus_refresh < config_.busy_ttl);
}

// --- Output -------------------------------------------------------------------------

void SignalingHub::Send(Out& out, ConnectionId to, const Message& message, bool close_after) const {
  if (to == kAwayParty) return;  // nobody to tell: its client learns on the media path
  if (to >= kFirstRemoteConnection) {
    auto it = sessions_.find(to);
    PARLEY_CHECK(it != sessions_.end() && it->second.remote);
    const Session& s = it->second;
    NodeEnvelope envelope;
    envelope.kind = NodeEnvelope::Kind::kDeliver;
    envelope.from_node = bus_.node_id();
    envelope.connection = s.remote->connection;
    envelope.user = s.user;
    envelope.call = s.remote->call;
    envelope.ends_call = std::holds_alternative<signal::Ended>(message);
    envelope.text = signal::SerializeMessage(message);
    out.envelopes.emplace_back(s.remote->node, std::move(envelope));
    return;
  }
  out.sends.push_back(HubSend{to, signal::SerializeMessage(message), close_after});
}

void SignalingHub::SendError(Out& out, ConnectionId to, RequestId id, ErrorCode code, std::string message) const {
  if (message.size() > signal::kMaxTextBytes) message.resize(signal::kMaxTextBytes);
  Send(out, to, signal::ErrorReply{id, code, std::move(message)});
}

signal::Challenge SignalingHub::NextChallenge() {
  signal::Challenge challenge{};
  challenge_source_.Fill(challenge);
  return challenge;
}

// --- Connections --------------------------------------------------------------------

std::vector<HubSend> SignalingHub::OnConnect(ConnectionId id, const std::string& remote_ip, HubTime now) {
  PARLEY_CHECK_MSG(sessions_.count(id) == 0, "OnConnect with a connection id already in use");
  PARLEY_CHECK_MSG(id < kFirstRemoteConnection, "OnConnect with a connection id from the remote parties' range");
  SetNow(now);
  Session& s = sessions_[id];
  s.remote_ip = remote_ip;
  s.challenge = NextChallenge();
  Out out;
  Send(out, id, signal::Hello{std::nullopt, s.challenge, config_.server_name});
  return Finish(out, now);
}

std::vector<HubSend> SignalingHub::OnDisconnect(ConnectionId id, HubTime now) {
  SetNow(now);
  Out out;
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.remote) return Finish(out, now);
  if (it->second.logged_in()) {
    EndCallOfLeaving(out, id, now, /*may_return=*/true);
    AnnouncePresence(out, id, it->second.user, /*online=*/false);
  }
  ForgetSession(id);
  return Finish(out, now);
}

void SignalingHub::SetNow(HubTime now) {
  own_bus_clock_.Set(now.steady);
  if (!renew_at_) renew_at_ = now.steady + config_.bus_refresh;
}

std::vector<HubSend> SignalingHub::Finish(Out& out, HubTime now) {
  // A failed delivery can end a call, whose `ended` may need another envelope.
  while (!out.envelopes.empty()) {
    auto envelopes = std::exchange(out.envelopes, {});
    for (auto& [node, envelope] : envelopes) {
      Status sent = bus_.Send(node, envelope);
      if (sent.ok()) continue;
      LogBusError("send a message to node '" + node + "'", sent.error());
      if (envelope.kind != NodeEnvelope::Kind::kDeliver || !envelope.call || envelope.ends_call) continue;
      NodeEnvelope as_undeliverable = envelope;
      as_undeliverable.from_node = node;
      if (auto party = RemotePartyOf(as_undeliverable)) EndCallOfLeaving(out, *party, now, /*may_return=*/false);
    }
  }
  // Only the remote parties whose call just ended: a walk over every session here cost
  // each event time in proportion to the node's connections (10,000 in the load bench).
  for (ConnectionId id : std::exchange(remote_parties_left_, {})) {
    auto it = sessions_.find(id);
    if (it != sessions_.end() && it->second.remote && !it->second.call) {
      sessions_.erase(it);
      --remote_sessions_;
    }
  }
  return std::move(out.sends);
}

void SignalingHub::ForgetSession(ConnectionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  PARLEY_CHECK_MSG(!it->second.call.has_value() && !it->second.held.has_value(),
                   "a session is forgotten while in a call");
  PARLEY_CHECK(!it->second.remote);
  if (it->second.logged_in()) {
    auto online = online_.find(it->second.user);
    if (online != online_.end() && online->second == id) online_.erase(online);
    if (presence_unrecorded_.erase(id) != 0 && presence_unrecorded_.empty()) presence_retry_at_.reset();
    // Only this connection's own record: a login whose presence write failed may have
    // left an older login's record in place, which stays.
    if (Status cleared = bus_.ClearPresence(it->second.user, PresenceOf(id, it->second)); !cleared.ok()) {
      LogBusError("clear a user's presence", cleared.error());
    }
  }
  message_limiter_.Forget(ConnectionKey(id));
  sessions_.erase(it);
}

std::vector<HubSend> SignalingHub::OnMessage(ConnectionId id, std::string_view text, HubTime now) {
  SetNow(now);
  Out out;
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.remote) return Finish(out, now);
  Session& s = it->second;
  if (!message_limiter_.Allow(ConnectionKey(id), now.steady)) {
    SendError(out, id, std::nullopt, ErrorCode::kRateLimited,
              "You are sending messages too fast; this one was ignored.");
    return Finish(out, now);
  }
  auto parsed = signal::ParseMessage(text);
  if (!parsed.ok()) {
    const signal::RequestPeek peek = signal::PeekRequest(text);
    const bool unknown = peek.type.has_value() && !signal::IsKnownType(*peek.type);
    SendError(out, id, peek.id, unknown ? ErrorCode::kUnknownType : ErrorCode::kBadMessage,
              parsed.error().message);
    return Finish(out, now);
  }
  const Message& message = *parsed;
  if (!signal::IsClientMessage(message)) {
    SendError(out, id, signal::MessageId(message), ErrorCode::kUnexpected,
              "The server does not accept '" + std::string(signal::MessageType(message)) +
                  "' messages; they go from the server to clients.");
    return Finish(out, now);
  }
  if (s.held && IsForwardedCallMessage(message) && CallIdIn(message) == s.held->id) {
    ForwardToOwner(out, id, s, message, text);
  } else {
    Handle(out, id, s, message, now);
  }
  return Finish(out, now);
}

void SignalingHub::Handle(Out& out, ConnectionId id, Session& s, const Message& message, HubTime now) {
  const RequestId request = signal::MessageId(message);
  const bool auth = std::holds_alternative<signal::Register>(message) || std::holds_alternative<signal::Login>(message);
  if (auth && s.logged_in()) {
    return SendError(out, id, request, ErrorCode::kAlreadyLoggedIn,
                     "You are already logged in as " + Quoted(s.user) + " on this connection.");
  }
  if (!auth && !s.logged_in()) {
    return SendError(out, id, request, ErrorCode::kNotLoggedIn,
                     "Log in or register first; only 'register' and 'login' are accepted before that.");
  }
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, signal::Register>) {
          OnRegister(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Login>) {
          OnLogin(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::DeleteAccount>) {
          OnDeleteAccount(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Invite>) {
          OnInvite(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Offer>) {
          OnOffer(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Accept>) {
          OnAccept(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Reveal>) {
          OnReveal(out, id, s, m);
        } else if constexpr (std::is_same_v<T, signal::Decline>) {
          OnDecline(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Cancel>) {
          OnCancel(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Hangup>) {
          OnHangup(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::Candidates>) {
          OnCandidates(out, id, s, m);
        } else if constexpr (std::is_same_v<T, signal::PathTest>) {
          OnPathTest(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::NewAppInvite>) {
          OnNewAppInvite(out, id, s, m, now);
        } else if constexpr (std::is_same_v<T, signal::ContactsAdd>) {
          OnContactsChange(out, id, s, m.id, m.user, /*contact=*/true, /*add=*/true);
        } else if constexpr (std::is_same_v<T, signal::ContactsRemove>) {
          OnContactsChange(out, id, s, m.id, m.user, /*contact=*/true, /*add=*/false);
        } else if constexpr (std::is_same_v<T, signal::BlockUser>) {
          OnContactsChange(out, id, s, m.id, m.user, /*contact=*/false, /*add=*/true);
        } else if constexpr (std::is_same_v<T, signal::UnblockUser>) {
          OnContactsChange(out, id, s, m.id, m.user, /*contact=*/false, /*add=*/false);
        } else if constexpr (std::is_same_v<T, signal::ContactsList>) {
          auto list = store_.Contacts(s.user);
          if (!list.ok()) {
            return SendError(out, id, m.id, ErrorCode::kInternal,
                             "The server could not read your contacts; try again later.");
          }
          Send(out, id, signal::ContactList{m.id, CapList(std::move(list).value())});
        } else if constexpr (std::is_same_v<T, signal::Blocks>) {
          auto list = store_.BlockList(s.user);
          if (!list.ok()) {
            return SendError(out, id, m.id, ErrorCode::kInternal,
                             "The server could not read your block list; try again later.");
          }
          Send(out, id, signal::BlockList{m.id, CapList(std::move(list).value())});
        } else if constexpr (std::is_same_v<T, signal::Settings>) {
          OnSettings(out, id, s, m);
        } else if constexpr (std::is_same_v<T, signal::History>) {
          OnHistory(out, id, s, m);
        } else {
          // Server-to-client types were refused before; nothing else exists.
          PARLEY_CHECK_MSG(false, "client message without a handler");
        }
      },
      message);
}

// --- Accounts -----------------------------------------------------------------------

void SignalingHub::FailAuth(Out& out, ConnectionId id, RequestId request, ErrorCode code, std::string message) {
  SendError(out, id, request, code, std::move(message));
  Session& s = sessions_.at(id);
  Send(out, id, signal::Hello{std::nullopt, s.challenge, config_.server_name});
}

void SignalingHub::OnRegister(Out& out, ConnectionId id, Session& s, const signal::Register& m, HubTime now) {
  if (!auth_limiter_.Allow(s.remote_ip, now.steady)) {
    return SendError(out, id, m.id, ErrorCode::kRateLimited,
                     "Too many login attempts from your address; wait a minute and try again.");
  }
  // Every attempt uses the challenge up.
  const signal::Challenge challenge = s.challenge;
  s.challenge = NextChallenge();
  if (Status valid = ValidateUsername(m.user); !valid.ok()) {
    return FailAuth(out, id, m.id, ErrorCode::kInvalidUsername, valid.error().message);
  }
  if (Status valid = signal::ValidateDeviceName(m.device); !valid.ok()) {
    return FailAuth(out, id, m.id, ErrorCode::kInvalidDevice, valid.error().message);
  }
  const auto signed_bytes =
      signal::AuthSignedBytes(signal::AuthPurpose::kRegister, challenge, m.user, m.device, config_.server_name);
  if (!crypto::IdentityKey::Verify(m.identity_key, signed_bytes, m.signature)) {
    return FailAuth(out, id, m.id, ErrorCode::kBadSignature,
                    "The registration signature does not verify; sign the latest hello challenge with the "
                    "identity key you register.");
  }
  auto existing = store_.FindAccount(m.user);
  if (!existing.ok()) {
    LogStoreError("look up a name for a registration", existing.error());
    return FailAuth(out, id, m.id, ErrorCode::kInternal, "The server could not check the name; try again later.");
  }
  if (existing->has_value()) {
    return FailAuth(out, id, m.id, ErrorCode::kUsernameTaken,
                    "The username " + Quoted(m.user) + " is taken; choose another.");
  }
  if (Status created = store_.CreateAccount(m.user, DeviceRecord{m.device, m.identity_key}, now.unix_ms);
      !created.ok()) {
    LogStoreError("create an account", created.error());
    return FailAuth(out, id, m.id, ErrorCode::kInternal,
                    "The server could not create the account: " + created.error().message);
  }
  LogIn(out, id, s, m.user, m.device, m.identity_key, challenge, m.id, now);
}

void SignalingHub::OnLogin(Out& out, ConnectionId id, Session& s, const signal::Login& m, HubTime now) {
  if (!auth_limiter_.Allow(s.remote_ip, now.steady)) {
    return SendError(out, id, m.id, ErrorCode::kRateLimited,
                     "Too many login attempts from your address; wait a minute and try again.");
  }
  const signal::Challenge challenge = s.challenge;
  s.challenge = NextChallenge();
  auto account = store_.FindAccount(m.user);
  if (!account.ok()) {
    LogStoreError("look up an account for a login", account.error());
    return FailAuth(out, id, m.id, ErrorCode::kInternal, "The server could not look up the account; try again later.");
  }
  if (!account->has_value()) {
    return FailAuth(out, id, m.id, ErrorCode::kNoSuchAccount,
                    "There is no account named " + Quoted(m.user) + " on this server; check the name or register.");
  }
  const auto& devices = (*account)->devices;
  auto device = std::find_if(devices.begin(), devices.end(), [&](const DeviceRecord& d) { return d.device == m.device; });
  if (device == devices.end()) {
    return FailAuth(out, id, m.id, ErrorCode::kNoSuchAccount,
                    "The account " + Quoted(m.user) + " has no device named " + Quoted(m.device) +
                        "; log in from a registered device.");
  }
  const auto signed_bytes =
      signal::AuthSignedBytes(signal::AuthPurpose::kLogin, challenge, m.user, m.device, config_.server_name);
  if (!crypto::IdentityKey::Verify(device->identity_key, signed_bytes, m.signature)) {
    return FailAuth(out, id, m.id, ErrorCode::kBadSignature,
                    "The login signature does not verify; sign the latest hello challenge with this device's "
                    "identity key.");
  }
  // One connection per user: the newest login wins.
  if (auto online = online_.find(m.user); online != online_.end()) {
    const ConnectionId old = online->second;
    EndCallOfLeaving(out, old, now, /*may_return=*/true);
    SendError(out, old, std::nullopt, ErrorCode::kReplaced,
              "You logged in as " + Quoted(m.user) + " from another connection; this one is closed.");
    out.sends.back().close_after = true;
    ForgetSession(old);
  }
  LogIn(out, id, s, m.user, m.device, device->identity_key, challenge, m.id, now);
}

void SignalingHub::LogIn(Out& out, ConnectionId id, Session& s, const std::string& user, const std::string& device,
                         const crypto::IdentityPublicKey& key, const signal::Challenge& challenge,
                         RequestId request, HubTime now) {
  s.user = user;
  s.device = device;
  s.device_key = key;
  s.login_challenge = challenge;
  // Monotonic on this node: a wall clock stepped back must not order a login here
  // before the one it just replaced here.
  s.login_unix_ms = last_login_unix_ms_ = std::max({now.unix_ms, last_login_unix_ms_, int64_t{0}});
  online_[user] = id;
  // The login goes on without the bus (calls to this user from other nodes fail until
  // the record is there), and its presence step is redone until it succeeds.
  auto write = bus_.SetPresence(user, PresenceOf(id, s), config_.presence_ttl);
  if (!write.ok()) {
    LogBusError("record a login (it is written again until the bus answers)", write.error());
    presence_unrecorded_.insert(id);
    if (!presence_retry_at_) presence_retry_at_ = now.steady + config_.presence_retry;
  } else if (!ApplyPresenceWrite(out, user, *write)) {
    // A later login on another node holds the bus: only when that node's clock is ahead
    // of this one's by more than the time between the two logins (docs/security.md).
    SendError(out, id, request, ErrorCode::kReplaced,
              "You logged in as " + Quoted(user) + " from another connection; this one is closed.");
    out.sends.back().close_after = true;
    online_.erase(user);
    ForgetSession(id);
    return;
  }
  std::vector<signal::CallRecord> missed;
  // A failed take leaves the missed calls stored for the next login.
  if (auto taken = store_.TakeMissedCalls(user); taken.ok()) missed = ToWire(*taken);
  Send(out, id, signal::Welcome{request, user, device, std::move(missed)});
  AnnouncePresence(out, id, user, /*online=*/true);
}

PresenceRecord SignalingHub::PresenceOf(ConnectionId id, const Session& s) const {
  return PresenceRecord{bus_.node_id(), id, s.device, s.login_unix_ms};
}

bool SignalingHub::ApplyPresenceWrite(Out& out, const std::string& user, const PresenceWrite& write) {
  if (!write.written) return false;
  // The newest login wins across nodes too: an earlier connection elsewhere is closed.
  // An earlier record of this node's is a connection already closed here (OnLogin).
  if (write.other && write.other->node != bus_.node_id()) {
    NodeEnvelope replaced;
    replaced.kind = NodeEnvelope::Kind::kReplaced;
    replaced.from_node = bus_.node_id();
    replaced.connection = write.other->connection;
    replaced.user = user;
    out.envelopes.emplace_back(write.other->node, std::move(replaced));
  }
  return true;
}

void SignalingHub::CloseReplaced(Out& out, ConnectionId old, HubTime now) {
  const std::string user = sessions_.at(old).user;
  EndCallOfLeaving(out, old, now, /*may_return=*/true);
  SendError(out, old, std::nullopt, ErrorCode::kReplaced,
            "You logged in as " + Quoted(user) + " from another connection; this one is closed.");
  out.sends.back().close_after = true;
  if (auto online = online_.find(user); online != online_.end() && online->second == old) {
    online_.erase(online);  // the bus record is the other login's now
  }
  ForgetSession(old);
}

void SignalingHub::RetryUnrecordedPresence(Out& out, HubTime now) {
  // One batch (pipelined on Redis); an entry's own error leaves the others unaffected.
  const std::vector<ConnectionId> ids(presence_unrecorded_.begin(), presence_unrecorded_.end());
  std::vector<PresenceRenewal> logins;
  logins.reserve(ids.size());
  for (ConnectionId id : ids) {
    const Session& s = sessions_.at(id);
    logins.push_back(PresenceRenewal{s.user, PresenceOf(id, s)});
  }
  auto writes = bus_.SetPresences(logins, config_.presence_ttl);
  PARLEY_CHECK(writes.size() == logins.size());
  std::optional<Error> failure;
  std::size_t failed = 0;
  std::vector<ConnectionId> yielding;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (!writes[i].ok()) {
      if (!failure) failure = writes[i].error();
      ++failed;
      continue;
    }
    presence_unrecorded_.erase(ids[i]);
    // A later login (on another node, made while this one's write failed) stays: this
    // one yields to it, as a renewal does.
    if (!ApplyPresenceWrite(out, logins[i].user, *writes[i])) yielding.push_back(ids[i]);
  }
  for (ConnectionId id : yielding) CloseReplaced(out, id, now);
  if (failure) {
    // One line per outage: while the bus is away every round fails alike.
    if (!std::exchange(presence_retry_failure_logged_, true)) {
      LogBusError("record " + std::to_string(failed) +
                      " logins made while it was away (retried every few seconds; logged once until they succeed)",
                  *failure);
    }
  } else {
    presence_retry_failure_logged_ = false;
  }
  presence_retry_at_.reset();
  if (!presence_unrecorded_.empty()) presence_retry_at_ = now.steady + config_.presence_retry;
}

void SignalingHub::OnDeleteAccount(Out& out, ConnectionId id, Session& s, const signal::DeleteAccount& m,
                                   HubTime now) {
  const auto signed_bytes = signal::AuthSignedBytes(signal::AuthPurpose::kDeleteAccount, s.login_challenge, s.user,
                                                    s.device, config_.server_name);
  if (!crypto::IdentityKey::Verify(s.device_key, signed_bytes, m.signature)) {
    return SendError(out, id, m.id, ErrorCode::kBadSignature,
                     "The deletion signature does not verify; sign this connection's login challenge with "
                     "this device's identity key.");
  }
  // Presence is computed while the lists still exist; it goes out only if the
  // deletion succeeds.
  Out presence;
  AnnouncePresence(presence, id, s.user, /*online=*/false);
  if (Status deleted = store_.DeleteAccount(s.user); !deleted.ok()) {
    LogStoreError("delete an account", deleted.error());
    return SendError(out, id, m.id, ErrorCode::kInternal,
                     "The server could not delete the account; nothing was deleted, try again later.");
  }
  EndCallOfLeaving(out, id, now, /*may_return=*/false);
  out.sends.insert(out.sends.end(), presence.sends.begin(), presence.sends.end());
  out.envelopes.insert(out.envelopes.end(), presence.envelopes.begin(), presence.envelopes.end());
  Send(out, id, signal::OkReply{m.id}, /*close_after=*/true);
  ForgetSession(id);
}

// --- Calls --------------------------------------------------------------------------

Result<bool> SignalingHub::MayCall(const AccountRecord& callee, const std::string& caller) {
  auto blocked = store_.IsBlocked(callee.user, caller);
  if (!blocked.ok()) return blocked.error();
  if (*blocked) return false;
  switch (callee.who_may_call) {
    case Audience::kEveryone: return true;
    case Audience::kNobody: return false;
    case Audience::kContacts: return store_.IsContact(callee.user, caller);
  }
  return false;
}

void SignalingHub::RememberCallId(const signal::CallId& call_id) {
  if (!used_call_ids_.insert(call_id).second) return;
  used_call_order_.push_back(call_id);
  if (used_call_order_.size() > kRememberedCallIds) {
    used_call_ids_.erase(used_call_order_.front());
    used_call_order_.pop_front();
  }
}

void SignalingHub::OnInvite(Out& out, ConnectionId id, Session& s, const signal::Invite& m, HubTime now) {
  if (s.call || (s.held && HeldCallIsLive(s, m.call_id))) {
    return SendError(out, id, m.id, ErrorCode::kInCall, "You are already in a call; hang up before calling again.");
  }
  if (used_call_ids_.count(m.call_id) != 0 || calls_.count(m.call_id) != 0) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed,
                     "This call id was used before; start every call with a new random call id.");
  }
  if (m.to == s.user) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "You cannot call yourself.");
  }
  RememberCallId(m.call_id);
  auto ended = [&](EndReason reason) { Send(out, id, signal::Ended{m.id, m.call_id, reason}); };
  // Before the callee is looked up, so a refused callee and a missing one cost the same.
  if (!invite_limiter_.Allow(s.user, now.steady)) return ended(EndReason::kRateLimited);
  // Call ids are chosen by clients, and a relay pairs a call's two participants by id
  // alone: an id in use on another node must be refused as one used here is. So every
  // invite claims its id on the bus for as long as the call's tickets can live, under a
  // key no username can take (':' is not allowed in names). Never renewed or released:
  // it expires with the tickets. After the rate limit, so invites cannot flood the bus.
  if (renews_bus_) {
    auto id_claim = bus_.ClaimBusy(CallIdClaimKey(m.call_id), m.call_id,
                                   config_.ticket_lifetime + 2 * config_.ring_timeout);
    if (!id_claim.ok()) {
      LogBusError("claim a call id", id_claim.error());
      return ended(EndReason::kUnavailable);
    }
    if (!*id_claim) {
      return SendError(out, id, m.id, ErrorCode::kNotAllowed,
                       "This call id was used before; start every call with a new random call id.");
    }
  }

  auto account = store_.FindAccount(m.to);
  if (!account.ok()) return ended(EndReason::kFailed);
  if (!account->has_value()) {
    // The same store queries as for a refused caller, so the answer also takes about
    // as long (their results are meaningless here).
    (void)store_.IsBlocked(m.to, s.user);
    (void)store_.IsContact(m.to, s.user);
    return ended(EndReason::kNotFound);
  }
  auto may_call = MayCall(**account, s.user);
  if (!may_call.ok()) return ended(EndReason::kFailed);
  // Exactly the answer a nonexistent user gets, and nothing logged.
  if (!*may_call) return ended(EndReason::kNotFound);

  CallLogEntry entry;
  entry.call_id = crypto::ToBase64(m.call_id);
  entry.caller = s.user;
  entry.callee = m.to;
  entry.started_unix_ms = now.unix_ms;
  entry.ended_unix_ms = now.unix_ms;
  const Whereabouts where = Locate(m.to);
  if (where.kind == Whereabouts::Kind::kUnknown) return ended(EndReason::kUnavailable);
  if (where.kind == Whereabouts::Kind::kOffline) {
    entry.outcome = CallOutcome::kMissed;
    RecordCallLogged(entry);
    AddMissedCallLogged(m.to, entry);
    return ended(EndReason::kUnavailable);
  }
  auto busy = [&] {
    entry.outcome = CallOutcome::kBusy;
    RecordCallLogged(entry);
    return ended(EndReason::kBusy);
  };
  Session* local_callee = where.kind == Whereabouts::Kind::kHere ? &sessions_.at(where.here) : nullptr;
  if ((local_callee != nullptr && local_callee->call) || AwayInACall(m.to)) return busy();
  if (AwayInACall(s.user)) {
    return SendError(out, id, m.id, ErrorCode::kInCall, "You are already in a call; hang up before calling again.");
  }
  // Both parties' claims, so no node can put either into a second call meanwhile.
  auto callee_claim = bus_.ClaimBusy(m.to, m.call_id, config_.busy_ttl);
  if (!callee_claim.ok()) {
    LogBusError("claim a callee for a call", callee_claim.error());
    return ended(EndReason::kUnavailable);
  }
  if (!*callee_claim) return busy();
  auto caller_claim = bus_.ClaimBusy(s.user, m.call_id, config_.busy_ttl);
  if (!caller_claim.ok() || !*caller_claim) {
    if (Status released = bus_.ReleaseBusy(m.to, m.call_id); !released.ok()) {
      LogBusError("release a callee's claim", released.error());
    }
    if (!caller_claim.ok()) {
      LogBusError("claim a caller for a call", caller_claim.error());
      return ended(EndReason::kUnavailable);
    }
    return SendError(out, id, m.id, ErrorCode::kInCall, "You are already in a call; hang up before calling again.");
  }
  ConnectionId callee_connection = where.here;
  std::string callee_device;
  if (local_callee != nullptr) {
    local_callee->held.reset();  // its owner died: the claim had expired
    callee_device = local_callee->device;
  } else {
    callee_connection = next_remote_connection_++;
    Session& remote = sessions_[callee_connection];
    remote.user = m.to;
    remote.device = where.elsewhere.device;
    remote.remote = RemoteParty{where.elsewhere.node, where.elsewhere.connection, m.call_id};
    ++remote_sessions_;
    local_callee = &remote;
    callee_device = remote.device;
    // A delivery without text: the holder learns of the call now, so that its user's
    // leaving ends it even before `incoming` (as on one node), and tells nobody.
    NodeEnvelope watch;
    watch.kind = NodeEnvelope::Kind::kDeliver;
    watch.from_node = bus_.node_id();
    watch.connection = where.elsewhere.connection;
    watch.user = m.to;
    watch.call = m.call_id;
    out.envelopes.emplace_back(where.elsewhere.node, std::move(watch));
  }
  Session& callee = *local_callee;
  Call call;
  call.id = m.call_id;
  call.caller = s.user;
  call.callee = m.to;
  call.caller_device = s.device;
  call.callee_device = callee_device;
  call.caller_connection = id;
  call.callee_connection = callee_connection;
  call.state = CallState::kRouting;
  call.deadline = now.steady + config_.ring_timeout;
  call.started_unix_ms = now.unix_ms;
  calls_.emplace(m.call_id, call);
  s.call = m.call_id;
  callee.call = m.call_id;
  Send(out, id, signal::Route{m.id, m.call_id, call.callee_device});
}

SignalingHub::Call* SignalingHub::FindOwnCall(Out& out, ConnectionId id, Session& s, const signal::CallId& call_id,
                                              RequestId request) {
  auto it = calls_.find(call_id);
  const bool known = s.call == call_id && it != calls_.end() &&
                     (it->second.caller_connection == id ||
                      (it->second.callee_connection == id && it->second.state != CallState::kRouting));
  if (!known) {
    SendError(out, id, request, ErrorCode::kNoSuchCall,
              "You are not in a call with that call id; it may have ended already.");
    return nullptr;
  }
  return &it->second;
}

void SignalingHub::OnOffer(Out& out, ConnectionId id, Session& s, const signal::Offer& m, HubTime now) {
  Call* call = FindOwnCall(out, id, s, m.call_id, m.id);
  if (call == nullptr) return;
  if (call->caller_connection != id) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "Only the caller sends the offer of a call.");
  }
  if (call->state != CallState::kRouting) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "This call's offer was sent already.");
  }
  if (!IsHandshakeFor(m.commit, crypto::HandshakeType::kCommit, m.call_id)) {
    return SendError(out, id, m.id, ErrorCode::kBadMessage,
                     "Field 'commit' is not a key-agreement commit for this call id.");
  }
  call->state = CallState::kRinging;
  call->deadline = now.steady + config_.ring_timeout;
  Send(out, call->callee_connection,
       signal::Incoming{std::nullopt, call->id, call->caller, call->caller_device, m.commit});
  Send(out, id, signal::Ringing{m.id, call->id});
}

void SignalingHub::OnAccept(Out& out, ConnectionId id, Session& s, const signal::Accept& m, HubTime now) {
  Call* call = FindOwnCall(out, id, s, m.call_id, m.id);
  if (call == nullptr) return;
  if (call->callee_connection != id) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "Only the callee can accept a call.");
  }
  if (call->state != CallState::kRinging) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "This call was accepted already.");
  }
  if (!IsHandshakeFor(m.key, crypto::HandshakeType::kAccept, m.call_id)) {
    return SendError(out, id, m.id, ErrorCode::kBadMessage,
                     "Field 'key' is not a key-agreement accept for this call id.");
  }
  call->state = CallState::kAccepted;
  call->answered_unix_ms = now.unix_ms;
  call->p2p_allowed = AllowsP2P(call->caller, call->callee) && AllowsP2P(call->callee, call->caller);
  Send(out, call->caller_connection, signal::Accepted{std::nullopt, call->id, m.key});
  const int64_t expires =
      now.unix_ms / 1000 + std::chrono::duration_cast<std::chrono::seconds>(config_.ticket_lifetime).count();
  // Both parties get the same relays in the same order, so a failover meets.
  const std::vector<signal::RelayAddress> relays = RelaysForCall(config_);
  for (uint8_t participant : {uint8_t{0}, uint8_t{1}}) {
    const ConnectionId to = participant == 0 ? call->caller_connection : call->callee_connection;
    auto ticket = tickets_.Issue(RelayTicketClaims{call->id, participant, expires, now.unix_ms});
    // Only this participant gets its ticket's hop key; every client gets the bind key.
    const crypto::Secret<32> hop_key = tickets_.HopKey(ticket);
    const std::array<uint8_t, 32>& bind_key = tickets_.bind_key();
    // The callee's relay message is the reply to its accept.
    Send(out, to,
         signal::Relay{participant == 1 ? m.id : std::nullopt, call->id, relays.front().host, relays.front().port,
                       std::move(ticket), call->p2p_allowed, {hop_key.data(), hop_key.data() + hop_key.size()},
                       {bind_key.begin(), bind_key.end()}, {relays.begin() + 1, relays.end()}});
  }
}

void SignalingHub::OnPathTest(Out& out, ConnectionId id, Session& s, const signal::PathTest& m, HubTime now) {
  if (!path_test_limiter_.Allow(s.user, now.steady)) {
    return SendError(out, id, m.id, ErrorCode::kRateLimited,
                     "Too many path tests in a short time; wait a minute and run the test again.");
  }
  // A call id nobody else holds: the relay forwards only between the two tickets of
  // it, and both go to this session, so the test can reach no one else. Nothing is
  // stored: the test call is not in calls_ and never in the call log.
  signal::CallId call_id{};
  challenge_source_.Fill(call_id);
  const int64_t expires =
      now.unix_ms / 1000 +
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(config_.path_test_ticket_lifetime).count());
  signal::PathTestTickets reply;
  reply.id = m.id;
  reply.call_id = call_id;
  reply.host = config_.relay_host;
  reply.port = config_.relay_port;
  for (uint8_t participant : {uint8_t{0}, uint8_t{1}}) {
    auto ticket = tickets_.Issue(RelayTicketClaims{call_id, participant, expires, now.unix_ms});
    const crypto::Secret<32> hop_key = tickets_.HopKey(ticket);
    std::vector<uint8_t> hop(hop_key.data(), hop_key.data() + hop_key.size());
    (participant == 0 ? reply.ticket_0 : reply.ticket_1) = std::move(ticket);
    (participant == 0 ? reply.hop_key_0 : reply.hop_key_1) = std::move(hop);
  }
  const std::array<uint8_t, 32>& bind_key = tickets_.bind_key();
  reply.bind_key.assign(bind_key.begin(), bind_key.end());
  Send(out, id, reply);
}

void SignalingHub::OnNewAppInvite(Out& out, ConnectionId id, Session& s, const signal::NewAppInvite& m,
                                  HubTime now) {
  if (config_.app_invites_per_day <= 0) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed,
                     "On this server only the operator makes web app invites; ask them for a link.");
  }
  // The count is of live invites in the store, so it holds across restarts and
  // connections, and a revoked invite gives its slot back.
  const int64_t day_ago = now.unix_ms - 24 * 3600 * 1000;
  auto made = store_.CountInvitesBy(s.user, day_ago);
  if (!made.ok()) {
    return SendError(out, id, m.id, ErrorCode::kInternal, "The server could not make an invite; try again later.");
  }
  if (*made >= config_.app_invites_per_day) {
    return SendError(out, id, m.id, ErrorCode::kRateLimited,
                     "You made " + std::to_string(*made) +
                         " web app invites in the last 24 hours, the most this server allows; use one of "
                         "those, or try again tomorrow.");
  }
  // The hub's randomness is a secret-seeded stream, like the call ids and challenges.
  auto invite = InviteAdmin(store_).Create(challenge_source_, s.user, now.unix_ms);
  if (!invite.ok()) {
    return SendError(out, id, m.id, ErrorCode::kInternal, "The server could not make an invite; try again later.");
  }
  Send(out, id, signal::AppInvite{m.id, invite->bytes()});
}

bool SignalingHub::AllowsP2P(const std::string& user, const std::string& other) {
  auto account = store_.FindAccount(user);
  if (!account.ok() || !account->has_value()) return false;
  auto blocked = store_.IsBlocked(user, other);
  if (!blocked.ok() || *blocked) return false;
  switch ((*account)->p2p_with) {
    case Audience::kEveryone: return true;
    case Audience::kNobody: return false;
    case Audience::kContacts: {
      auto contact = store_.IsContact(user, other);
      return contact.ok() && *contact;
    }
  }
  return false;
}

void SignalingHub::OnCandidates(Out& out, ConnectionId id, Session& s, const signal::Candidates& m) {
  Call* call = FindOwnCall(out, id, s, m.call_id, m.id);
  if (call == nullptr) return;
  if (call->state != CallState::kAccepted && call->state != CallState::kActive) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed,
                     "Candidates are sent only after the call is accepted and 'relay' allows a direct path.");
  }
  if (!call->p2p_allowed) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed,
                     "This call does not allow a direct path (a P2P setting says no); media stays on the relay.");
  }
  const ConnectionId peer = call->caller_connection == id ? call->callee_connection : call->caller_connection;
  Send(out, peer, signal::PeerCandidates{std::nullopt, call->id, m.candidates});
  Send(out, id, signal::OkReply{m.id});
}

void SignalingHub::OnReveal(Out& out, ConnectionId id, Session& s, const signal::Reveal& m) {
  Call* call = FindOwnCall(out, id, s, m.call_id, m.id);
  if (call == nullptr) return;
  if (call->caller_connection != id) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "Only the caller sends the reveal of a call.");
  }
  if (call->state != CallState::kAccepted) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed,
                     call->state == CallState::kActive ? "This call's reveal was sent already."
                                                       : "The reveal comes after the callee accepts.");
  }
  if (!IsHandshakeFor(m.key, crypto::HandshakeType::kReveal, m.call_id)) {
    return SendError(out, id, m.id, ErrorCode::kBadMessage,
                     "Field 'key' is not a key-agreement reveal for this call id.");
  }
  call->state = CallState::kActive;
  Send(out, call->callee_connection, signal::Revealed{std::nullopt, call->id, m.key});
  Send(out, id, signal::OkReply{m.id});
}

void SignalingHub::OnDecline(Out& out, ConnectionId id, Session& s, const signal::Decline& m, HubTime now) {
  Call* call = FindOwnCall(out, id, s, m.call_id, m.id);
  if (call == nullptr) return;
  if (call->callee_connection != id) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "Only the callee can decline a call; cancel it instead.");
  }
  if (call->state == CallState::kRinging) {
    return EndCall(out, m.call_id, EndReason::kDeclined, CallOutcome::kDeclined, false, now, id, m.id);
  }
  EndCall(out, m.call_id, EndReason::kHangup, CallOutcome::kAnswered, false, now, id, m.id);
}

void SignalingHub::OnCancel(Out& out, ConnectionId id, Session& s, const signal::Cancel& m, HubTime now) {
  Call* call = FindOwnCall(out, id, s, m.call_id, m.id);
  if (call == nullptr) return;
  if (call->caller_connection != id) {
    return SendError(out, id, m.id, ErrorCode::kNotAllowed, "Only the caller can cancel a call; decline it instead.");
  }
  switch (call->state) {
    case CallState::kRouting:
      return EndCall(out, m.call_id, EndReason::kCancelled, std::nullopt, false, now, id, m.id);
    case CallState::kRinging:
      return EndCall(out, m.call_id, EndReason::kCancelled, CallOutcome::kCancelled, false, now, id, m.id);
    case CallState::kAccepted:
    case CallState::kActive:
      return EndCall(out, m.call_id, EndReason::kHangup, CallOutcome::kAnswered, false, now, id, m.id);
  }
}

void SignalingHub::OnHangup(Out& out, ConnectionId id, Session& s, const signal::Hangup& m, HubTime now) {
  Call* call = FindOwnCall(out, id, s, m.call_id, m.id);
  if (call == nullptr) return;
  const bool caller = call->caller_connection == id;
  switch (call->state) {
    case CallState::kRouting:  // only the caller knows of it
      return EndCall(out, m.call_id, EndReason::kCancelled, std::nullopt, false, now, id, m.id);
    case CallState::kRinging:
      return caller ? EndCall(out, m.call_id, EndReason::kCancelled, CallOutcome::kCancelled, false, now, id, m.id)
                    : EndCall(out, m.call_id, EndReason::kDeclined, CallOutcome::kDeclined, false, now, id, m.id);
    case CallState::kAccepted:
    case CallState::kActive:
      return EndCall(out, m.call_id, EndReason::kHangup, CallOutcome::kAnswered, false, now, id, m.id);
  }
}

void SignalingHub::EndCall(Out& out, const signal::CallId& call_id, EndReason reason,
                           std::optional<CallOutcome> log_as, bool missed, HubTime now,
                           std::optional<ConnectionId> requester, RequestId request,
                           std::optional<ConnectionId> skip) {
  auto it = calls_.find(call_id);
  PARLEY_CHECK(it != calls_.end());
  const Call call = it->second;
  calls_.erase(it);
  ReleaseClaims(call.caller, call.callee, call.id);
  for (ConnectionId party : {call.caller_connection, call.callee_connection}) {
    if (party == kAwayParty) continue;
    auto session = sessions_.find(party);
    PARLEY_CHECK(session != sessions_.end() && session->second.call == call_id);
    session->second.call.reset();
    if (session->second.remote) remote_parties_left_.push_back(party);
    // The callee learns of a call only at `incoming`.
    const bool knows = party == call.caller_connection || call.state != CallState::kRouting;
    if (skip && party == *skip) continue;
    if (!knows) {
      if (session->second.remote) {
        // The holder forgets the call it was told of without text.
        NodeEnvelope forget;
        forget.kind = NodeEnvelope::Kind::kDeliver;
        forget.from_node = bus_.node_id();
        forget.connection = session->second.remote->connection;
        forget.user = session->second.user;
        forget.call = call_id;
        forget.ends_call = true;
        out.envelopes.emplace_back(session->second.remote->node, std::move(forget));
      }
      continue;
    }
    Send(out, party, signal::Ended{requester && party == *requester ? request : std::nullopt, call_id, reason});
  }
  if (log_as) {
    CallLogEntry entry;
    entry.call_id = crypto::ToBase64(call.id);
    entry.caller = call.caller;
    entry.callee = call.callee;
    entry.started_unix_ms = call.started_unix_ms;
    entry.answered_unix_ms = call.answered_unix_ms;
    entry.ended_unix_ms = now.unix_ms;
    entry.outcome = *log_as;
    // A store failure here cannot undo the end of the call; the row is lost, the call
    // still ends for both.
    RecordCallLogged(entry);
    if (missed) AddMissedCallLogged(call.callee, entry);
  }
}

void SignalingHub::RecordCallLogged(const CallLogEntry& entry) {
  if (Status recorded = store_.RecordCall(entry); !recorded.ok()) {
    spdlog::error("The store failed to record a call in the call log ({}); that call is missing from both users' "
                  "history.",
                  recorded.error().message);
  }
}

void SignalingHub::AddMissedCallLogged(const std::string& user, const CallLogEntry& entry) {
  if (Status added = store_.AddMissedCall(user, entry); !added.ok()) {
    spdlog::error("The store failed to keep a missed call for a user ({}); they will not be told of it at their next "
                  "login.",
                  added.error().message);
  }
}

void SignalingHub::ReleaseClaims(const std::string& caller, const std::string& callee, const signal::CallId& call) {
  for (const std::string* user : {&caller, &callee}) {
    if (Status released = bus_.ReleaseBusy(*user, call); !released.ok()) {
      LogBusError("release a user's busy claim (it expires by itself)", released.error());
    }
  }
}

void SignalingHub::EndCallOfLeaving(Out& out, ConnectionId leaving, HubTime now, bool may_return) {
  auto session = sessions_.find(leaving);
  if (session == sessions_.end()) return;
  if (session->second.held) {
    // The owner ends the call; this node only tells it and forgets.
    NodeEnvelope left;
    left.kind = NodeEnvelope::Kind::kPartyLeft;
    left.from_node = bus_.node_id();
    left.connection = leaving;
    left.user = session->second.user;
    left.device = session->second.device;
    left.call = session->second.held->id;
    out.envelopes.emplace_back(session->second.held->owner, std::move(left));
    session->second.held.reset();
    return;
  }
  if (!session->second.call) return;
  const signal::CallId call_id = *session->second.call;
  Call& call = calls_.at(call_id);
  const bool caller = call.caller_connection == leaving;
  const ConnectionId peer = caller ? call.callee_connection : call.caller_connection;
  if (call.state == CallState::kActive && peer != kAwayParty && may_return) {
    const Session& gone = session->second;
    call.away_node = gone.remote ? gone.remote->node : bus_.node_id();
    call.away_connection = gone.remote ? gone.remote->connection : leaving;
    (caller ? call.caller_connection : call.callee_connection) = kAwayParty;
    call.awaiting_return = true;
    call.deadline = now.steady + config_.away_grace;
    session->second.call.reset();
    if (session->second.remote) remote_parties_left_.push_back(leaving);
    return;
  }
  switch (call.state) {
    case CallState::kRouting:
      // The callee never heard of it; a vanished callee is simply unreachable.
      return EndCall(out, call_id, EndReason::kUnavailable, std::nullopt, false, now, std::nullopt, std::nullopt,
                     leaving);
    case CallState::kRinging:
      return caller ? EndCall(out, call_id, EndReason::kUnavailable, CallOutcome::kCancelled, false, now,
                              std::nullopt, std::nullopt, leaving)
                    : EndCall(out, call_id, EndReason::kUnavailable, CallOutcome::kMissed, true, now, std::nullopt,
                              std::nullopt, leaving);
    case CallState::kAccepted:
    case CallState::kActive:
      return EndCall(out, call_id, EndReason::kHangup, CallOutcome::kAnswered, false, now, std::nullopt,
                     std::nullopt, leaving);
  }
}

std::vector<HubSend> SignalingHub::OnTimer(HubTime now) {
  SetNow(now);
  Out out;
  if (renews_bus_ && *renew_at_ <= now.steady) {
    RenewBus(out, now);
    renew_at_ = now.steady + config_.bus_refresh;
  } else if (presence_retry_at_ && *presence_retry_at_ <= now.steady) {
    RetryUnrecordedPresence(out, now);
  }
  std::vector<signal::CallId> due;
  for (const auto& [id, call] : calls_) {
    if ((call.state == CallState::kRouting || call.state == CallState::kRinging) && call.deadline <= now.steady) {
      due.push_back(id);
    }
  }
  for (const auto& id : due) {
    const bool rang = calls_.at(id).state == CallState::kRinging;
    EndCall(out, id, EndReason::kTimeout, rang ? std::optional(CallOutcome::kMissed) : std::nullopt, rang, now);
  }
  std::vector<signal::CallId> gone;
  for (auto& [id, call] : calls_) {
    if (!call.awaiting_return || call.deadline > now.steady) continue;
    switch (ReattachAwayParty(out, call)) {
      case Return::kReattached: break;
      case Return::kGone: gone.push_back(id); break;
      // A live call is not ended on a guess: ask again at the next renewal.
      case Return::kCannotTell: call.deadline = now.steady + config_.bus_refresh; break;
    }
  }
  for (const auto& id : gone) EndCall(out, id, EndReason::kHangup, CallOutcome::kAnswered, false, now);
  return Finish(out, now);
}

void SignalingHub::RenewBus(Out& out, HubTime now) {
  // Logins whose record never reached the bus first: theirs is set as at login (a
  // compare-and-renew would find the older login they replaced, and yield to it).
  std::set<ConnectionId> just_recorded;
  if (!presence_unrecorded_.empty()) {
    const std::set<ConnectionId> unrecorded = presence_unrecorded_;
    RetryUnrecordedPresence(out, now);
    std::set_difference(unrecorded.begin(), unrecorded.end(), presence_unrecorded_.begin(),
                        presence_unrecorded_.end(), std::inserter(just_recorded, just_recorded.end()));
  }
  // One batch for every other user online here (pipelined on Redis: 10,000 users are a
  // few round trips, not 10,000 in one strand turn).
  std::vector<PresenceRenewal> renewals;
  std::vector<ConnectionId> renewed_connections;
  renewals.reserve(online_.size());
  renewed_connections.reserve(online_.size());
  for (const auto& [user, connection] : online_) {
    if (presence_unrecorded_.count(connection) != 0 || just_recorded.count(connection) != 0) continue;
    renewals.push_back(PresenceRenewal{user, PresenceOf(connection, sessions_.at(connection))});
    renewed_connections.push_back(connection);
  }
  // Compare-and-renew: a login elsewhere that got in between is never overwritten,
  // not even for a moment (a lookup then would find this stale connection).
  auto renewed = bus_.RenewPresences(renewals, config_.presence_ttl);
  PARLEY_CHECK(renewed.size() == renewals.size());
  std::vector<ConnectionId> replaced;
  bool failure_logged = false;
  for (std::size_t i = 0; i < renewed.size(); ++i) {
    const auto& newer = renewed[i];
    if (!newer.ok()) {
      // One line per renewal round: while the bus is away every entry fails alike.
      if (!std::exchange(failure_logged, true)) LogBusError("renew users' presence", newer.error());
      continue;
    }
    // Yield to it, as its kReplaced (which may still be on the way) would make this node do.
    if (*newer && (*newer)->node != bus_.node_id()) replaced.push_back(renewed_connections[i]);
  }
  for (ConnectionId old : replaced) CloseReplaced(out, old, now);
  std::vector<BusyClaim> claims;
  claims.reserve(2 * calls_.size());
  for (const auto& [id, call] : calls_) {
    claims.push_back(BusyClaim{call.caller, id});
    claims.push_back(BusyClaim{call.callee, id});
  }
  bool claim_failure_logged = false;
  for (const auto& claimed : bus_.RenewBusyClaims(claims, config_.busy_ttl)) {
    if (!claimed.ok()) {
      if (!std::exchange(claim_failure_logged, true)) LogBusError("renew busy claims", claimed.error());
    } else if (!*claimed) {
      spdlog::warn("A user's busy claim for a call in progress had expired and was taken by another call; the bus "
                   "was probably unreachable for longer than the claim's ttl.");
    }
  }
}

std::optional<TimePoint> SignalingHub::NextTimerAt() const {
  std::optional<TimePoint> next;
  if (renews_bus_ && renew_at_ && (!online_.empty() || !calls_.empty())) next = renew_at_;
  if (presence_retry_at_ && (!next || *presence_retry_at_ < *next)) next = presence_retry_at_;
  for (const auto& [id, call] : calls_) {
    if (call.state != CallState::kRouting && call.state != CallState::kRinging && !call.awaiting_return) continue;
    if (!next || call.deadline < *next) next = call.deadline;
  }
  return next;
}

// --- Contacts, blocks, settings, history, presence ---------------------------------

bool SignalingHub::MutuallyVisible(const std::string& a, const std::string& b) {
  auto ab = store_.IsContact(a, b);
  auto ba = store_.IsContact(b, a);
  auto a_blocks = store_.IsBlocked(a, b);
  auto b_blocks = store_.IsBlocked(b, a);
  return ab.ok() && *ab && ba.ok() && *ba && a_blocks.ok() && !*a_blocks && b_blocks.ok() && !*b_blocks;
}

void SignalingHub::AnnouncePresence(Out& out, ConnectionId id, const std::string& user, bool online) {
  auto contacts = store_.Contacts(user);
  if (!contacts.ok()) return;
  for (const auto& contact : *contacts) {
    const Whereabouts where = Locate(contact);
    if (where.kind == Whereabouts::Kind::kOffline || where.kind == Whereabouts::Kind::kUnknown) continue;
    if (where.kind == Whereabouts::Kind::kHere && where.here == id) continue;
    if (!MutuallyVisible(user, contact)) continue;
    if (where.kind == Whereabouts::Kind::kHere) {
      Send(out, where.here, signal::Presence{std::nullopt, user, online});
    } else {
      DeliverElsewhere(out, where.elsewhere, contact, signal::Presence{std::nullopt, user, online});
    }
    if (online) Send(out, id, signal::Presence{std::nullopt, contact, true});
  }
}

SignalingHub::Whereabouts SignalingHub::Locate(const std::string& user) {
  Whereabouts where;
  if (auto local = online_.find(user); local != online_.end()) {
    where.kind = Whereabouts::Kind::kHere;
    where.here = local->second;
    return where;
  }
  auto found = bus_.FindPresence(user);
  if (!found.ok()) {
    LogBusError("look up where a user is connected", found.error());
    where.kind = Whereabouts::Kind::kUnknown;
    return where;
  }
  // A record of this node's that online_ does not have is stale (about to expire).
  if (*found && (*found)->node != bus_.node_id()) {
    where.kind = Whereabouts::Kind::kElsewhere;
    where.elsewhere = **found;
  }
  return where;
}

void SignalingHub::DeliverElsewhere(Out& out, const PresenceRecord& where, const std::string& user,
                                    const Message& message) {
  NodeEnvelope envelope;
  envelope.kind = NodeEnvelope::Kind::kDeliver;
  envelope.from_node = bus_.node_id();
  envelope.connection = where.connection;
  envelope.user = user;
  envelope.text = signal::SerializeMessage(message);
  out.envelopes.emplace_back(where.node, std::move(envelope));
}

// --- Several nodes ------------------------------------------------------------------

void SignalingHub::ForwardToOwner(Out& out, ConnectionId id, Session& s, const Message& message,
                                  std::string_view text) {
  NodeEnvelope envelope;
  envelope.kind = NodeEnvelope::Kind::kFromParty;
  envelope.from_node = bus_.node_id();
  envelope.connection = id;
  envelope.user = s.user;
  envelope.device = s.device;
  envelope.call = s.held->id;
  envelope.text = std::string(text);
  // Sent at once rather than by Finish: a failure is answered here.
  Status sent = bus_.Send(s.held->owner, envelope);
  if (sent.ok()) return;
  LogBusError("forward a message to the node that owns its call", sent.error());
  Send(out, id, signal::Ended{signal::MessageId(message), s.held->id, EndReason::kUnavailable});
  s.held.reset();
}

bool SignalingHub::HeldCallIsLive(Session& s, const signal::CallId& probe) {
  if (probe == s.held->id) return true;  // a claim for it would only renew the call's own
  auto claimed = bus_.ClaimBusy(s.user, probe, config_.busy_ttl);
  if (!claimed.ok()) {
    LogBusError("check a user's busy claim", claimed.error());
    return true;
  }
  if (!*claimed) return true;
  if (Status released = bus_.ReleaseBusy(s.user, probe); !released.ok()) {
    LogBusError("release a probing busy claim", released.error());
  }
  s.held.reset();
  return false;
}

SignalingHub::Return SignalingHub::ReattachAwayParty(Out& out, Call& call) {
  const bool caller_away = call.caller_connection == kAwayParty;
  const std::string& user = caller_away ? call.caller : call.callee;
  const std::string& device = caller_away ? call.caller_device : call.callee_device;
  ConnectionId& party = caller_away ? call.caller_connection : call.callee_connection;
  const Whereabouts where = Locate(user);
  switch (where.kind) {
    case Whereabouts::Kind::kUnknown: return Return::kCannotTell;
    case Whereabouts::Kind::kOffline: return Return::kGone;
    case Whereabouts::Kind::kHere: {
      Session& s = sessions_.at(where.here);
      if (s.device != device || s.call || s.held) return Return::kGone;
      s.call = call.id;
      party = where.here;
      break;
    }
    case Whereabouts::Kind::kElsewhere: {
      const PresenceRecord& at = where.elsewhere;
      if (at.device != device || (at.node == call.away_node && at.connection == call.away_connection)) {
        return Return::kGone;
      }
      const ConnectionId id = next_remote_connection_++;
      Session& remote = sessions_[id];
      remote.user = user;
      remote.device = device;
      remote.remote = RemoteParty{at.node, at.connection, call.id};
      remote.call = call.id;
      ++remote_sessions_;
      party = id;
      // As at invite: the holder learns of the call without text (or answers that the
      // connection is in another call: kUndeliverable, which ends this one).
      NodeEnvelope watch;
      watch.kind = NodeEnvelope::Kind::kDeliver;
      watch.from_node = bus_.node_id();
      watch.connection = at.connection;
      watch.user = user;
      watch.call = call.id;
      out.envelopes.emplace_back(at.node, std::move(watch));
      break;
    }
  }
  call.awaiting_return = false;
  call.away_node.clear();
  call.away_connection = 0;
  return Return::kReattached;
}

bool SignalingHub::AwayInACall(const std::string& user) const {
  for (const auto& [id, call] : calls_) {
    if (!call.awaiting_return) continue;
    if ((call.caller_connection == kAwayParty && call.caller == user) ||
        (call.callee_connection == kAwayParty && call.callee == user)) {
      return true;
    }
  }
  return false;
}

std::optional<ConnectionId> SignalingHub::RemotePartyOf(const NodeEnvelope& envelope) const {
  if (!envelope.call) return std::nullopt;
  auto call = calls_.find(*envelope.call);
  if (call == calls_.end()) return std::nullopt;
  for (ConnectionId party : {call->second.caller_connection, call->second.callee_connection}) {
    if (party == kAwayParty) continue;
    const Session& s = sessions_.at(party);
    if (s.remote && s.remote->node == envelope.from_node && s.remote->connection == envelope.connection &&
        s.user == envelope.user) {
      return party;
    }
  }
  return std::nullopt;
}

std::vector<HubSend> SignalingHub::OnEnvelope(const NodeEnvelope& envelope, HubTime now) {
  SetNow(now);
  Out out;
  if (envelope.from_node == bus_.node_id()) return Finish(out, now);
  switch (envelope.kind) {
    case NodeEnvelope::Kind::kDeliver:
      OnDeliverEnvelope(out, envelope);
      break;
    case NodeEnvelope::Kind::kFromParty: {
      auto party = RemotePartyOf(envelope);
      if (!party) break;
      Session& s = sessions_.at(*party);
      if (envelope.device != s.device) break;
      // The text is all that counts, and only for the call and party named above.
      auto parsed = signal::ParseMessage(envelope.text);
      if (!parsed.ok() || !IsForwardedCallMessage(*parsed) || CallIdIn(*parsed) != envelope.call) break;
      Handle(out, *party, s, *parsed, now);
      break;
    }
    case NodeEnvelope::Kind::kPartyLeft:
    case NodeEnvelope::Kind::kUndeliverable:
      if (auto party = RemotePartyOf(envelope)) {
        EndCallOfLeaving(out, *party, now, envelope.kind == NodeEnvelope::Kind::kPartyLeft);
      }
      break;
    case NodeEnvelope::Kind::kReplaced:
      OnReplacedEnvelope(out, envelope, now);
      break;
  }
  return Finish(out, now);
}

void SignalingHub::OnDeliverEnvelope(Out& out, const NodeEnvelope& envelope) {
  auto undeliverable = [&] {
    if (!envelope.call || envelope.ends_call) return;
    NodeEnvelope reply;
    reply.kind = NodeEnvelope::Kind::kUndeliverable;
    reply.from_node = bus_.node_id();
    reply.connection = envelope.connection;
    reply.user = envelope.user;
    reply.call = envelope.call;
    out.envelopes.emplace_back(envelope.from_node, std::move(reply));
  };
  auto it = sessions_.find(envelope.connection);
  if (it == sessions_.end() || it->second.remote || !it->second.logged_in() || it->second.user != envelope.user) {
    return undeliverable();
  }
  Session& s = it->second;
  if (envelope.text.empty()) {
    // Without text: the owner tells of a call (or of its end) before its user hears
    // of it; nothing goes to the connection.
    if (!envelope.call) return;
    const bool held_here = s.held && s.held->id == *envelope.call && s.held->owner == envelope.from_node;
    if (envelope.ends_call) {
      if (held_here) s.held.reset();
      return;
    }
    if (s.call) return undeliverable();
    s.held = HeldCall{*envelope.call, envelope.from_node};
    return;
  }
  // Only a server message, and only about the call the envelope names (or none).
  auto parsed = signal::ParseMessage(envelope.text);
  if (!parsed.ok() || signal::IsClientMessage(*parsed)) {
    spdlog::warn("Node '{}' sent a message for a user here that is not a valid server message; it was dropped.",
                 envelope.from_node);
    return;
  }
  const std::optional<signal::CallId> carried = CallIdIn(*parsed);
  if (carried && carried != envelope.call) return;
  if (envelope.call) {
    const bool held_here = s.held && s.held->id == *envelope.call && s.held->owner == envelope.from_node;
    if (!held_here) {
      // A call starts here with `incoming`; a user in a call of this node's cannot
      // hold another (the owner then ends it as if the user had gone).
      if (s.call || envelope.ends_call || !std::holds_alternative<signal::Incoming>(*parsed)) return undeliverable();
      s.held = HeldCall{*envelope.call, envelope.from_node};
    }
    if (envelope.ends_call) s.held.reset();
  }
  out.sends.push_back(HubSend{envelope.connection, envelope.text, false});
}

void SignalingHub::OnReplacedEnvelope(Out& out, const NodeEnvelope& envelope, HubTime now) {
  auto it = sessions_.find(envelope.connection);
  if (it == sessions_.end() || it->second.remote || it->second.user != envelope.user || !it->second.logged_in()) return;
  const ConnectionId old = envelope.connection;
  EndCallOfLeaving(out, old, now, /*may_return=*/true);
  SendError(out, old, std::nullopt, ErrorCode::kReplaced,
            "You logged in as " + Quoted(envelope.user) + " from another connection; this one is closed.");
  out.sends.back().close_after = true;
  ForgetSession(old);
}

void SignalingHub::OnContactsChange(Out& out, ConnectionId id, Session& s, RequestId request,
                                    const std::string& other, bool contact, bool add) {
  if (other == s.user) {
    return SendError(out, id, request, ErrorCode::kNotAllowed,
                     contact ? "You cannot list yourself as a contact." : "You cannot block yourself.");
  }
  auto account = store_.FindAccount(other);
  if (!account.ok()) {
    LogStoreError(contact ? "look up a user for a contact change" : "look up a user for a block change",
                  account.error());
    return SendError(out, id, request, ErrorCode::kInternal, "The server could not look up that user; try again later.");
  }
  if (!account->has_value()) {
    return SendError(out, id, request, ErrorCode::kNoSuchUser,
                     "There is no user named " + Quoted(other) + " on this server.");
  }
  const Whereabouts where = Locate(other);
  const bool other_online = where.kind == Whereabouts::Kind::kHere || where.kind == Whereabouts::Kind::kElsewhere;
  const bool visible_before = other_online && MutuallyVisible(s.user, other);
  Status changed = contact ? (add ? store_.AddContact(s.user, other) : store_.RemoveContact(s.user, other))
                           : (add ? store_.Block(s.user, other) : store_.Unblock(s.user, other));
  if (!changed.ok()) {
    LogStoreError(contact ? (add ? "add a contact" : "remove a contact") : (add ? "block a user" : "unblock a user"),
                  changed.error());
    return SendError(out, id, request, ErrorCode::kInternal, "The server could not save the change; try again later.");
  }
  Send(out, id, signal::OkReply{request});
  if (!other_online) return;
  const bool visible_after = MutuallyVisible(s.user, other);
  if (visible_after == visible_before) return;
  Send(out, id, signal::Presence{std::nullopt, other, visible_after});
  if (where.kind == Whereabouts::Kind::kHere) {
    Send(out, where.here, signal::Presence{std::nullopt, s.user, visible_after});
  } else {
    DeliverElsewhere(out, where.elsewhere, other, signal::Presence{std::nullopt, s.user, visible_after});
  }
}

void SignalingHub::OnSettings(Out& out, ConnectionId id, Session& s, const signal::Settings& m) {
  auto account = store_.FindAccount(s.user);
  if (!account.ok() || !account->has_value()) {
    return SendError(out, id, m.id, ErrorCode::kInternal, "The server could not read your settings; try again later.");
  }
  Audience who = (*account)->who_may_call;
  Audience p2p = (*account)->p2p_with;
  if (m.who_may_call || m.p2p) {
    if (m.who_may_call) who = FromWire(*m.who_may_call);
    if (m.p2p) p2p = FromWire(*m.p2p);
    if (Status set = store_.SetPrivacy(s.user, who, p2p); !set.ok()) {
      LogStoreError("save a user's privacy settings", set.error());
      return SendError(out, id, m.id, ErrorCode::kInternal,
                       "The server could not save your settings; nothing changed, try again later.");
    }
  }
  Send(out, id, signal::CurrentSettings{m.id, ToWire(who), ToWire(p2p)});
}

void SignalingHub::OnHistory(Out& out, ConnectionId id, Session& s, const signal::History& m) {
  auto history = store_.CallHistory(s.user, m.limit);
  if (!history.ok()) {
    return SendError(out, id, m.id, ErrorCode::kInternal, "The server could not read your call history; try again later.");
  }
  Send(out, id, signal::CallHistory{m.id, ToWire(*history)});
}

// --- Invariants ---------------------------------------------------------------------

void SignalingHub::CheckInvariants() const {
  for (const auto& [user, connection] : online_) {
    auto s = sessions_.find(connection);
    PARLEY_CHECK(s != sessions_.end() && s->second.user == user);
  }
  PARLEY_CHECK(presence_unrecorded_.empty() != presence_retry_at_.has_value());
  for (ConnectionId id : presence_unrecorded_) {
    auto s = sessions_.find(id);
    PARLEY_CHECK(s != sessions_.end() && !s->second.remote && s->second.logged_in());
  }
  std::size_t remote = 0;
  for (const auto& [id, s] : sessions_) {
    PARLEY_CHECK((id >= kFirstRemoteConnection) == s.remote.has_value());
    PARLEY_CHECK(!(s.call && s.held));
    if (s.remote) {
      ++remote;
      PARLEY_CHECK(s.logged_in() && s.call == s.remote->call && !s.held);
      continue;
    }
    if (s.logged_in()) PARLEY_CHECK(online_.count(s.user) == 1 && online_.at(s.user) == id);
    if (s.held) PARLEY_CHECK(s.logged_in());
    if (!s.call) continue;
    PARLEY_CHECK(s.logged_in());
    auto call = calls_.find(*s.call);
    PARLEY_CHECK(call != calls_.end());
    PARLEY_CHECK(call->second.caller_connection == id || call->second.callee_connection == id);
  }
  for (const auto& [call_id, call] : calls_) {
    PARLEY_CHECK(call.id == call_id);
    PARLEY_CHECK(call.caller_connection != call.callee_connection);  // at most one is away
    for (ConnectionId party : {call.caller_connection, call.callee_connection}) {
      if (party == kAwayParty) {
        PARLEY_CHECK(call.state == CallState::kActive && call.awaiting_return);
        continue;
      }
      auto s = sessions_.find(party);
      PARLEY_CHECK(s != sessions_.end() && s->second.call == call_id);
    }
    PARLEY_CHECK(call.awaiting_return ==
                 (call.caller_connection == kAwayParty || call.callee_connection == kAwayParty));
    if (call.caller_connection != kAwayParty) {
      PARLEY_CHECK(sessions_.at(call.caller_connection).user == call.caller);
      // A call is owned by its caller's node; a caller who came back on another node
      // after a handover is the one exception.
      PARLEY_CHECK(!sessions_.at(call.caller_connection).remote || call.state == CallState::kActive);
    }
    if (call.callee_connection != kAwayParty) PARLEY_CHECK(sessions_.at(call.callee_connection).user == call.callee);
  }
  PARLEY_CHECK(remote == remote_sessions_);
}

}  // namespace parley::server
