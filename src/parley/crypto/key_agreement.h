// Authenticated X25519 key agreement over an untrusted message relay, with the
// caller's key committed before the callee's is seen (commit, accept, reveal).
// docs/protocol.md, "Key agreement messages" and "Key derivation".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/crypto/call_keys.h"
#include "parley/crypto/handshake_message.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/secret.h"

namespace parley::crypto {

// Who the signaling layer says is talking. Bound into every signature and into the
// keys, so a server that lies about names or devices changes the fingerprint.
struct CallParty {
  std::string user;    // 1..255 bytes
  std::string device;  // 1..255 bytes
};

struct CallContext {
  CallId call_id{};  // chosen by the caller, random
  CallParty caller;
  CallParty callee;
};

// One side of one call's key agreement. A plain state machine: no I/O, no clock;
// messages are given to it and it returns the messages to send. Not thread-safe; the
// call's own context owns it.
//
//   caller:  MakeCommit() ---->  callee: Receive(commit)   [peer identity known: check
//                                                            the identity store, ring]
//            Receive(accept) <-- MakeAccept()              [only once the user accepts]
//   [peer identity known: check the store]
//            MakeReveal() ----->  Receive(reveal)
//   both:    complete(): fingerprint(), TakeKeys()
//
// Each message is accepted once. A message that is unexpected in the current state
// (duplicate, alternative version, wrong order, reflected back to its sender, or not
// parseable) is refused with an error and changes nothing. An expected message that
// fails verification (signature, call id, identity equal to ours, all-zero or
// low-order key, reveal not matching the commitment) aborts the agreement for good:
// every later call returns an error. Secrets are wiped on completion and destruction.
class KeyAgreement {
 public:
  // Fails if a name is empty or longer than 255 bytes.
  static Result<KeyAgreement> Create(Role role, CallContext context, const IdentityKey& identity,
                                     KeySource& keys);

  KeyAgreement(KeyAgreement&&) = default;
  KeyAgreement& operator=(KeyAgreement&&) = default;

  Result<std::vector<uint8_t>> MakeCommit();  // caller, first
  Result<std::vector<uint8_t>> MakeAccept();  // callee, after Receive(commit)
  Result<std::vector<uint8_t>> MakeReveal();  // caller, after Receive(accept)
  Status Receive(std::span<const uint8_t> message);

  Role role() const { return role_; }
  bool complete() const { return state_ == State::kComplete; }
  bool aborted() const { return state_ == State::kAborted; }
  // The peer's identity key, from the first message of theirs that verified.
  const std::optional<IdentityPublicKey>& peer_identity() const { return peer_identity_; }
  // Valid once complete().
  const Fingerprint& fingerprint() const;
  // Moves the call keys out; once, after complete().
  CallKeys TakeKeys();

 private:
  enum class State {
    kStart,           // caller: nothing sent; callee: nothing received
    kCommitSent,      // caller
    kCommitReceived,  // callee
    kAcceptSent,      // callee
    kAcceptReceived,  // caller
    kComplete,
    kAborted,
  };

  KeyAgreement(Role role, CallContext context, const IdentityKey& identity, KeySource& keys);
  Status Abort(std::string reason);
  Status Refuse(const HandshakeMessage& message, std::span<const uint8_t> bytes) const;
  Status ReceiveCommit(const HandshakeMessage& message, std::span<const uint8_t> bytes);
  Status ReceiveAccept(const HandshakeMessage& message, std::span<const uint8_t> bytes);
  Status ReceiveReveal(const HandshakeMessage& message, std::span<const uint8_t> bytes);
  Status CheckCommon(const HandshakeMessage& message) const;
  std::vector<uint8_t> SignedBytes(std::string_view label, std::span<const uint8_t> prefix) const;
  void NewEphemeral();
  void Finish();  // derives the keys from the transcript; wipes the DH secrets

  Role role_;
  CallContext context_;
  const IdentityKey* identity_;  // not owned; must outlive this object
  KeySource* keys_;              // not owned; must outlive this object
  State state_ = State::kStart;
  std::string abort_reason_;
  std::array<uint8_t, 32> context_hash_{};

  Secret<32> ephemeral_secret_;
  X25519PublicKey ephemeral_public_{};
  Secret<32> shared_secret_;
  Commitment peer_commitment_{};  // callee: what the caller committed to
  std::optional<IdentityPublicKey> peer_identity_;

  // The transcript so far: the encoded messages in protocol order.
  std::vector<uint8_t> commit_, accept_, reveal_;

  std::optional<CallKeys> keys_out_;
  Fingerprint fingerprint_;
  bool keys_taken_ = false;
};

// Building blocks, exposed for the test vectors and for the web client's conformance
// tests. H(label, data) = BLAKE2b-256(label || 0x00 || data).
std::array<uint8_t, 32> DomainHash(std::string_view label, std::span<const uint8_t> data);
std::array<uint8_t, 32> ContextHash(const CallContext& context);
Commitment CommitTo(const CallId& call_id, const IdentityPublicKey& caller_identity,
                    const X25519PublicKey& caller_ephemeral);

}  // namespace parley::crypto
