// Seals outgoing media or control packets of one call direction: padding, counter,
// XChaCha20-Poly1305, counter masking, and the forward key ratchet.
// docs/protocol.md, "Sealed packet", "Padding", "Ratchet".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/crypto/call_keys.h"
#include "parley/crypto/key_ratchet.h"
#include "parley/crypto/padding_policy.h"

namespace parley::crypto {

// Invariants: no two packets are ever sealed under one key with one counter (the
// counter only grows, across epochs too, and the epoch key is a function of the
// counter); keys of past epochs are erased when the epoch ends; everything is wiped on
// destruction (the end of the call). `now` must not go backwards. One sealer per
// stream and direction; not thread-safe; may run on a different thread than the
// stream's PacketOpener (they share nothing).
class PacketSealer {
 public:
  PacketSealer(const DirectionKeys& keys, TimePoint now, PaddingPolicy padding = PaddingPolicy::Buckets(),
               RatchetSchedule schedule = {});

  // Writes the sealed packet to `out` (which must not overlap `content` and must hold
  // padding().SealedSize(content.size()) bytes) and returns its size. The packet never
  // matches crypto::MatchesClassifierSignature (wire_shape.h): one that would is sealed
  // again under the next counter (about 1 packet in 250). Fails only if
  // the content does not fit the padding policy (or, after 2^64 packets, never in
  // practice, when the counter is exhausted). `min_sealed_size` (0: none) pads to at
  // least that many bytes as the policy would pad content of that size (the next
  // bucket up; ignored where the policy cannot: a constant size): the bitrate
  // controller's probes send at the rate they test whatever the speech. The padding is
  // inside the seal, so the receiver sees nothing new.
  Result<std::size_t> SealInto(std::span<const uint8_t> content, TimePoint now, std::span<uint8_t> out,
                               std::size_t min_sealed_size = 0);
  Result<std::vector<uint8_t>> Seal(std::span<const uint8_t> content, TimePoint now, std::size_t min_sealed_size = 0);
  // The sealed size of `content_size` bytes padded to at least `min_sealed_size`.
  Result<std::size_t> SealedSize(std::size_t content_size, std::size_t min_sealed_size = 0) const;

  const PaddingPolicy& padding() const { return padding_; }
  uint64_t next_counter() const { return next_counter_; }
  uint64_t epoch() const { return ratchet_.epoch(); }
  // Packets sealed again because their leading bytes matched a classifier signature.
  uint64_t signature_redraws() const { return signature_redraws_; }

 private:
  // The next counter to use (moving to its epoch's keys), or an error when exhausted.
  Result<uint64_t> TakeCounter(TimePoint now);
  void SealWithCounter(std::span<const uint8_t> content, uint64_t counter, std::size_t sealed_size,
                       std::span<uint8_t> out);

  KeyRatchet ratchet_;
  Secret<32> header_key_;
  PaddingPolicy padding_;
  RatchetSchedule schedule_;
  uint64_t next_counter_ = 0;
  uint64_t signature_redraws_ = 0;
  TimePoint epoch_started_;
};

}  // namespace parley::crypto
