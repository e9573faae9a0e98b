// The client's side of one call at a time, as logic without I/O: signaling messages
// and user actions in, actions out (send this, ring, warn about a key, start media
// with these keys and this relay ticket, stop media, the call ended with this
// sentence). Owns the key agreement and consults the identity store (TOFU), and the
// P2P candidate exchange (docs/protocol.md, "Direct P2P").
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "parley/base/time.h"
#include "parley/crypto/call_keys.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/identity_store.h"
#include "parley/crypto/key_agreement.h"
#include "parley/crypto/key_source.h"
#include "parley/net/udp_endpoint.h"
#include "parley/signal/messages.h"

namespace parley::signal {

enum class CallState {
  kIdle,             // no call; an `incoming` may start one
  kInviting,         // caller: invite sent, waiting for route
  kOffering,         // caller: offer sent, waiting for ringing
  kRinging,          // caller: the callee's device rings
  kIncoming,         // callee: ringing here, waiting for the user
  kAwaitingApproval, // caller: the callee answered with a key the user must approve
  kConnecting,       // answered; waiting for the rest of the keys and the relay ticket
  kConnected,        // media runs
};
std::string_view ToString(CallState state);

// --- Actions the client carries out, in order ---------------------------------------

struct SendAction {
  Message message;
};
// Caller: the callee's device rings.
struct RingingAction {
  std::string peer;
};
// Callee: show the incoming call (and ring). `approval_needed`: the caller's key is a
// changed key of a verified user; accepting needs ApproveKey first.
struct IncomingAction {
  std::string from;
  std::string from_device;
  crypto::PeerCheck check;
  bool approval_needed = false;
};
// The peer's identity key is new or changed. `blocked`: the call waits for the user's
// ApproveKey (or ends). `sentence` says what happened and what to do.
struct KeyWarningAction {
  std::string peer;
  std::string device;
  crypto::PeerCheck check;
  bool blocked = false;
  std::string sentence;
};
// The only way media can start: carries the keys of a completed key agreement (which
// exist only after accept and reveal) and this party's relay ticket. Move-only.
struct StartMediaAction {
  crypto::CallKeys keys;
  std::string relay_host;
  uint16_t relay_port = 0;
  std::vector<uint8_t> ticket;
  std::string peer;
  std::vector<uint8_t> hop_key = {};   // the ticket's hop key (docs/protocol.md, "Relay (obfuscated UDP)")
  std::vector<uint8_t> bind_key = {};  // the relay's bind key
  // The relay said this call may go direct and this user's own P2P setting is not
  // "nobody": open the P2P path, then hand its candidates to OfferCandidates.
  bool p2p = false;
  // Relays to move to, in order, when relay_host:relay_port stops answering (the same
  // ticket and keys; call::RelayFailover).
  std::vector<RelayAddress> relay_alternates = {};
};
struct StopMediaAction {};
// A one-sentence notice that changes nothing (e.g. "approve the key first").
struct NoticeAction {
  std::string sentence;
};
// The peer's P2P candidates for the current call (only while p2p is allowed): give
// them to the direct path.
struct PeerCandidatesAction {
  std::vector<net::UdpEndpoint> candidates;
};
struct CallEndedAction {
  std::optional<EndReason> reason;  // from the server's `ended`; empty: ended here
  std::string sentence;
  bool was_connected = false;
};

using CallAction = std::variant<SendAction, RingingAction, IncomingAction, KeyWarningAction, StartMediaAction,
                                StopMediaAction, NoticeAction, CallEndedAction, PeerCandidatesAction>;
using CallActions = std::vector<CallAction>;

struct CallSessionConfig {
  std::string user;    // this account
  std::string device;  // this device
  // How long set-up steps that the server answers at once (invite, offer) and the key
  // exchange after the answer may take before the call is given up.
  Duration setup_timeout = seconds(15);
  // Request ids this session puts on its messages start here (the client's other
  // requests use small ids), so replies to call requests can be recognised.
  uint64_t first_request_id = uint64_t{1} << 40;
  // This user's own P2P setting as the server has it (the client asks with an empty
  // `settings` request before calling, so a change from another device counts).
  // "nobody": this client never sends candidates and ignores the peer's, whatever
  // `relay` says. The default shares nothing until the client knows.
  Audience own_p2p = Audience::kNobody;
};

// Invariants: at most one call at a time; StartMediaAction is emitted at most once per
// call, only in kConnecting, only with keys from a complete KeyAgreement and a relay
// ticket for this call id; after a call ends the session is kIdle again. Messages for
// other call ids, of unexpected types or in the wrong state change nothing.
// Candidates go out (OfferCandidates) and come in (PeerCandidatesAction) only while the
// call is connected, its `relay` said p2p and own_p2p is not "nobody"; a server error
// about candidates is a notice, never the end of the call.
// Single-threaded: the client's call context. `identity`, `store` and `keys` must
// outlive the session.
class CallSession {
 public:
  CallSession(CallSessionConfig config, const crypto::IdentityKey& identity, crypto::IdentityStore& store,
              crypto::KeySource& keys);

