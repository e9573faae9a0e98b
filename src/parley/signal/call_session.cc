// The client call state machine: invite -> route -> offer -> ringing -> accepted ->
// reveal on the caller; incoming -> accept -> revealed on the callee; relay on both.
#include "parley/signal/call_session.h"

#include <utility>

#include "parley/net/candidate_address.h"

namespace parley::signal {
namespace {

std::string KeySentence(const std::string& peer, const std::string& device, const crypto::PeerCheck& check,
                        bool blocked) {
  if (blocked) {
    if (check.status == crypto::PeerKeyStatus::kNewDevice) {
      return "You verified " + peer + ", but this call comes from their new device '" + device +
             "': compare safety numbers (parley verify " + peer + ") and approve it, or hang up.";
    }
    return "You verified " + peer + ", but their identity key has changed: the call is held until you "
           "compare safety numbers again (parley verify " + peer + ") and approve the new key.";
  }
  if (check.status == crypto::PeerKeyStatus::kNewDevice) {
    return peer + " is using a new device '" + device + "'; compare the call fingerprint out loud to be sure.";
  }
  return "Warning: " + peer + "'s identity key has changed since your last call; compare the call "
         "fingerprint out loud, and safety numbers with `parley verify " + peer + "`.";
}

}  // namespace

std::string_view ToString(CallState state) {
  switch (state) {
    case CallState::kIdle: return "idle";
    case CallState::kInviting: return "calling";
    case CallState::kOffering: return "calling";
    case CallState::kRinging: return "ringing";
    case CallState::kIncoming: return "incoming";
    case CallState::kAwaitingApproval: return "key-approval";
    case CallState::kConnecting: return "connecting";
    case CallState::kConnected: return "connected";
  }
  return "unknown";
}

CallSession::CallSession(CallSessionConfig config, const crypto::IdentityKey& identity,
                         crypto::IdentityStore& store, crypto::KeySource& keys)
    : config_(std::move(config)),
      identity_(&identity),
      store_(&store),
      keys_(&keys),
      next_request_id_(config_.first_request_id) {}

uint64_t CallSession::NextId() {
  const uint64_t id = next_request_id_++;
  if (next_request_id_ > kMaxRequestId) next_request_id_ = config_.first_request_id;
  request_ids_.insert(id);
  return id;
}

template <typename T>
SendAction CallSession::Send(T message) {
  message.id = NextId();
  return SendAction{Message{std::move(message)}};
}

void CallSession::Reset() {
  state_ = CallState::kIdle;
  is_caller_ = false;
  call_id_.reset();
  peer_.clear();
  peer_device_.clear();
  agreement_.reset();
  pending_check_.reset();
  call_keys_.reset();
  relay_.reset();
  media_started_ = false;
  deadline_ = TimePoint::max();
  request_ids_.clear();
  candidate_request_ids_.clear();
  candidates_sent_.clear();
}

CallActions CallSession::End(CallActions actions, std::optional<EndReason> reason, std::string sentence) {
  const bool connected = media_started_;
  if (media_started_) actions.emplace_back(StopMediaAction{});
  actions.emplace_back(CallEndedAction{reason, std::move(sentence), connected});
  Reset();
  return actions;
}

// Ends the call here after something went wrong, telling the server with `goodbye`.
CallActions CallSession::Fail(Message goodbye, std::string sentence) {
  CallActions out;
  std::visit([&](auto m) { out.emplace_back(Send(std::move(m))); }, std::move(goodbye));
  return End(std::move(out), std::nullopt, std::move(sentence));
}

// --- User actions -----------------------------------------------------------------

CallActions CallSession::Call(const std::string& peer, TimePoint now) {
  if (state_ != CallState::kIdle) return {NoticeAction{"You are already in a call; hang up first."}};
  if (peer == config_.user) return {NoticeAction{"You cannot call yourself."}};
  CallId id{};
  keys_->Fill(id);
  Reset();
  state_ = CallState::kInviting;
  is_caller_ = true;
  call_id_ = id;
  peer_ = peer;
  deadline_ = now + config_.setup_timeout;
  CallActions out;
  out.emplace_back(Send(Invite{.id = {}, .call_id = id, .to = peer}));
  return out;
}

CallActions CallSession::Accept(TimePoint now) {
  if (state_ != CallState::kIncoming) return {NoticeAction{"There is no incoming call to answer."}};
  if (pending_check_) {
    return {NoticeAction{"Approve " + peer_ + "'s new identity key first (press 'y' after comparing safety "
                         "numbers), or decline."}};
  }
  auto accept = agreement_->MakeAccept();
  if (!accept) return Fail(signal::Decline{.id = {}, .call_id = *call_id_}, "The call could not be answered: " + accept.error().message);
  state_ = CallState::kConnecting;
  deadline_ = now + config_.setup_timeout;
  CallActions out;
  out.emplace_back(Send(signal::Accept{.id = {}, .call_id = *call_id_, .key = std::move(*accept)}));
  return out;
}

CallActions CallSession::Decline(TimePoint /*now*/) {
  if (state_ != CallState::kIncoming) return {NoticeAction{"There is no incoming call to decline."}};
  CallActions out;
  out.emplace_back(Send(signal::Decline{.id = {}, .call_id = *call_id_}));
  return End(std::move(out), std::nullopt, "You declined the call from " + peer_ + ".");
}

CallActions CallSession::HangUp(TimePoint now) {
  switch (state_) {
    case CallState::kIdle:
      return {NoticeAction{"There is no call to hang up."}};
    case CallState::kIncoming:
      return Decline(now);
    case CallState::kInviting:
    case CallState::kOffering:
    case CallState::kRinging: {
      CallActions out;
      out.emplace_back(Send(Cancel{.id = {}, .call_id = *call_id_}));
      return End(std::move(out), std::nullopt, "You cancelled the call to " + peer_ + ".");
    }
    case CallState::kAwaitingApproval:
    case CallState::kConnecting:
    case CallState::kConnected: {
      CallActions out;
      out.emplace_back(Send(Hangup{.id = {}, .call_id = *call_id_}));
      return End(std::move(out), std::nullopt, "You hung up the call with " + peer_ + ".");
    }
  }
  return {};
}

CallActions CallSession::ApproveKey(TimePoint now) {
  if (!pending_check_ || !agreement_ || !agreement_->peer_identity()) {
    return {NoticeAction{"There is no identity key waiting for your approval."}};
  }
  const crypto::IdentityPublicKey key = *agreement_->peer_identity();
  if (Status s = store_->Approve(peer_, peer_device_, key); !s) {
    return {NoticeAction{"Could not save the approved key: " + s.error().message}};
  }
  pending_check_.reset();
  CallActions out;
  out.emplace_back(NoticeAction{"You approved " + peer_ + "'s new identity key."});
  if (state_ == CallState::kAwaitingApproval) return ProceedAfterAccepted(std::move(out), now);
  return out;  // callee: now Accept() may answer
}

// --- Signaling ----------------------------------------------------------------------

CallActions CallSession::OnServerText(std::string_view text, TimePoint now) {
  auto message = ParseMessage(text);
  if (!message) return {};
  return OnMessage(*message, now);
}

CallActions CallSession::OnMessage(const Message& message, TimePoint now) {
  return std::visit(
      [&](const auto& m) -> CallActions {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Route>) return OnRoute(m, now);
        if constexpr (std::is_same_v<T, Ringing>) return OnRinging(m);
        if constexpr (std::is_same_v<T, Incoming>) return OnIncoming(m, now);
        if constexpr (std::is_same_v<T, Accepted>) return OnAccepted(m, now);
        if constexpr (std::is_same_v<T, Revealed>) return OnRevealed(m);
        if constexpr (std::is_same_v<T, Relay>) return OnRelay(m);
        if constexpr (std::is_same_v<T, PeerCandidates>) return OnPeerCandidates(m);
        if constexpr (std::is_same_v<T, Ended>) return OnEnded(m);
        if constexpr (std::is_same_v<T, ErrorReply>) return OnError(m);
        return {};  // not about calls, or client-to-server: nothing to do here
      },
      message);
}

