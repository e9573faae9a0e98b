// Signaling messages between the parley client and parleyd: one typed struct per JSON
// message, a strict parser and a canonical serializer. docs/protocol.md, "Signaling".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "parley/base/result.h"
#include "parley/crypto/handshake_message.h"
#include "parley/crypto/identity_key.h"
#include "parley/net/candidate_address.h"

namespace parley::signal {

// Limits checked by ParseMessage, before or while the JSON is parsed.
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;
inline constexpr int kMaxNestingDepth = 8;        // the top-level object is depth 1
inline constexpr std::size_t kMaxNameBytes = 64;  // user and device fields (parse-level cap)
inline constexpr std::size_t kMaxTextBytes = 1024;  // error message
inline constexpr std::size_t kMaxHostBytes = 255;
inline constexpr std::size_t kMaxTicketBytes = 512;
inline constexpr std::size_t kMaxRelayAlternates = 3;  // `relay.alternates` entries
inline constexpr std::size_t kMaxListEntries = 1000;  // users in a list, records in a history
inline constexpr int kMaxHistoryLimit = 100;
inline constexpr int kDefaultHistoryLimit = 20;
inline constexpr uint64_t kMaxRequestId = (uint64_t{1} << 53) - 1;  // exact in JavaScript

// A client's tag on a request, copied into the reply (`ok`, `error`, a list...) so the
// client can match them. Absent on server pushes (incoming, presence, ended...).
using RequestId = std::optional<uint64_t>;
using Challenge = std::array<uint8_t, 32>;
using crypto::CallId;
using crypto::IdentityPublicKey;
using crypto::Signature;

// Who may call me / see my address for P2P. Same meaning as server::Audience.
enum class Audience { kEveryone, kContacts, kNobody };

// Why a call ended (or never started), in `ended`. DescribeEnd gives the sentence.
enum class EndReason {
  kNotFound,     // no such user, or the callee does not take calls from this caller
  kBusy,         // the callee is in a call or ringing
  kUnavailable,  // the callee is offline (a missed call is stored), or a party vanished while ringing
  kDeclined,     // the callee declined
  kCancelled,    // the caller cancelled before an answer
  kHangup,       // a party hung up (or lost its connection) after the answer
  kTimeout,      // nobody answered within the ring timeout
  kRateLimited,  // the caller made too many calls in a short time
  kFailed,       // the server could not set the call up
};

enum class ErrorCode {
  kBadMessage,       // not JSON, wrong field, too large, too deep ...
  kUnknownType,      // a type this protocol does not define
  kUnexpected,       // a defined type the receiver does not accept in this state/direction
  kNotLoggedIn,
  kAlreadyLoggedIn,
  kBadSignature,
  kNoSuchAccount,    // login to a name that has no account, or with an unknown device
  kUsernameTaken,
  kInvalidUsername,
  kInvalidDevice,
  kNoSuchUser,       // contacts_add/block of a name that has no account
  kNoSuchCall,       // accept/decline/... for a call id this session is not a party of
  kNotAllowed,       // e.g. accept from the caller, reveal from the callee
  kInCall,           // invite while already in a call
  kRateLimited,
  kReplaced,         // another login of the same user took over this connection
  kInternal,         // the server failed (store); try again later
};

enum class CallOutcome { kAnswered, kDeclined, kBusy, kCancelled, kMissed, kFailed };

// One call in `welcome.missed_calls` and `call_history.calls`.
struct CallRecord {
  CallId call_id{};
  std::string caller;
  std::string callee;
  int64_t started_unix_ms = 0;
  int64_t answered_unix_ms = 0;  // 0: never answered
  int64_t ended_unix_ms = 0;
  CallOutcome outcome = CallOutcome::kFailed;
  bool operator==(const CallRecord&) const = default;
};

// --- Server to client -------------------------------------------------------------

// First message on every connection: the challenge the next register/login signs.
struct Hello {
  static constexpr std::string_view kType = "hello";
  RequestId id;
  Challenge challenge{};
  std::string server;  // the server's name, which the signature covers (1..255 bytes)
  bool operator==(const Hello&) const = default;
};

struct Welcome {
  static constexpr std::string_view kType = "welcome";
  RequestId id;
  std::string user;
  std::string device;
  std::vector<CallRecord> missed_calls;  // each delivered exactly once
  bool operator==(const Welcome&) const = default;
};

struct ErrorReply {
  static constexpr std::string_view kType = "error";
  RequestId id;
  ErrorCode code = ErrorCode::kBadMessage;
  std::string message;  // one sentence for the user, 1..1024 bytes
  bool operator==(const ErrorReply&) const = default;
};

// Success of a request that returns nothing else.
struct OkReply {
  static constexpr std::string_view kType = "ok";
  RequestId id;
  bool operator==(const OkReply&) const = default;
};

// To the callee: someone calls. `commit` is the caller's key-agreement commit.
struct Incoming {
  static constexpr std::string_view kType = "incoming";
  RequestId id;
  CallId call_id{};
  std::string from;
  std::string from_device;
  std::vector<uint8_t> commit;  // crypto::kCommitSize bytes
  bool operator==(const Incoming&) const = default;
};

// To the caller, after invite: the callee may be called and is online on `to_device`;
// the caller now makes its commit for that device and sends `offer`. The callee has
// learnt nothing yet.
struct Route {
  static constexpr std::string_view kType = "route";
  RequestId id;
  CallId call_id{};
  std::string to_device;
  bool operator==(const Route&) const = default;
};

// To the caller: the callee's device is ringing.
struct Ringing {
  static constexpr std::string_view kType = "ringing";
  RequestId id;
  CallId call_id{};
  bool operator==(const Ringing&) const = default;
};

// To the caller: the callee accepted; `key` is its key-agreement accept.
struct Accepted {
  static constexpr std::string_view kType = "accepted";
  RequestId id;
  CallId call_id{};
  std::vector<uint8_t> key;  // crypto::kAcceptSize bytes
  bool operator==(const Accepted&) const = default;
};

// To the callee: the caller's key-agreement reveal.
struct Revealed {
  static constexpr std::string_view kType = "revealed";
  RequestId id;
  CallId call_id{};
  std::vector<uint8_t> key;  // crypto::kRevealSize bytes
  bool operator==(const Revealed&) const = default;
};

// One more relay a `relay` message names: the same ticket, hop key and bind key are
// valid there (relays share the ticket key; docs/protocol.md, "Relay (obfuscated UDP)").
struct RelayAddress {
  std::string host;   // 1..255 bytes
  uint16_t port = 0;  // 1..65535
  bool operator==(const RelayAddress&) const = default;
};

// To both parties once the callee accepts: where the relay is and this party's ticket,
// and whether this call may also use a direct P2P path (`p2p`: both users' p2p
// settings allow the other; only then may a client send `candidates`).
struct Relay {
  static constexpr std::string_view kType = "relay";
  RequestId id;
  CallId call_id{};
  std::string host;  // 1..255 bytes
  uint16_t port = 0;  // 1..65535
  std::vector<uint8_t> ticket;  // 1..kMaxTicketBytes, opaque to the client
  bool p2p = false;
  // docs/protocol.md, "Relay (obfuscated UDP)": this ticket's hop key (32 bytes, only
  // its holder and the relay know it) and the relay's bind key (32, every client's).
  std::vector<uint8_t> hop_key = {};
  std::vector<uint8_t> bind_key = {};
  // Relays to move to, in this order, when `host`:`port` stops carrying the call;
  // 0..kMaxRelayAlternates, the same list for both parties (absent on the wire if empty).
  std::vector<RelayAddress> alternates = {};
  bool operator==(const Relay&) const = default;
};

// To one party of a call whose `relay` said p2p: the other party's P2P candidates,
// forwarded unchanged from its `candidates`. Each candidate passed net::CheckCandidate.
struct PeerCandidates {
  static constexpr std::string_view kType = "peer_candidates";
  RequestId id;
  CallId call_id{};
  std::vector<net::UdpEndpoint> candidates;  // 1..net::kMaxCandidates
  bool operator==(const PeerCandidates&) const = default;
};

struct Ended {
  static constexpr std::string_view kType = "ended";
  RequestId id;
  CallId call_id{};
  EndReason reason = EndReason::kFailed;
  bool operator==(const Ended&) const = default;
};

// A mutual contact came online or went offline.
struct Presence {
  static constexpr std::string_view kType = "presence";
  RequestId id;
  std::string user;
  bool online = false;
  bool operator==(const Presence&) const = default;
};

struct ContactList {
  static constexpr std::string_view kType = "contact_list";
  RequestId id;
  std::vector<std::string> users;
  bool operator==(const ContactList&) const = default;
};

struct BlockList {
  static constexpr std::string_view kType = "block_list";
  RequestId id;
  std::vector<std::string> users;
  bool operator==(const BlockList&) const = default;
};

struct CurrentSettings {
  static constexpr std::string_view kType = "current_settings";
  RequestId id;
  Audience who_may_call = Audience::kEveryone;
  Audience p2p = Audience::kContacts;
  bool operator==(const CurrentSettings&) const = default;
};

struct CallHistory {
  static constexpr std::string_view kType = "call_history";
  RequestId id;
  std::vector<CallRecord> calls;  // newest first
  bool operator==(const CallHistory&) const = default;
};

// To a client that sent `path_test`: two relay tickets of one fresh test call
// (participants 0 and 1, both for this client, short-lived), so it can bind both ends
// from different paths and send itself packets through the relay (docs/protocol.md,
// "Path self-test"). The test call never rings anyone and is never logged.
struct PathTestTickets {
  static constexpr std::string_view kType = "path_test_tickets";
  RequestId id;
  CallId call_id{};
  std::string host;  // 1..255 bytes, as in `relay`
  uint16_t port = 0;  // 1..65535
  std::vector<uint8_t> ticket_0;   // participant 0's ticket, 1..kMaxTicketBytes
  std::vector<uint8_t> hop_key_0;  // its hop key, 32 bytes
  std::vector<uint8_t> ticket_1;   // participant 1's
  std::vector<uint8_t> hop_key_1;
  std::vector<uint8_t> bind_key;   // the relay's bind key, 32 bytes
  bool operator==(const PathTestTickets&) const = default;
};

// Reply to `new_app_invite`: a fresh web app invite (docs/protocol.md, "Web app and
// invites"); its link is https://<the server's host:port>/<base64url(invite)>/.
struct AppInvite {
  static constexpr std::string_view kType = "app_invite";
  RequestId id;
  std::array<uint8_t, 16> invite{};
  bool operator==(const AppInvite&) const = default;
};

// --- Client to server -------------------------------------------------------------

// Creates the account `user` with its first device, and logs in.
struct Register {
  static constexpr std::string_view kType = "register";
  RequestId id;
  std::string user;
  std::string device;
  IdentityPublicKey identity_key{};
  Signature signature{};  // over AuthSignedBytes(kRegister, ...), by identity_key
  bool operator==(const Register&) const = default;
};

struct Login {
  static constexpr std::string_view kType = "login";
  RequestId id;
  std::string user;
  std::string device;
  Signature signature{};  // over AuthSignedBytes(kLogin, ...), by the device's key
  bool operator==(const Login&) const = default;
};

// Deletes the logged-in account; signed over this session's hello challenge.
struct DeleteAccount {
  static constexpr std::string_view kType = "delete_account";
  RequestId id;
  Signature signature{};  // over AuthSignedBytes(kDeleteAccount, ...)
  bool operator==(const DeleteAccount&) const = default;
};

// Starts a call. The caller cannot sign its commit before it knows which device of
// the callee answers (the device is part of the key-agreement context), so the call
// opens in two steps: invite -> route (or ended), then offer -> incoming + ringing.
struct Invite {
  static constexpr std::string_view kType = "invite";
  RequestId id;
  CallId call_id{};  // random, chosen by the caller
  std::string to;
  bool operator==(const Invite&) const = default;
};

// The caller's key-agreement commit, made for the device named in `route`.
struct Offer {
  static constexpr std::string_view kType = "offer";
  RequestId id;
  CallId call_id{};             // equals the call id inside `commit`
  std::vector<uint8_t> commit;  // crypto::kCommitSize bytes
  bool operator==(const Offer&) const = default;
};

struct Accept {
  static constexpr std::string_view kType = "accept";
  RequestId id;
  CallId call_id{};
  std::vector<uint8_t> key;  // crypto::kAcceptSize bytes
  bool operator==(const Accept&) const = default;
};

struct Reveal {
  static constexpr std::string_view kType = "reveal";
  RequestId id;
  CallId call_id{};
  std::vector<uint8_t> key;  // crypto::kRevealSize bytes
  bool operator==(const Reveal&) const = default;
};

struct Decline {
  static constexpr std::string_view kType = "decline";
  RequestId id;
  CallId call_id{};
  bool operator==(const Decline&) const = default;
};

struct Cancel {
  static constexpr std::string_view kType = "cancel";
  RequestId id;
  CallId call_id{};
  bool operator==(const Cancel&) const = default;
};

struct Hangup {
  static constexpr std::string_view kType = "hangup";
  RequestId id;
  CallId call_id{};
  bool operator==(const Hangup&) const = default;
};

struct ContactsAdd {
  static constexpr std::string_view kType = "contacts_add";
  RequestId id;
  std::string user;
  bool operator==(const ContactsAdd&) const = default;
};

struct ContactsRemove {
  static constexpr std::string_view kType = "contacts_remove";
  RequestId id;
  std::string user;
  bool operator==(const ContactsRemove&) const = default;
};

struct ContactsList {
  static constexpr std::string_view kType = "contacts_list";
  RequestId id;
  bool operator==(const ContactsList&) const = default;
};

struct BlockUser {
  static constexpr std::string_view kType = "block";
  RequestId id;
  std::string user;
  bool operator==(const BlockUser&) const = default;
};

struct UnblockUser {
  static constexpr std::string_view kType = "unblock";
  RequestId id;
  std::string user;
  bool operator==(const UnblockUser&) const = default;
};

struct Blocks {
  static constexpr std::string_view kType = "blocks";
  RequestId id;
  bool operator==(const Blocks&) const = default;
};

// Changes the given settings (absent: unchanged); the reply is current_settings.
struct Settings {
  static constexpr std::string_view kType = "settings";
  RequestId id;
  std::optional<Audience> who_may_call;
  std::optional<Audience> p2p;
  bool operator==(const Settings&) const = default;
};

struct History {
  static constexpr std::string_view kType = "history";
  RequestId id;
  int limit = kDefaultHistoryLimit;  // 1..kMaxHistoryLimit
  bool operator==(const History&) const = default;
};

// This party's P2P candidates for the call (its local addresses and the address the
// relay saw), sent only after a `relay` with p2p true; again when they change.
struct Candidates {
  static constexpr std::string_view kType = "candidates";
  RequestId id;
  CallId call_id{};
  std::vector<net::UdpEndpoint> candidates;  // 1..net::kMaxCandidates
  bool operator==(const Candidates&) const = default;
};

// Asks for a pair of test tickets (path_test_tickets) to check which media paths work
// from this network (`parley doctor`); rate-limited per account.
struct PathTest {
  static constexpr std::string_view kType = "path_test";
  RequestId id;
  bool operator==(const PathTest&) const = default;
};

// Asks for a new web app invite (app_invite) to give someone; limited per account.
struct NewAppInvite {
  static constexpr std::string_view kType = "new_app_invite";
  RequestId id;
  bool operator==(const NewAppInvite&) const = default;
};

using Message =
    std::variant<Hello, Welcome, ErrorReply, OkReply, Route, Incoming, Ringing, Accepted, Revealed,
                 Relay, PeerCandidates, Ended, Presence, ContactList, BlockList, CurrentSettings,
                 CallHistory, PathTestTickets, AppInvite,  //
                 Register, Login, DeleteAccount, Invite, Offer, Accept, Reveal, Decline, Cancel,
                 Hangup, ContactsAdd, ContactsRemove, ContactsList, BlockUser, UnblockUser, Blocks,
                 Settings, History, Candidates, PathTest, NewAppInvite>;

// Strict: the text must be at most kMaxMessageBytes, one JSON object nested at most
// kMaxNestingDepth deep, with no duplicate keys, a known "type", exactly that type's
// fields (optional ones may be absent) with the right JSON types, base64url binary
// fields of the right length, and values in range. Every error is one sentence naming
// the field. Accepts messages of both directions (the receiver checks the direction).
// Pure; any thread. Outside input: fuzzed (fuzz/signaling_message_fuzzer.cc).
Result<Message> ParseMessage(std::string_view json);

// Canonical compact JSON: "type" first, then "id" if present, then the fields in the
// order docs/protocol.md lists them. ParseMessage(SerializeMessage(m)) == m for every m
// whose fields are within the limits above.
std::string SerializeMessage(const Message& message);

std::string_view MessageType(const Message& message);
RequestId MessageId(const Message& message);
bool IsClientMessage(const Message& message);  // sent by clients (register ... new_app_invite)

// What can be read of a message ParseMessage refused, so the error reply can echo the
// id and say whether the type was unknown: `id` if the text is within the limits, is
// a JSON object and has a valid id; `type` if it has a string type.
struct RequestPeek {
  RequestId id;
  std::optional<std::string> type;
};
RequestPeek PeekRequest(std::string_view json);
// Whether `type` is one this protocol defines (either direction).
bool IsKnownType(std::string_view type);

std::string_view ToString(Audience audience);
std::string_view ToString(EndReason reason);
std::string_view ToString(ErrorCode code);
std::string_view ToString(CallOutcome outcome);

// The sentence a client shows when a call with `peer` ends, e.g. "bob declined the call."
std::string DescribeEnd(EndReason reason, std::string_view peer);

// Device names: 1..32 bytes of A-Z, a-z, 0-9, '_', '.', '-'; the error says what is
// allowed. (Usernames are parleyd's rules: server/username.h.)
Status ValidateDeviceName(std::string_view device);

// What register, login and delete_account sign with the device's identity key:
//   label || 0x00 || challenge || lp(user) || lp(device) || lp(server)
// label = "parley-v1 register" | "parley-v1 login" | "parley-v1 delete-account",
// lp(s) = u8(len(s)) || s. Names longer than 255 bytes are cut to 255 (they are
// refused elsewhere first).
enum class AuthPurpose { kRegister, kLogin, kDeleteAccount };
std::vector<uint8_t> AuthSignedBytes(AuthPurpose purpose, const Challenge& challenge,
                                     std::string_view user, std::string_view device,
                                     std::string_view server);

}  // namespace parley::signal