  // User actions. Each returns the actions to carry out; one that does not fit the
  // state returns a NoticeAction saying why.
  CallActions Call(const std::string& peer, TimePoint now);
  CallActions Accept(TimePoint now);
  CallActions Decline(TimePoint now);
  CallActions HangUp(TimePoint now);  // cancel, decline or hang up, whatever fits
  CallActions ApproveKey(TimePoint now);
  // This party's P2P candidates (local addresses, the address the relay saw): a
  // `candidates` message if P2P is allowed now (see above) and the list, after dropping
  // entries that fail net::CheckCandidate and keeping the first net::kMaxCandidates,
  // is non-empty and differs from the last one sent; otherwise nothing.
  CallActions OfferCandidates(std::vector<net::UdpEndpoint> candidates, TimePoint now);
  // Whether this call may use a direct path now (the conditions above).
  bool p2p_allowed() const;

  // Signaling from the server. Unparseable text is ignored like any unexpected message.
  CallActions OnServerText(std::string_view text, TimePoint now);
  CallActions OnMessage(const Message& message, TimePoint now);
  // Timers (set-up timeouts). Call about once a second or more often.
  CallActions OnTick(TimePoint now);
  // The signaling connection was lost: ends any call. The client does not call this
  // while media runs (a connected call outlives its signaling connection; the peer's
  // hang-up then arrives as OnPeerBye).
  CallActions OnDisconnected(TimePoint now);
  // The peer's bye arrived on the media path (call/control_message.h): ends a call
  // whose media runs exactly as a server `ended` with reason hangup would; nothing in
  // any other state.
  CallActions OnPeerBye(TimePoint now);

  CallState state() const { return state_; }
  const std::optional<CallId>& call_id() const { return call_id_; }
  const std::string& peer() const { return peer_; }
  const std::string& peer_device() const { return peer_device_; }
  bool media_started() const { return media_started_; }
  // Whether `id` was the id of a message this session sent in the current call.
  bool IsCallRequest(RequestId id) const { return id && request_ids_.count(*id) > 0; }

 private:
  uint64_t NextId();
  template <typename T>
  SendAction Send(T message);
  void Reset();
  CallActions End(CallActions actions, std::optional<EndReason> reason, std::string sentence);
  CallActions Fail(Message goodbye, std::string sentence);
  bool Ours(const CallId& id) const { return call_id_ && *call_id_ == id; }
  bool CheckPeerKey(CallActions& out);  // false: the user must approve
  CallActions ProceedAfterAccepted(CallActions out, TimePoint now);
  void MaybeStartMedia(CallActions& out);

  CallActions OnRoute(const Route& m, TimePoint now);
  CallActions OnRinging(const Ringing& m);
  CallActions OnIncoming(const Incoming& m, TimePoint now);
  CallActions OnAccepted(const Accepted& m, TimePoint now);
  CallActions OnRevealed(const Revealed& m);
  CallActions OnRelay(const Relay& m);
  CallActions OnPeerCandidates(const PeerCandidates& m);
  CallActions OnEnded(const Ended& m);
  CallActions OnError(const ErrorReply& m);

  CallSessionConfig config_;
  const crypto::IdentityKey* identity_;  // not owned
  crypto::IdentityStore* store_;          // not owned
  crypto::KeySource* keys_;               // not owned
  uint64_t next_request_id_;

  // The current call; all reset by Reset().
  CallState state_ = CallState::kIdle;
  bool is_caller_ = false;
  std::optional<CallId> call_id_;
  std::string peer_;
  std::string peer_device_;
  std::optional<crypto::KeyAgreement> agreement_;
  std::optional<crypto::PeerCheck> pending_check_;  // a key waiting for ApproveKey
  std::optional<crypto::CallKeys> call_keys_;
  std::optional<Relay> relay_;
  bool media_started_ = false;
  TimePoint deadline_{TimePoint::max()};  // set-up timeout of the current step
  std::set<uint64_t> request_ids_;
  std::set<uint64_t> candidate_request_ids_;  // `candidates` sent: their errors are notices
  std::vector<net::UdpEndpoint> candidates_sent_;
};

}  // namespace parley::signal