CallActions CallSession::OnRoute(const Route& m, TimePoint now) {
  if (state_ != CallState::kInviting || !Ours(m.call_id)) return {};
  if (!ValidateDeviceName(m.to_device)) {
    return Fail(Cancel{.id = {}, .call_id = *call_id_}, "The server named an invalid device for " + peer_ + ".");
  }
  peer_device_ = m.to_device;
  crypto::CallContext context{*call_id_, {config_.user, config_.device}, {peer_, peer_device_}};
  auto agreement = crypto::KeyAgreement::Create(crypto::Role::kCaller, context, *identity_, *keys_);
  if (!agreement) return Fail(Cancel{.id = {}, .call_id = *call_id_}, "The call could not be set up: " + agreement.error().message);
  agreement_.emplace(std::move(*agreement));
  auto commit = agreement_->MakeCommit();
  if (!commit) return Fail(Cancel{.id = {}, .call_id = *call_id_}, "The call could not be set up: " + commit.error().message);
  state_ = CallState::kOffering;
  deadline_ = now + config_.setup_timeout;
  CallActions out;
  out.emplace_back(Send(Offer{.id = {}, .call_id = *call_id_, .commit = std::move(*commit)}));
  return out;
}

CallActions CallSession::OnRinging(const Ringing& m) {
  if (state_ != CallState::kOffering || !Ours(m.call_id)) return {};
  state_ = CallState::kRinging;
  deadline_ = TimePoint::max();  // the server's ring timeout ends it
  return {RingingAction{peer_}};
}

