// The relay's plain UDP framing: parsing, encoding and the session token.
#include "parley/net/relay_packet.h"

#include <sodium.h>

#include <cstring>
#include <string>

#include "parley/base/check.h"
#include "parley/crypto/sodium_setup.h"

namespace parley::net {
namespace {

constexpr char kTokenKey[] = "parley relay session token";

Result<RelayPacketView> SizeError(const char* what, std::size_t size) {
  return Error{std::string(what) + " carries a " + std::to_string(size) +
               "-byte sealed packet; it must be " + std::to_string(kMinSealedSize) + " to " +
               std::to_string(kMaxSealedSize) + " bytes."};
}

}  // namespace

RelaySessionToken SessionTokenFor(std::span<const uint8_t> ticket) {
  crypto::EnsureSodium();
  std::array<uint8_t, crypto_generichash_BYTES_MIN> hash;  // 16, the smallest BLAKE2b output
  crypto_generichash(hash.data(), hash.size(), ticket.data(), ticket.size(),
                     reinterpret_cast<const uint8_t*>(kTokenKey), sizeof(kTokenKey) - 1);
  RelaySessionToken token;
  std::memcpy(&token, hash.data(), sizeof(token));
  return token;
}

Result<RelayPacketView> ParseRelayPacket(std::span<const uint8_t> datagram) {
  if (datagram.empty()) return Error{"The relay packet is empty."};
  if (datagram.size() > kMaxRelayPacketSize) {
    return Error{"The relay packet is " + std::to_string(datagram.size()) + " bytes; at most " +
                 std::to_string(kMaxRelayPacketSize) + " are allowed."};
  }
  RelayPacketView view{};
  switch (datagram[0]) {
    case kRelayBindType: {
      view.kind = RelayPacketKind::kBind;
      if (datagram.size() < 2) return Error{"The relay bind packet ends before its ticket length."};
      const std::size_t ticket_size = datagram[1];
      if (ticket_size == 0) return Error{"The relay bind packet has a zero-length ticket."};
      const std::size_t remaining = datagram.size() - 2;
      if (ticket_size > remaining) {
        return Error{"The relay bind packet's ticket length is " + std::to_string(ticket_size) +
                     " but only " + std::to_string(remaining) + " bytes follow."};
      }
      view.ticket = datagram.subspan(2, ticket_size);
      view.sealed = datagram.subspan(2 + ticket_size);
      if (!view.sealed.empty() && view.sealed.size() < kMinSealedSize) {
        return SizeError("The relay bind packet", view.sealed.size());
      }
      if (view.sealed.size() > kMaxSealedSize) return SizeError("The relay bind packet", view.sealed.size());
      return view;
    }
    case kRelayDataType: {
      view.kind = RelayPacketKind::kData;
      if (datagram.size() < 1 + kRelayTokenSize) {
        return Error{"The relay data packet is " + std::to_string(datagram.size()) +
                     " bytes, too short for its session token."};
      }
      std::memcpy(&view.token, datagram.data() + 1, kRelayTokenSize);
      view.sealed = datagram.subspan(1 + kRelayTokenSize);
      if (view.sealed.size() < kMinSealedSize || view.sealed.size() > kMaxSealedSize) {
        return SizeError("The relay data packet", view.sealed.size());
      }
      return view;
    }
    default:
      return Error{"The relay packet has unknown type " + std::to_string(datagram[0]) +
                   "; only bind (1) and data (2) exist."};
  }
}

std::vector<uint8_t> MakeRelayBindPacket(std::span<const uint8_t> ticket, std::span<const uint8_t> sealed) {
  PARLEY_CHECK(!ticket.empty() && ticket.size() <= kMaxTicketSize);
  PARLEY_CHECK(sealed.empty() || (sealed.size() >= kMinSealedSize && sealed.size() <= kMaxSealedSize));
  std::vector<uint8_t> packet;
  packet.reserve(2 + ticket.size() + sealed.size());
  packet.push_back(kRelayBindType);
  packet.push_back(static_cast<uint8_t>(ticket.size()));
  packet.insert(packet.end(), ticket.begin(), ticket.end());
  packet.insert(packet.end(), sealed.begin(), sealed.end());
  return packet;
}

std::vector<uint8_t> MakeRelayDataPacket(RelaySessionToken token, std::span<const uint8_t> sealed) {
  PARLEY_CHECK(sealed.size() >= kMinSealedSize && sealed.size() <= kMaxSealedSize);
  std::vector<uint8_t> packet(1 + kRelayTokenSize + sealed.size());
  packet[0] = kRelayDataType;
  std::memcpy(packet.data() + 1, &token, kRelayTokenSize);
  std::memcpy(packet.data() + 1 + kRelayTokenSize, sealed.data(), sealed.size());
  return packet;
}

}  // namespace parley::net
