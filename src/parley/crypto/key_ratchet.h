// A one-way chain of packet keys for one direction of one stream: epoch e's AEAD key
// and nonce prefix come from chain key e, which is then replaced by chain key e+1 and
// erased, so a key stolen now does not open earlier epochs. docs/protocol.md, "Ratchet".
#pragma once

#include <chrono>
#include <cstdint>

#include "parley/crypto/secret.h"

namespace parley::crypto {

// The keys that seal and open the packets of one epoch.
struct EpochKeys {
  Secret<32> aead_key;   // XChaCha20-Poly1305 key
  Secret<16> nonce_prefix;  // first 16 of the 24 nonce bytes; the counter follows
};

// Invariants: epoch() only grows; after AdvanceTo(e) nothing that could derive the
// keys of an epoch below e is left in this object. Copyable on purpose, so a receiver
// can advance a copy speculatively and keep it only if a packet authenticates.
// Plain value; not thread-safe.
class KeyRatchet {
 public:
  // `chain_key` is chain key 0 (from DeriveCallKeys); epoch 0 becomes current.
  explicit KeyRatchet(const Secret<32>& chain_key);

  uint64_t epoch() const { return epoch_; }
  const EpochKeys& keys() const { return keys_; }

  // Moves forward to `epoch` (>= epoch()), one KDF step per epoch, erasing as it goes.
  void AdvanceTo(uint64_t epoch);

 private:
  void DeriveCurrent();  // keys_ and next_chain_key_ from next_chain_key_ (then erased)

  uint64_t epoch_ = 0;
  EpochKeys keys_;
  Secret<32> next_chain_key_;  // chain key of epoch_ + 1
};

}  // namespace parley::crypto

namespace parley::crypto {

// When senders move to the next epoch. The epoch of a packet is its counter >>
// counter_bits, so the receiver needs no other signal: a sender that ratchets on time
// jumps its counter to the first counter of the next epoch. Both ends must use the
// same counter_bits (a protocol constant: 20); tests use smaller values.
struct RatchetSchedule {
  int counter_bits = 20;                                    // 2^20 packets per epoch
  std::chrono::nanoseconds max_epoch_age = std::chrono::minutes(10);  // sender side only
};

}  // namespace parley::crypto
