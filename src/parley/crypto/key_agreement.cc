// The commit/accept/reveal key agreement. The commit-before-reveal order follows
// Telegram's voice calls (g_a_hash; core.telegram.org/api/end-to-end/voice-calls);
// the signatures over the transcript and the identity binding follow SIGMA-style
// authenticated Diffie-Hellman (Krawczyk, CRYPTO 2003) as Signal's calling does.
#include "parley/crypto/key_agreement.h"

#include <sodium.h>

#include <algorithm>

#include "parley/base/check.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {
namespace {

constexpr std::string_view kContextLabel = "parley-v1 context";
constexpr std::string_view kCommitmentLabel = "parley-v1 commitment";
constexpr std::string_view kTranscriptLabel = "parley-v1 transcript";
constexpr std::string_view kCommitLabel = "parley-v1 commit";
constexpr std::string_view kAcceptLabel = "parley-v1 accept";
constexpr std::string_view kRevealLabel = "parley-v1 reveal";

void Append(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
void Append(std::vector<uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}
void AppendName(std::vector<uint8_t>& out, const std::string& name) {
  PARLEY_CHECK(!name.empty() && name.size() <= 255);
  out.push_back(static_cast<uint8_t>(name.size()));
  Append(out, name);
}

const char* TypeName(HandshakeType type) {
  switch (type) {
    case HandshakeType::kCommit: return "commit";
    case HandshakeType::kAccept: return "accept";
    case HandshakeType::kReveal: return "reveal";
  }
  return "?";
}

}  // namespace

std::array<uint8_t, 32> DomainHash(std::string_view label, std::span<const uint8_t> data) {
  EnsureSodium();
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  const uint8_t separator = 0;
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, data.data(), data.size());
  std::array<uint8_t, 32> out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::array<uint8_t, 32> ContextHash(const CallContext& context) {
  std::vector<uint8_t> data;
  Append(data, context.call_id);
  AppendName(data, context.caller.user);
  AppendName(data, context.caller.device);
  AppendName(data, context.callee.user);
  AppendName(data, context.callee.device);
  return DomainHash(kContextLabel, data);
}

Commitment CommitTo(const CallId& call_id, const IdentityPublicKey& caller_identity,
                    const X25519PublicKey& caller_ephemeral) {
  std::vector<uint8_t> data;
  Append(data, call_id);
  Append(data, caller_identity);
  Append(data, caller_ephemeral);
  return DomainHash(kCommitmentLabel, data);
}

Result<KeyAgreement> KeyAgreement::Create(Role role, CallContext context, const IdentityKey& identity,
                                          KeySource& keys) {
  for (const std::string* name : {&context.caller.user, &context.caller.device, &context.callee.user,
                                  &context.callee.device}) {
    if (name->empty() || name->size() > 255) {
      return Error{"call party names and device ids must be 1 to 255 bytes"};
    }
  }
  return KeyAgreement(role, std::move(context), identity, keys);
}

KeyAgreement::KeyAgreement(Role role, CallContext context, const IdentityKey& identity, KeySource& keys)
    : role_(role), context_(std::move(context)), identity_(&identity), keys_(&keys) {
  EnsureSodium();
  context_hash_ = ContextHash(context_);
}

void KeyAgreement::NewEphemeral() {
  keys_->Fill(ephemeral_secret_.span());
  crypto_scalarmult_base(ephemeral_public_.data(), ephemeral_secret_.data());
}

std::vector<uint8_t> KeyAgreement::SignedBytes(std::string_view label, std::span<const uint8_t> prefix) const {
  // label || 0x00 || context hash || earlier messages || this message without signature
  std::vector<uint8_t> data;
  Append(data, label);
  data.push_back(0);
  Append(data, context_hash_);
  if (label != kCommitLabel) Append(data, commit_);
  if (label == kRevealLabel) Append(data, accept_);
  Append(data, prefix);
  return data;
}

Status KeyAgreement::Abort(std::string reason) {
  state_ = State::kAborted;
  abort_reason_ = std::move(reason);
  ephemeral_secret_.Wipe();
  shared_secret_.Wipe();
  return Error{"key agreement aborted: " + abort_reason_};
}

Result<std::vector<uint8_t>> KeyAgreement::MakeCommit() {
  if (role_ != Role::kCaller || state_ != State::kStart) {
    return Error{aborted() ? "key agreement aborted: " + abort_reason_ : "commit is sent once, by the caller, first"};
  }
  NewEphemeral();
  HandshakeMessage m;
  m.type = HandshakeType::kCommit;
  m.call_id = context_.call_id;
  m.identity = identity_->public_key();
  m.key = CommitTo(m.call_id, m.identity, ephemeral_public_);
  commit_ = SerializeHandshakeMessage(m);
  m.signature = identity_->Sign(SignedBytes(kCommitLabel, SignedPrefix(commit_)));
  commit_ = SerializeHandshakeMessage(m);
  state_ = State::kCommitSent;
  return commit_;
}

Result<std::vector<uint8_t>> KeyAgreement::MakeAccept() {
  if (role_ != Role::kCallee || state_ != State::kCommitReceived) {
    return Error{aborted() ? "key agreement aborted: " + abort_reason_
                           : "accept is sent once, by the callee, after the commit"};
  }
  NewEphemeral();
  HandshakeMessage m;
  m.type = HandshakeType::kAccept;
  m.call_id = context_.call_id;
  m.identity = identity_->public_key();
  m.key = ephemeral_public_;
  accept_ = SerializeHandshakeMessage(m);
  m.signature = identity_->Sign(SignedBytes(kAcceptLabel, SignedPrefix(accept_)));
  accept_ = SerializeHandshakeMessage(m);
  state_ = State::kAcceptSent;
  return accept_;
}

Result<std::vector<uint8_t>> KeyAgreement::MakeReveal() {
  if (role_ != Role::kCaller || state_ != State::kAcceptReceived) {
    return Error{aborted() ? "key agreement aborted: " + abort_reason_
                           : "reveal is sent once, by the caller, after the accept"};
  }
  HandshakeMessage m;
  m.type = HandshakeType::kReveal;
  m.call_id = context_.call_id;
  m.key = ephemeral_public_;
  reveal_ = SerializeHandshakeMessage(m);
  m.signature = identity_->Sign(SignedBytes(kRevealLabel, SignedPrefix(reveal_)));
  reveal_ = SerializeHandshakeMessage(m);
  Finish();
  return reveal_;
}

Status KeyAgreement::Receive(std::span<const uint8_t> bytes) {
  if (aborted()) return Error{"key agreement aborted: " + abort_reason_};
  auto parsed = ParseHandshakeMessage(bytes);
  if (!parsed.ok()) return Error{"refused handshake message: " + parsed.error().message};
  const HandshakeMessage& m = *parsed;
  if (role_ == Role::kCallee && m.type == HandshakeType::kCommit && state_ == State::kStart) {
    return ReceiveCommit(m, bytes);
  }
  if (role_ == Role::kCaller && m.type == HandshakeType::kAccept && state_ == State::kCommitSent) {
    return ReceiveAccept(m, bytes);
  }
  if (role_ == Role::kCallee && m.type == HandshakeType::kReveal && state_ == State::kAcceptSent) {
    return ReceiveReveal(m, bytes);
  }
  return Refuse(m, bytes);
}

Status KeyAgreement::Refuse(const HandshakeMessage& m, std::span<const uint8_t> bytes) const {
  const std::string type = TypeName(m.type);
  const std::vector<uint8_t>* seen = nullptr;
  if (m.type == HandshakeType::kCommit) seen = &commit_;
  if (m.type == HandshakeType::kAccept) seen = &accept_;
  if (m.type == HandshakeType::kReveal) seen = &reveal_;
  const bool ours = (role_ == Role::kCaller) == (m.type != HandshakeType::kAccept);
  if (ours) return Error{"refused " + type + ": this side sends " + type + " messages, it does not receive them"};
  if (!seen->empty()) {
    const bool same = seen->size() == bytes.size() && std::equal(bytes.begin(), bytes.end(), seen->begin());
    return Error{same ? "refused duplicate " + type
                      : "refused a second, different " + type + " (each message is accepted once)"};
  }
  return Error{"refused " + type + ": it arrived out of order"};
}

Status KeyAgreement::CheckCommon(const HandshakeMessage& m) const {
  if (sodium_memcmp(m.call_id.data(), context_.call_id.data(), m.call_id.size()) != 0) {
    return Error{"the message belongs to another call"};
  }
  return Ok{};
}

Status KeyAgreement::ReceiveCommit(const HandshakeMessage& m, std::span<const uint8_t> bytes) {
  if (auto s = CheckCommon(m); !s.ok()) return Abort(s.error().message);
  // A message signed with our own identity key is a reflection (or a clone of us).
  if (m.identity == identity_->public_key()) return Abort("the commit carries our own identity key");
  if (!IdentityKey::Verify(m.identity, SignedBytes(kCommitLabel, SignedPrefix(bytes)), m.signature)) {
    return Abort("the commit's signature does not verify");
  }
  commit_.assign(bytes.begin(), bytes.end());
  peer_commitment_ = m.key;
  peer_identity_ = m.identity;
  state_ = State::kCommitReceived;
  return Ok{};
}

Status KeyAgreement::ReceiveAccept(const HandshakeMessage& m, std::span<const uint8_t> bytes) {
  if (auto s = CheckCommon(m); !s.ok()) return Abort(s.error().message);
  if (m.identity == identity_->public_key()) return Abort("the accept carries our own identity key");
  if (!IdentityKey::Verify(m.identity, SignedBytes(kAcceptLabel, SignedPrefix(bytes)), m.signature)) {
    return Abort("the accept's signature does not verify");
  }
  // RFC 7748 §6.1: check for the all-zero output. libsodium's crypto_scalarmult does
  // that and also refuses the known low-order inputs (returns -1); the explicit
  // all-zero input check keeps the rule visible and independent of the library.
  if (sodium_is_zero(m.key.data(), m.key.size())) return Abort("the callee's key is all zero");
  if (crypto_scalarmult(shared_secret_.data(), ephemeral_secret_.data(), m.key.data()) != 0) {
    return Abort("the callee's key is a low-order point");
  }
  accept_.assign(bytes.begin(), bytes.end());
  peer_identity_ = m.identity;
  state_ = State::kAcceptReceived;
  return Ok{};
}

Status KeyAgreement::ReceiveReveal(const HandshakeMessage& m, std::span<const uint8_t> bytes) {
  if (auto s = CheckCommon(m); !s.ok()) return Abort(s.error().message);
  if (!IdentityKey::Verify(*peer_identity_, SignedBytes(kRevealLabel, SignedPrefix(bytes)), m.signature)) {
    return Abort("the reveal's signature does not verify");
  }
  const Commitment expected = CommitTo(context_.call_id, *peer_identity_, m.key);
  if (sodium_memcmp(expected.data(), peer_commitment_.data(), expected.size()) != 0) {
    return Abort("the caller's revealed key does not match its commitment");
  }
  if (sodium_is_zero(m.key.data(), m.key.size())) return Abort("the caller's key is all zero");
  if (crypto_scalarmult(shared_secret_.data(), ephemeral_secret_.data(), m.key.data()) != 0) {
    return Abort("the caller's key is a low-order point");
  }
  reveal_.assign(bytes.begin(), bytes.end());
  Finish();
  return Ok{};
}

void KeyAgreement::Finish() {
  std::vector<uint8_t> transcript;
  Append(transcript, context_hash_);
  Append(transcript, commit_);
  Append(transcript, accept_);
  Append(transcript, reveal_);
  const auto transcript_hash = DomainHash(kTranscriptLabel, transcript);
  Secret<32> prk = ExtractPrk(shared_secret_.span(), transcript_hash);
  keys_out_ = DeriveCallKeys(prk, role_);
  fingerprint_ = keys_out_->fingerprint;
  ephemeral_secret_.Wipe();
  shared_secret_.Wipe();
  state_ = State::kComplete;
}

const Fingerprint& KeyAgreement::fingerprint() const {
  PARLEY_CHECK_MSG(complete(), "the fingerprint exists once the key agreement is complete");
  return fingerprint_;
}

CallKeys KeyAgreement::TakeKeys() {
  PARLEY_CHECK_MSG(complete() && !keys_taken_, "call keys are taken once, after completion");
  keys_taken_ = true;
  CallKeys keys = std::move(*keys_out_);
  keys_out_.reset();
  return keys;
}

}  // namespace parley::crypto
