// The relay's obfuscated UDP framing: bind and ack encoding, the mark and the mask.
#include "parley/net/relay_framing.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "parley/base/check.h"
#include "parley/crypto/header_protection.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::net {
namespace {

constexpr char kBindKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "PRLYBIND";
constexpr uint64_t kMarkKeyId = 1;  // never reuse or renumber
constexpr uint64_t kMaskKeyId = 2;
constexpr char kAckAssociatedData[] = "parley relay ack";

constexpr std::size_t kMarkOffset = kRelayNonceSize;
constexpr std::size_t kTicketOffset = kMarkOffset + kRelayMarkSize;
constexpr std::size_t kBoxOffset = kTicketOffset + kRelayTicketSize;

static_assert(crypto_shorthash_BYTES == kRelayMarkSize && crypto_shorthash_KEYBYTES == 16);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kRelayNonceSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kRelayTagSize);
static_assert(crypto_stream_xchacha20_NONCEBYTES == kRelayNonceSize);
static_assert(kRelayAckMinSize <= crypto::kPaddingBuckets[1]);

void StoreBigEndian16(uint16_t value, uint8_t* out) {
  out[0] = static_cast<uint8_t>(value >> 8);
  out[1] = static_cast<uint8_t>(value);
}
uint16_t LoadBigEndian16(const uint8_t* in) { return static_cast<uint16_t>(in[0] << 8 | in[1]); }

// Copies the random nonce into `out` with the first byte's top bits set to 01.
void WriteNonce(std::span<const uint8_t, kRelayNonceSize> nonce, uint8_t* out) {
  std::memcpy(out, nonce.data(), kRelayNonceSize);
  out[0] = static_cast<uint8_t>(kFirstByteFixedBits | (out[0] & kFirstByteRandomMask));
}

std::array<uint8_t, kRelayMarkSize> Mark(const RelayBindKeys& keys, const uint8_t* nonce) {
  std::array<uint8_t, kRelayMarkSize> mark;
  crypto_shorthash(mark.data(), nonce, kRelayNonceSize, keys.mark_key.data());
  return mark;
}

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

RelayBindKeys::RelayBindKeys(std::span<const uint8_t, kRelayKeySize> bind_key) {
  crypto::EnsureSodium();
  static_assert(crypto_kdf_KEYBYTES == kRelayKeySize);
  crypto_kdf_derive_from_key(mark_key.data(), mark_key.size(), kMarkKeyId, kBindKdfContext, bind_key.data());
  crypto_kdf_derive_from_key(mask_key.data(), mask_key.size(), kMaskKeyId, kBindKdfContext, bind_key.data());
}

std::size_t RelayBindSize(std::size_t sealed_size) {
  const std::size_t needed = kRelayBindOverhead + sealed_size;
  for (std::size_t bucket : crypto::kPaddingBuckets) {
    if (bucket >= needed) return bucket;
  }
  return 0;
}

void WriteRelayBind(const RelayBindKeys& keys, std::span<const uint8_t, kRelayTicketSize> ticket,
                    const crypto::Secret<32>& hop_key, std::span<const uint8_t, kRelayNonceSize> nonce,
                    uint64_t elapsed_ms, std::span<const uint8_t> sealed, std::span<uint8_t> out) {
  PARLEY_CHECK(sealed.empty() || (sealed.size() >= crypto::kMinSealedSize && sealed.size() <= kMaxSealedInBind));
  PARLEY_CHECK_MSG(out.size() == RelayBindSize(sealed.size()), "a bind buffer must be RelayBindSize bytes");
  uint8_t* p = out.data();
  WriteNonce(nonce, p);
  const auto mark = Mark(keys, p);
  std::memcpy(p + kMarkOffset, mark.data(), kRelayMarkSize);
  crypto_stream_xchacha20_xor(p + kTicketOffset, ticket.data(), kRelayTicketSize, p, keys.mask_key.data());

  uint8_t* box = p + kBoxOffset;
  const std::size_t plain_size = out.size() - kBoxOffset - kRelayTagSize;
  crypto::StoreBigEndian64(elapsed_ms, box);
  StoreBigEndian16(static_cast<uint16_t>(sealed.size()), box + 8);
  if (!sealed.empty()) std::memcpy(box + kRelayBindHeaderSize, sealed.data(), sealed.size());
  std::memset(box + kRelayBindHeaderSize + sealed.size(), 0, plain_size - kRelayBindHeaderSize - sealed.size());
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(box, &written, box, plain_size, ticket.data(), ticket.size(), nullptr,
                                             p, hop_key.data());
  PARLEY_CHECK(written == plain_size + kRelayTagSize);
}

bool HasRelayBindMark(const RelayBindKeys& keys, std::span<const uint8_t> datagram) {
  if (datagram.size() < kRelayBindOverhead || datagram.size() > kMaxRelayDatagramSize) return false;
  const auto mark = Mark(keys, datagram.data());
  return sodium_memcmp(mark.data(), datagram.data() + kMarkOffset, kRelayMarkSize) == 0;
}

