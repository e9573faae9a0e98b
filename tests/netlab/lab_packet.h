// The censor lab's view of one IPv4 packet: addresses, ports and the transport payload,
// parsed from the raw bytes NFQUEUE or a capture hands over (tests/netlab only).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace parley::netlab {

struct LabPacket {
  uint32_t src_ip = 0;  // host byte order
  uint32_t dst_ip = 0;
  uint8_t protocol = 0;  // 6 TCP, 17 UDP; others carry no ports or payload here
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  bool tcp_syn = false;
  // The transport payload, a view into the bytes given to ParseLabPacket: valid only
  // while they live. Truncated to what was captured.
  std::span<const uint8_t> payload;
};

// nullopt for anything that is not a well-formed IPv4 packet (IPv6, a truncated
// header, a bad header length); non-first fragments parse with an empty payload and
// no ports. Never reads outside `ip`.
std::optional<LabPacket> ParseLabPacket(std::span<const uint8_t> ip);

// "10.77.1.2" for a host-order address.
std::string Ipv4ToString(uint32_t ip);

}  // namespace parley::netlab
