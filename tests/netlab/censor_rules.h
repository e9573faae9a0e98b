// What the lab's censor looks for in one payload: the GFW's fully-encrypted-traffic
// exemptions, the Iran 2020 protocol allowlist, and protocol signatures of voice and
// VPN traffic (notes/censorship.md §1 and §4). Pure functions, no state.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace parley::netlab {

// Wu et al., "How the Great Firewall of China Detects and Blocks Fully Encrypted
// Traffic", USENIX Security 2023, §4: a first client payload is exempt from blocking
// if any of Ex1..Ex5 holds.
enum class FeExemption : uint8_t {
  kNone,              // looks fully encrypted: subject to blocking
  kPopcount,          // Ex1: set bits per byte <= 3.4 or >= 4.6
  kPrintablePrefix,   // Ex2: the first 6 bytes are printable (0x20..0x7e)
  kMostlyPrintable,   // Ex3: more than 50% of the bytes are printable
  kPrintableRun,      // Ex4: more than 20 contiguous printable bytes
  kProtocolPrefix,    // Ex5: TLS record [\x16\x17]\x03[\x00-\x09], or "GET ", "PUT ", "POST ", "HEAD "
};
FeExemption FullyEncryptedExemption(std::span<const uint8_t> payload);
std::string_view FeExemptionName(FeExemption exemption);

// Bock et al., "Detecting and Evading Censorship-in-Depth: A Case Study of Iran's
// Protocol Whitelister", FOCI 2020: on TCP 53/80/443 the first payload must match one
// of these or the flow is dropped.
bool LooksLikeTlsClientHello(std::span<const uint8_t> payload);  // 16 03 0x .. .. 01
bool LooksLikeHttpRequest(std::span<const uint8_t> payload);     // a method token and a space
bool LooksLikeDnsOverTcp(std::span<const uint8_t> payload);      // length prefix = rest, a query
bool AllowlistAccepts(std::span<const uint8_t> payload);

// Signatures a DPI box keys on (nDPI 4.2's dissectors, simplified as notes/censorship.md
// §1 and §4 describe them).
enum class Signature : uint8_t { kNone, kStun, kRtp, kRtcp, kDtls, kWireGuard, kMtproto, kWhatsApp };
Signature UdpSignature(std::span<const uint8_t> payload);
Signature TcpSignature(std::span<const uint8_t> payload);
std::string_view SignatureName(Signature signature);

}  // namespace parley::netlab
