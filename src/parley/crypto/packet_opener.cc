// Packet opening: header unmasking, two-phase replay check, XChaCha20-Poly1305.
#include "parley/crypto/packet_opener.h"

#include <sodium.h>

#include <string>

#include "parley/base/check.h"
#include "parley/crypto/header_protection.h"
#include "parley/crypto/padding_policy.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::crypto {

PacketOpener::PacketOpener(const DirectionKeys& keys, RatchetSchedule schedule)
    : header_key_(keys.header_key), schedule_(schedule), current_(keys.chain_key) {
  EnsureSodium();
  PARLEY_CHECK(schedule_.counter_bits >= 1 && schedule_.counter_bits <= 62);
}

Result<PacketOpener::Opened> PacketOpener::OpenInto(std::span<const uint8_t> packet, std::span<uint8_t> out) {
  if (packet.size() < kMinSealedSize || packet.size() > kMaxSealedSize) {
    return Error{"sealed packet of " + std::to_string(packet.size()) + " bytes is outside " +
                 std::to_string(kMinSealedSize) + ".." + std::to_string(kMaxSealedSize)};
  }
  // The first byte's top bits are 01 on the wire and not covered by the AEAD: refuse any
  // other value, so no altered copy of a packet can open.
  if ((packet[0] & 0xC0) != kMaskedFirstByteFixedBits) {
    return Error{"sealed packet does not start with the bits 01"};
  }
  const std::size_t padded_size = packet.size() - kSealedHeaderSize - kSealedTagSize;
  PARLEY_CHECK_MSG(out.size() >= padded_size, "output buffer too small to open the packet");
  const uint8_t* ciphertext = packet.data() + kSealedHeaderSize;

  uint8_t header[kSealedHeaderSize];
  const auto mask =
      HeaderMask(header_key_, std::span<const uint8_t, kHeaderSampleSize>(ciphertext, kHeaderSampleSize));
  for (std::size_t i = 0; i < kSealedHeaderSize; ++i) header[i] = packet[i] ^ mask[i];
  header[0] &= 0x3F;  // the sender replaced the top two bits (always zero in the counter) with 01
  const uint64_t counter = LoadBigEndian64(header);

  // Phase 1: refuse replays before spending a decryption on them.
  switch (window_.Check(counter)) {
    case ReplayWindow::Verdict::kNew: break;
    case ReplayWindow::Verdict::kDuplicate: return Error{"replayed packet"};
    case ReplayWindow::Verdict::kTooOld: return Error{"packet older than the replay window"};
  }

  // Pick the epoch keys; a newer epoch is derived on a copy, kept only if it opens.
  const uint64_t epoch = counter >> schedule_.counter_bits;
  const KeyRatchet* keys = nullptr;
  std::optional<KeyRatchet> next_previous, next_current;
  if (epoch == current_.epoch()) {
    keys = &current_;
  } else if (previous_ && epoch == previous_->epoch()) {
    keys = &*previous_;
  } else if (epoch > current_.epoch() && epoch - current_.epoch() <= kMaxEpochSkip) {
    next_previous.emplace(current_);
    next_previous->AdvanceTo(epoch - 1);
    next_current.emplace(*next_previous);
    next_current->AdvanceTo(epoch);
    keys = &*next_current;
  } else {
    return Error{"packet from an epoch whose keys are gone or too far ahead"};
  }

  const auto nonce = PacketNonce(keys->keys().nonce_prefix, counter);
  unsigned long long plaintext_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &plaintext_size, nullptr, ciphertext,
                                                 packet.size() - kSealedHeaderSize, nullptr, 0, nonce.data(),
                                                 keys->keys().aead_key.data()) != 0) {
    return Error{"packet failed authentication"};
  }
  PARLEY_CHECK(plaintext_size == padded_size);
  // Authentic but badly padded: only a broken or hostile peer sends this. Refuse it
  // without moving the window, like any other bad packet.
  auto content_size = UnpaddedSize(out.first(padded_size));
  if (!content_size.ok()) return Error{"authenticated packet has " + content_size.error().message};

  // Phase 2: the packet is authentic; now the state may change.
  window_.Commit(counter);
  if (next_current) {
    previous_ = std::move(next_previous);
    current_ = std::move(*next_current);
  }
  // The previous epoch's keys go as soon as its last counter falls out of the window.
  if (previous_) {
    const uint64_t last_of_previous = (current_.epoch() << schedule_.counter_bits) - 1;
    if (window_.highest() - last_of_previous >= ReplayWindow::kSize) previous_.reset();
  }
  return Opened{*content_size, counter};
}

Result<std::vector<uint8_t>> PacketOpener::Open(std::span<const uint8_t> packet) {
  std::vector<uint8_t> out(packet.size() >= kSealedHeaderSize + kSealedTagSize
                               ? packet.size() - kSealedHeaderSize - kSealedTagSize
                               : 0);
  auto opened = OpenInto(packet, out);
  if (!opened.ok()) return opened.error();
  out.resize(opened->size);
  return out;
}

}  // namespace parley::crypto
