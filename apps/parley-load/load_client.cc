// LoadClient: a simulated user's side of docs/protocol.md "Accounts and sessions" and "Calls".
#include "load_client.h"

#include <type_traits>
#include <variant>

#include "parley/signal/client_auth.h"

namespace parley::load {
namespace {

crypto::IdentityKey IdentityFor(const std::string& user) {
  auto seed = crypto::DomainHash("parley-load identity", std::span(reinterpret_cast<const uint8_t*>(user.data()),
                                                                  user.size()));
  return crypto::IdentityKey::FromSeed(seed);
}

}  // namespace

LoadClient::LoadClient(std::string user, std::string device, crypto::KeySource& keys)
    : user_(std::move(user)), device_(std::move(device)), identity_(IdentityFor(user_)), keys_(&keys) {}

void LoadClient::Reset() {
  logged_in_ = false;
  call_.reset();
  agreement_.reset();
}

LoadOutput LoadClient::OnHello(const signal::Hello& hello) {
  LoadOutput out;
  auto purpose = login_refused_ ? signal::AuthPurpose::kRegister : signal::AuthPurpose::kLogin;
  auto answer = signal::AnswerHello(hello, purpose, "", user_, device_, identity_, NextId());
  if (!answer.ok()) {
    out.events.push_back({LoadEvent::Kind::kAuthFailed, {}, answer.error().message});
    return out;
  }
  out.send.push_back(signal::SerializeMessage(*answer));
  return out;
}

LoadOutput LoadClient::FailCall(std::string reason) {
  LoadOutput out;
  if (!call_) return out;
  signal::CallId failed = *call_;
  out = EndCall();
  out.events.push_back({LoadEvent::Kind::kCallFailed, failed, std::move(reason)});
  return out;
}

LoadOutput LoadClient::StartCall(const std::string& callee, const signal::CallId& call_id) {
  PARLEY_CHECK(idle());
  call_ = call_id;
  caller_ = true;
  answered_ = false;
  peer_ = callee;
  agreement_.reset();
  LoadOutput out;
  out.send.push_back(signal::SerializeMessage(signal::Invite{NextId(), call_id, callee}));
  return out;
}

LoadOutput LoadClient::EndCall() {
  LoadOutput out;
  if (!call_) return out;
  if (caller_ && !answered_) {
    out.send.push_back(signal::SerializeMessage(signal::Cancel{NextId(), *call_}));
  } else {
    out.send.push_back(signal::SerializeMessage(signal::Hangup{NextId(), *call_}));
  }
  call_.reset();
  agreement_.reset();
  return out;
}

LoadOutput LoadClient::OnMessage(std::string_view text) {
  auto parsed = signal::ParseMessage(text);
  if (!parsed.ok()) return FailCall("bad message from server: " + parsed.error().message);
  return std::visit(
      [&](auto& message) -> LoadOutput {
        using T = std::decay_t<decltype(message)>;
        LoadOutput out;
        if constexpr (std::is_same_v<T, signal::Hello>) {
          return OnHello(message);
        } else if constexpr (std::is_same_v<T, signal::Welcome>) {
          logged_in_ = true;
          login_refused_ = false;
          out.events.push_back({LoadEvent::Kind::kLoggedIn, {}, {}});
        } else if constexpr (std::is_same_v<T, signal::ErrorReply>) {
          if (!logged_in_) {
            if (message.code == signal::ErrorCode::kNoSuchAccount && !login_refused_) {
              login_refused_ = true;  // the next hello registers
            } else {
              out.events.push_back({LoadEvent::Kind::kAuthFailed, {}, std::string(signal::ToString(message.code))});
            }
          } else if (call_) {
            return FailCall("error " + std::string(signal::ToString(message.code)));
          }
        } else if constexpr (std::is_same_v<T, signal::Route>) {
          if (!call_ || message.call_id != *call_ || !caller_) return out;
          crypto::CallContext context{*call_, {user_, device_}, {peer_, message.to_device}};
          auto agreement = crypto::KeyAgreement::Create(crypto::Role::kCaller, context, identity_, *keys_);
          if (!agreement.ok()) return FailCall("key agreement: " + agreement.error().message);
          agreement_.emplace(std::move(*agreement));
          auto commit = agreement_->MakeCommit();
          if (!commit.ok()) return FailCall("key agreement: " + commit.error().message);
          out.send.push_back(signal::SerializeMessage(signal::Offer{NextId(), *call_, std::move(*commit)}));
        } else if constexpr (std::is_same_v<T, signal::Incoming>) {
          if (call_) return out;  // the server refuses a second call while we are in one
          call_ = message.call_id;
          caller_ = false;
          answered_ = true;
          peer_ = message.from;
          crypto::CallContext context{*call_, {message.from, message.from_device}, {user_, device_}};
          auto agreement = crypto::KeyAgreement::Create(crypto::Role::kCallee, context, identity_, *keys_);
          if (!agreement.ok()) return FailCall("key agreement: " + agreement.error().message);
          agreement_.emplace(std::move(*agreement));
          if (auto received = agreement_->Receive(message.commit); !received.ok()) {
            return FailCall("key agreement: " + received.error().message);
          }
          auto accept = agreement_->MakeAccept();
          if (!accept.ok()) return FailCall("key agreement: " + accept.error().message);
          out.send.push_back(signal::SerializeMessage(signal::Accept{NextId(), *call_, std::move(*accept)}));
        } else if constexpr (std::is_same_v<T, signal::Accepted>) {
          if (!call_ || message.call_id != *call_ || !agreement_) return out;
          answered_ = true;
          if (auto received = agreement_->Receive(message.key); !received.ok()) {
            return FailCall("key agreement: " + received.error().message);
          }
          auto reveal = agreement_->MakeReveal();
          if (!reveal.ok()) return FailCall("key agreement: " + reveal.error().message);
          out.send.push_back(signal::SerializeMessage(signal::Reveal{NextId(), *call_, std::move(*reveal)}));
        } else if constexpr (std::is_same_v<T, signal::Revealed>) {
          if (!call_ || message.call_id != *call_ || !agreement_) return out;
          if (auto received = agreement_->Receive(message.key); !received.ok() || !agreement_->complete()) {
            return FailCall("key agreement did not complete");
          }
        } else if constexpr (std::is_same_v<T, signal::Relay>) {
          if (call_ && message.call_id == *call_) out.events.push_back({LoadEvent::Kind::kRelay, *call_, {}});
        } else if constexpr (std::is_same_v<T, signal::Ended>) {
          if (call_ && message.call_id == *call_) {
            call_.reset();
            agreement_.reset();
          }
          out.events.push_back({LoadEvent::Kind::kEnded, message.call_id, std::string(signal::ToString(message.reason))});
        }
        return out;
      },
      *parsed);
}

}  // namespace parley::load