CallActions CallSession::OnIncoming(const Incoming& m, TimePoint /*now*/) {
  if (state_ != CallState::kIdle) return {};  // the server keeps us busy; a stray copy
  if (m.from == config_.user) return {};
  if (!ValidateDeviceName(m.from_device) || m.from.empty() || m.from.size() > 255) return {};
  crypto::CallContext context{m.call_id, {m.from, m.from_device}, {config_.user, config_.device}};
  auto agreement = crypto::KeyAgreement::Create(crypto::Role::kCallee, context, *identity_, *keys_);
  if (!agreement) return {};
  if (!agreement->Receive(m.commit) || !agreement->peer_identity()) {
    // A commit that does not verify: refuse the call without ringing.
    Reset();
    call_id_ = m.call_id;
    peer_ = m.from;
    CallActions out;
    out.emplace_back(Send(signal::Decline{.id = {}, .call_id = m.call_id}));
    return End(std::move(out), std::nullopt,
               "An incoming call from " + m.from + " was refused: its key exchange did not verify.");
  }
  Reset();
  state_ = CallState::kIncoming;
  is_caller_ = false;
  call_id_ = m.call_id;
  peer_ = m.from;
  peer_device_ = m.from_device;
  agreement_.emplace(std::move(*agreement));
  IncomingAction incoming{m.from, m.from_device, {}, false};
  CallActions out;
  const crypto::IdentityPublicKey key = *agreement_->peer_identity();
  auto check = store_->CheckAndRemember(peer_, peer_device_, key);
  if (!check) {
    pending_check_ = store_->Check(peer_, peer_device_, key);
    incoming.check = *pending_check_;
    incoming.approval_needed = true;
    out.emplace_back(KeyWarningAction{peer_, peer_device_, *pending_check_, true,
                                      KeySentence(peer_, peer_device_, *pending_check_, true)});
  } else {
    incoming.check = *check;
    if (check->needs_warning()) {
      out.emplace_back(KeyWarningAction{peer_, peer_device_, *check, false,
                                        KeySentence(peer_, peer_device_, *check, false)});
    }
  }
  out.emplace(out.begin(), std::move(incoming));
  return out;
}

CallActions CallSession::OnAccepted(const Accepted& m, TimePoint now) {
  if (!is_caller_ || !Ours(m.call_id) || (state_ != CallState::kOffering && state_ != CallState::kRinging)) {
    return {};
  }
  if (Status s = agreement_->Receive(m.key); !s || !agreement_->peer_identity()) {
    if (!agreement_->aborted()) return {};  // unexpected (e.g. a copy): changes nothing
    return Fail(Hangup{.id = {}, .call_id = *call_id_},
                "The call with " + peer_ + " was ended: their key exchange did not verify.");
  }
  state_ = CallState::kConnecting;
  deadline_ = now + config_.setup_timeout;
  CallActions out;
  if (!CheckPeerKey(out)) {
    state_ = CallState::kAwaitingApproval;
    deadline_ = TimePoint::max();
    return out;
  }
  return ProceedAfterAccepted(std::move(out), now);
}

bool CallSession::CheckPeerKey(CallActions& out) {
  const crypto::IdentityPublicKey key = *agreement_->peer_identity();
  auto check = store_->CheckAndRemember(peer_, peer_device_, key);
  if (!check) {
    pending_check_ = store_->Check(peer_, peer_device_, key);
    out.emplace_back(KeyWarningAction{peer_, peer_device_, *pending_check_, true,
                                      KeySentence(peer_, peer_device_, *pending_check_, true)});
    return false;
  }
  if (check->needs_warning()) {
    out.emplace_back(
        KeyWarningAction{peer_, peer_device_, *check, false, KeySentence(peer_, peer_device_, *check, false)});
  }
  return true;
}

CallActions CallSession::ProceedAfterAccepted(CallActions out, TimePoint now) {
  auto reveal = agreement_->MakeReveal();
  if (!reveal || !agreement_->complete()) {
    return Fail(Hangup{.id = {}, .call_id = *call_id_}, "The call with " + peer_ + " could not be secured.");
  }
  state_ = CallState::kConnecting;
  deadline_ = now + config_.setup_timeout;
  out.emplace_back(Send(Reveal{.id = {}, .call_id = *call_id_, .key = std::move(*reveal)}));
  call_keys_.emplace(agreement_->TakeKeys());
  MaybeStartMedia(out);
  return out;
}

