// The lab censor's payload rules; sources beside each function.
#include "censor_rules.h"

#include <algorithm>
#include <bit>

namespace parley::netlab {
namespace {

bool Printable(uint8_t b) { return b >= 0x20 && b <= 0x7e; }

bool StartsWith(std::span<const uint8_t> payload, std::string_view prefix) {
  return payload.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), payload.begin(),
                                                       [](char c, uint8_t b) { return static_cast<uint8_t>(c) == b; });
}

}  // namespace

FeExemption FullyEncryptedExemption(std::span<const uint8_t> payload) {
  if (payload.empty()) return FeExemption::kPopcount;  // nothing to judge
  // Ex1 (Wu et al. §4.1): average popcount per byte outside (3.4, 4.6).
  size_t bits = 0;
  for (uint8_t b : payload) bits += static_cast<size_t>(std::popcount(b));
  const double per_byte = static_cast<double>(bits) / static_cast<double>(payload.size());
  if (per_byte <= 3.4 || per_byte >= 4.6) return FeExemption::kPopcount;
  // Ex2: the first six bytes printable.
  if (payload.size() >= 6 && std::all_of(payload.begin(), payload.begin() + 6, Printable)) {
    return FeExemption::kPrintablePrefix;
  }
  // Ex3: more than half printable.
  const auto printable = static_cast<size_t>(std::count_if(payload.begin(), payload.end(), Printable));
  if (printable * 2 > payload.size()) return FeExemption::kMostlyPrintable;
  // Ex4: a printable run longer than 20.
  size_t run = 0;
  for (uint8_t b : payload) {
    run = Printable(b) ? run + 1 : 0;
    if (run > 20) return FeExemption::kPrintableRun;
  }
  // Ex5: TLS or HTTP (the paper's regular expressions).
  if (payload.size() >= 3 && (payload[0] == 0x16 || payload[0] == 0x17) && payload[1] == 0x03 && payload[2] <= 0x09) {
    return FeExemption::kProtocolPrefix;
  }
  for (std::string_view method : {"GET ", "PUT ", "POST ", "HEAD "}) {
    if (StartsWith(payload, method)) return FeExemption::kProtocolPrefix;
  }
  return FeExemption::kNone;
}

std::string_view FeExemptionName(FeExemption exemption) {
  switch (exemption) {
    case FeExemption::kNone: return "none";
    case FeExemption::kPopcount: return "Ex1 popcount";
    case FeExemption::kPrintablePrefix: return "Ex2 printable prefix";
    case FeExemption::kMostlyPrintable: return "Ex3 mostly printable";
    case FeExemption::kPrintableRun: return "Ex4 printable run";
    case FeExemption::kProtocolPrefix: return "Ex5 TLS/HTTP prefix";
  }
  return "?";
}

bool LooksLikeTlsClientHello(std::span<const uint8_t> payload) {
  // Record: type 22 (handshake), version 3.x; handshake type 1 (ClientHello).
  return payload.size() >= 6 && payload[0] == 0x16 && payload[1] == 0x03 && payload[2] <= 0x04 && payload[5] == 0x01;
}

bool LooksLikeHttpRequest(std::span<const uint8_t> payload) {
  for (std::string_view method : {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ",
                                  "TRACE "}) {
    if (StartsWith(payload, method)) return true;
  }
  return false;
}

bool LooksLikeDnsOverTcp(std::span<const uint8_t> payload) {
  // RFC 1035 §4.2.2: a two-byte length, then a message; a query (QR = 0) with at
  // least one question.
  if (payload.size() < 2 + 12) return false;
  const size_t length = static_cast<size_t>(payload[0] << 8 | payload[1]);
  const bool query = (payload[4] & 0x80) == 0;
  const unsigned questions = static_cast<unsigned>(payload[6] << 8 | payload[7]);
  return length == payload.size() - 2 && query && questions >= 1;
}

bool AllowlistAccepts(std::span<const uint8_t> payload) {
  return LooksLikeTlsClientHello(payload) || LooksLikeHttpRequest(payload) || LooksLikeDnsOverTcp(payload);
}

Signature UdpSignature(std::span<const uint8_t> p) {
  // STUN (RFC 5389 §6): message length + 20 = datagram size, magic cookie 0x2112A442.
  if (p.size() >= 20 && (p[0] & 0xC0) == 0 && static_cast<size_t>(p[2] << 8 | p[3]) + 20 == p.size() &&
      p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xA4 && p[7] == 0x42) {
    return Signature::kStun;
  }
  // DTLS (RFC 6347 §4.1): content type 20..23, version fe ff (1.0) or fe fd (1.2).
  if (p.size() >= 13 && p[0] >= 20 && p[0] <= 23 && p[1] == 0xFE && (p[2] == 0xFF || p[2] == 0xFD)) {
    return Signature::kDtls;
  }
  // RTP as nDPI 4.2 sees it (protocols/rtp.c): version 2 with byte 0 0x80 or 0xA0, a
  // payload type <= 34 or 96..127.
  if (p.size() >= 12 && (p[0] == 0x80 || p[0] == 0xA0)) {
    const uint8_t type = p[1] & 0x7F;
    if (type <= 34 || type >= 96) return Signature::kRtp;
  }
  // RTCP (RFC 3550 §6.4): version 2, packet type 200..204.
  if (p.size() >= 8 && (p[0] & 0xC0) == 0x80 && p[1] >= 200 && p[1] <= 204) return Signature::kRtcp;
  // WireGuard: message type 1..4 followed by three reserved zero bytes.
  if (p.size() >= 4 && p[0] >= 1 && p[0] <= 4 && p[1] == 0 && p[2] == 0 && p[3] == 0) return Signature::kWireGuard;
  // Telegram's UDP (nDPI 4.2 protocols/telegram.c): >= 40 bytes with a run of 12 0xff.
  if (p.size() >= 40) {
    size_t run = 0;
    for (uint8_t b : p) {
      run = b == 0xFF ? run + 1 : 0;
      if (run == 12) return Signature::kMtproto;
    }
  }
  return Signature::kNone;
}

Signature TcpSignature(std::span<const uint8_t> p) {
  // MTProto transports: abridged 0xef, intermediate 0xeeeeeeee, padded 0xdddddddd.
  if (p.size() > 56 && p[0] == 0xEF) return Signature::kMtproto;
  if (p.size() >= 4 && ((p[0] == 0xEE && p[1] == 0xEE && p[2] == 0xEE && p[3] == 0xEE) ||
                        (p[0] == 0xDD && p[1] == 0xDD && p[2] == 0xDD && p[3] == 0xDD))) {
    return Signature::kMtproto;
  }
  // WhatsApp's TCP prologue "ED\0\1" (nDPI 4.2 protocols/whatsapp.c).
  if (StartsWith(p, std::string_view("ED\0\1", 4))) return Signature::kWhatsApp;
  // STUN over TCP (RFC 5389 §7.2.2) carries the same header.
  if (p.size() >= 20 && (p[0] & 0xC0) == 0 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xA4 && p[7] == 0x42) {
    return Signature::kStun;
  }
  return Signature::kNone;
}

std::string_view SignatureName(Signature signature) {
  switch (signature) {
    case Signature::kNone: return "none";
    case Signature::kStun: return "STUN";
    case Signature::kRtp: return "RTP";
    case Signature::kRtcp: return "RTCP";
    case Signature::kDtls: return "DTLS";
    case Signature::kWireGuard: return "WireGuard";
    case Signature::kMtproto: return "MTProto";
    case Signature::kWhatsApp: return "WhatsApp";
  }
  return "?";
}

}  // namespace parley::netlab
