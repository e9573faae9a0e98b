// Packet sealing with libsodium's XChaCha20-Poly1305 (IETF variant).
#include "parley/crypto/packet_sealer.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "parley/base/check.h"
#include "parley/crypto/header_protection.h"
#include "parley/crypto/sodium_setup.h"
#include "parley/crypto/wire_shape.h"

namespace parley::crypto {

PacketSealer::PacketSealer(const DirectionKeys& keys, TimePoint now, PaddingPolicy padding, RatchetSchedule schedule)
    : ratchet_(keys.chain_key),
      header_key_(keys.header_key),
      padding_(padding),
      schedule_(schedule),
      epoch_started_(now) {
  EnsureSodium();
  PARLEY_CHECK(schedule_.counter_bits >= 1 && schedule_.counter_bits <= 62);
}

Result<std::size_t> PacketSealer::SealInto(std::span<const uint8_t> content, TimePoint now, std::span<uint8_t> out,
                                           std::size_t min_sealed_size) {
  auto sealed_size = SealedSize(content.size(), min_sealed_size);
  if (!sealed_size.ok()) return sealed_size.error();
  PARLEY_CHECK_MSG(out.size() >= *sealed_size, "output buffer too small for the sealed packet");

  // Wire shape (docs/protocol.md, "Sealed packet"): a packet whose leading bytes would
  // match a DPI classifier's signature is sealed again under the next counter. The
  // receiver never notices the skipped counter (its replay window accepts gaps, and
  // loss is counted on media sequence numbers), and no counter is used twice.
  for (;;) {
    auto counter = TakeCounter(now);
    if (!counter.ok()) return counter.error();
    SealWithCounter(content, *counter, *sealed_size, out);
    if (!MatchesClassifierSignature(out.first(*sealed_size))) return *sealed_size;
    ++signature_redraws_;
  }
}

Result<uint64_t> PacketSealer::TakeCounter(TimePoint now) {
  // Ratchet: by count when the counter enters the next epoch, by time by jumping the
  // counter to the next epoch's first value. Either way the counter only grows.
  const int bits = schedule_.counter_bits;
  const uint64_t last_epoch = (kCounterLimit - 1) >> bits;
  if ((next_counter_ >> bits) == ratchet_.epoch() && now - epoch_started_ >= schedule_.max_epoch_age &&
      (next_counter_ & ((uint64_t{1} << bits) - 1)) != 0) {
    if (ratchet_.epoch() == last_epoch) return Error{"packet counter exhausted; the call must start again"};
    next_counter_ = (ratchet_.epoch() + 1) << bits;
  }
  if (next_counter_ >= kCounterLimit) {
    return Error{"packet counter exhausted; the call must start again"};
  }
  if ((next_counter_ >> bits) != ratchet_.epoch()) {
    ratchet_.AdvanceTo(next_counter_ >> bits);
    epoch_started_ = now;
  }
  return next_counter_++;
}

void PacketSealer::SealWithCounter(std::span<const uint8_t> content, uint64_t counter, std::size_t sealed_size,
                                   std::span<uint8_t> out) {
  const std::size_t padded_size = sealed_size - kSealedHeaderSize - kSealedTagSize;
  uint8_t* plaintext = out.data() + kSealedHeaderSize;
  if (!content.empty()) std::memcpy(plaintext, content.data(), content.size());
  PadInPlace(std::span<uint8_t>(plaintext, padded_size), content.size(), padded_size);

  const auto nonce = PacketNonce(ratchet_.keys().nonce_prefix, counter);
  unsigned long long ciphertext_size = 0;
  // In place: libsodium allows the ciphertext to overwrite the plaintext.
  crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, &ciphertext_size, plaintext, padded_size, nullptr, 0,
                                             nullptr, nonce.data(), ratchet_.keys().aead_key.data());
  PARLEY_CHECK(ciphertext_size == padded_size + kSealedTagSize);

  const auto mask = HeaderMask(header_key_, std::span<const uint8_t, kHeaderSampleSize>(plaintext, kHeaderSampleSize));
  StoreBigEndian64(counter, out.data());
  for (std::size_t i = 0; i < kSealedHeaderSize; ++i) out[i] ^= mask[i];
  // The first byte on the wire is 01xxxxxx (docs/protocol.md, "Sealed packet"): the
  // counter's top two bits are zero, so the opener can restore them.
  out[0] = static_cast<uint8_t>(kMaskedFirstByteFixedBits | (out[0] & 0x3F));
}

Result<std::size_t> PacketSealer::SealedSize(std::size_t content_size, std::size_t min_sealed_size) const {
  auto size = padding_.SealedSize(content_size);
  if (!size.ok() || min_sealed_size <= *size) return size;
  // As if the content were as long as the floor asks (at most what a packet may carry);
  // a policy that cannot pad that far (constant) keeps its own size.
  const std::size_t floor_content = std::min(min_sealed_size, kMaxSealedSize) - kSealOverhead;
  auto larger = padding_.SealedSize(floor_content);
  return larger.ok() ? std::max(*size, *larger) : size;
}

Result<std::vector<uint8_t>> PacketSealer::Seal(std::span<const uint8_t> content, TimePoint now,
                                                std::size_t min_sealed_size) {
  auto size = SealedSize(content.size(), min_sealed_size);
  if (!size.ok()) return size.error();
  std::vector<uint8_t> out(*size);
  auto written = SealInto(content, now, out, min_sealed_size);
  if (!written.ok()) return written.error();
  out.resize(*written);
  return out;
}

}  // namespace parley::crypto