CallActions CallSession::OnRevealed(const Revealed& m) {
  if (is_caller_ || !Ours(m.call_id) || state_ != CallState::kConnecting || call_keys_) return {};
  if (Status s = agreement_->Receive(m.key); !s || !agreement_->complete()) {
    if (!agreement_->aborted()) return {};
    return Fail(Hangup{.id = {}, .call_id = *call_id_},
                "The call with " + peer_ + " was ended: their key exchange did not verify.");
  }
  call_keys_.emplace(agreement_->TakeKeys());
  CallActions out;
  MaybeStartMedia(out);
  return out;
}

CallActions CallSession::OnRelay(const Relay& m) {
  // A ticket is only for a call that was answered; before that it is ignored.
  if (!Ours(m.call_id) || (state_ != CallState::kConnecting && state_ != CallState::kAwaitingApproval)) return {};
  if (relay_) return {};
  relay_ = m;
  CallActions out;
  MaybeStartMedia(out);
  return out;
}

void CallSession::MaybeStartMedia(CallActions& out) {
  if (state_ != CallState::kConnecting || media_started_ || !call_keys_ || !relay_) return;
  state_ = CallState::kConnected;
  media_started_ = true;
  deadline_ = TimePoint::max();
  out.emplace_back(StartMediaAction{std::move(*call_keys_), relay_->host, relay_->port, relay_->ticket, peer_,
                                    relay_->hop_key, relay_->bind_key, p2p_allowed(), relay_->alternates});
  call_keys_.reset();
}

bool CallSession::p2p_allowed() const {
  return state_ == CallState::kConnected && relay_ && relay_->p2p && config_.own_p2p != Audience::kNobody;
}

CallActions CallSession::OfferCandidates(std::vector<net::UdpEndpoint> candidates, TimePoint /*now*/) {
  if (!p2p_allowed()) return {};
  std::vector<net::UdpEndpoint> usable;
  for (const net::UdpEndpoint& candidate : candidates) {
    if (usable.size() == net::kMaxCandidates) break;
    if (net::CheckCandidate(candidate).ok()) usable.push_back(candidate);
  }
  if (usable.empty() || usable == candidates_sent_) return {};
  candidates_sent_ = usable;
  SendAction send = Send(Candidates{.id = {}, .call_id = *call_id_, .candidates = std::move(usable)});
  // The server may refuse candidates (the call ended meanwhile): that must not end a
  // call whose relay path works, so their ids are not call requests.
  const uint64_t id = *MessageId(send.message);
  request_ids_.erase(id);
  candidate_request_ids_.insert(id);
  return {std::move(send)};
}

CallActions CallSession::OnPeerCandidates(const PeerCandidates& m) {
  if (!Ours(m.call_id) || !p2p_allowed() || m.candidates.empty()) return {};
  return {PeerCandidatesAction{m.candidates}};
}

CallActions CallSession::OnEnded(const Ended& m) {
  if (state_ == CallState::kIdle || !Ours(m.call_id)) return {};
  return End({}, m.reason, DescribeEnd(m.reason, peer_));
}

CallActions CallSession::OnError(const ErrorReply& m) {
  if (state_ != CallState::kIdle && m.id && candidate_request_ids_.count(*m.id) > 0) {
    return {NoticeAction{"The direct path is not available for this call (" + m.message + "); it stays on the relay."}};
  }
  if (state_ == CallState::kIdle || !IsCallRequest(m.id)) return {};
  return End({}, std::nullopt, "parleyd refused the call: " + m.message);
}

CallActions CallSession::OnTick(TimePoint now) {
  if (state_ == CallState::kIdle || now < deadline_) return {};
  if (state_ == CallState::kInviting || state_ == CallState::kOffering) {
    return Fail(Cancel{.id = {}, .call_id = *call_id_},
                "parleyd did not answer in time; check your connection and try again.");
  }
  return Fail(Hangup{.id = {}, .call_id = *call_id_},
              "The call with " + peer_ + " could not be connected in time; try again.");
}

CallActions CallSession::OnPeerBye(TimePoint /*now*/) {
  if (state_ != CallState::kConnected || !media_started_) return {};
  // Our hangup too: if the peer's signaling connection went away during the call, the
  // server kept the call (and us busy) and learns of its end only from us. A server
  // that no longer knows the call answers with an error, which an idle session ignores.
  CallActions out;
  out.emplace_back(Send(Hangup{.id = {}, .call_id = *call_id_}));
  return End(std::move(out), EndReason::kHangup, DescribeEnd(EndReason::kHangup, peer_));
}

CallActions CallSession::OnDisconnected(TimePoint /*now*/) {
  if (state_ == CallState::kIdle) return {};
  return End({}, std::nullopt, "The connection to the server was lost, so the call with " + peer_ + " ended.");
}

}  // namespace parley::signal