std::array<uint8_t, kRelayTicketSize> UnmaskRelayTicket(const RelayBindKeys& keys,
                                                        std::span<const uint8_t> datagram) {
  PARLEY_CHECK(datagram.size() >= kRelayBindOverhead);
  std::array<uint8_t, kRelayTicketSize> ticket;
  crypto_stream_xchacha20_xor(ticket.data(), datagram.data() + kTicketOffset, kRelayTicketSize, datagram.data(),
                              keys.mask_key.data());
  return ticket;
}

Result<RelayBindContents> OpenRelayBind(const crypto::Secret<32>& hop_key,
                                        std::span<const uint8_t, kRelayTicketSize> ticket,
                                        std::span<const uint8_t> datagram, std::span<uint8_t> scratch) {
  if (datagram.size() < kRelayBindOverhead || datagram.size() > kMaxRelayDatagramSize) {
    return Error{"The relay bind is " + std::to_string(datagram.size()) + " bytes; it must be " +
                 std::to_string(kRelayBindOverhead) + " to " + std::to_string(kMaxRelayDatagramSize) + "."};
  }
  const std::size_t box_size = datagram.size() - kBoxOffset;
  const std::size_t plain_size = box_size - kRelayTagSize;
  PARLEY_CHECK_MSG(scratch.size() >= plain_size, "scratch buffer too small to open a bind");
  unsigned long long opened = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(scratch.data(), &opened, nullptr, datagram.data() + kBoxOffset,
                                                 box_size, ticket.data(), ticket.size(), datagram.data(),
                                                 hop_key.data()) != 0) {
    return Error{"The relay bind does not authenticate with its ticket's hop key."};
  }
  PARLEY_CHECK(opened == plain_size);
  RelayBindContents contents;
  contents.elapsed_ms = crypto::LoadBigEndian64(scratch.data());
  const std::size_t sealed_size = LoadBigEndian16(scratch.data() + 8);
  if (sealed_size > plain_size - kRelayBindHeaderSize ||
      (sealed_size != 0 && sealed_size < crypto::kMinSealedSize)) {
    return Error{"The relay bind says it carries " + std::to_string(sealed_size) + " bytes, but " +
                 std::to_string(plain_size - kRelayBindHeaderSize) +
                 " follow (a sealed packet is empty or at least 25 bytes)."};
  }
  contents.sealed = std::span<const uint8_t>(scratch.data() + kRelayBindHeaderSize, sealed_size);
  return contents;
}

bool RelayAckContents::is_ipv4() const { return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), ip.begin()); }

void WriteRelayAck(const crypto::Secret<32>& hop_key, std::span<const uint8_t, kRelayNonceSize> nonce,
                   const RelayAckContents& ack, std::span<uint8_t> out) {
  PARLEY_CHECK(out.size() >= kRelayAckMinSize && out.size() <= kMaxRelayDatagramSize);
  uint8_t* p = out.data();
  WriteNonce(nonce, p);
  uint8_t* box = p + kRelayNonceSize;
  const std::size_t plain_size = out.size() - kRelayNonceSize - kRelayTagSize;
  std::memset(box, 0, plain_size);
  crypto::StoreBigEndian64(ack.elapsed_ms, box);
  box[8] = ack.is_ipv4() ? 4 : 6;
  std::memcpy(box + 9, ack.ip.data(), 16);
  StoreBigEndian16(ack.port, box + 25);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(box, &written, box, plain_size,
                                             reinterpret_cast<const uint8_t*>(kAckAssociatedData),
                                             sizeof(kAckAssociatedData) - 1, nullptr, p, hop_key.data());
  PARLEY_CHECK(written == plain_size + kRelayTagSize);
}

Result<RelayAckContents> OpenRelayAck(const crypto::Secret<32>& hop_key, std::span<const uint8_t> datagram) {
  if (datagram.size() < kRelayAckMinSize || datagram.size() > kMaxRelayDatagramSize) {
    return Error{"A relay ack is " + std::to_string(kRelayAckMinSize) + " to " +
                 std::to_string(kMaxRelayDatagramSize) + " bytes, not " + std::to_string(datagram.size()) + "."};
  }
  std::array<uint8_t, kMaxRelayDatagramSize> plain;
  unsigned long long opened = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &opened, nullptr, datagram.data() + kRelayNonceSize, datagram.size() - kRelayNonceSize,
          reinterpret_cast<const uint8_t*>(kAckAssociatedData), sizeof(kAckAssociatedData) - 1, datagram.data(),
          hop_key.data()) != 0) {
    return Error{"The datagram is not a relay ack for this ticket."};
  }
  RelayAckContents ack;
  ack.elapsed_ms = crypto::LoadBigEndian64(plain.data());
  const uint8_t family = plain[8];
  std::memcpy(ack.ip.data(), plain.data() + 9, 16);
  ack.port = LoadBigEndian16(plain.data() + 25);
  if ((family != 4 && family != 6) || (family == 4) != ack.is_ipv4()) {
    return Error{"The relay ack names address family " + std::to_string(family) +
                 " that does not match its address; the relay is broken."};
  }
  return ack;
}

}  // namespace parley::net
