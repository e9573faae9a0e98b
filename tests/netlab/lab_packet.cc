// IPv4/TCP/UDP header parsing for the censor lab (RFC 791, 793, 768).
#include "lab_packet.h"

#include <algorithm>
#include <cstdio>

namespace parley::netlab {
namespace {

uint16_t Be16(std::span<const uint8_t> b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t Be32(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint32_t>(b[at]) << 24 | static_cast<uint32_t>(b[at + 1]) << 16 |
         static_cast<uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

}  // namespace

std::optional<LabPacket> ParseLabPacket(std::span<const uint8_t> ip) {
  if (ip.size() < 20 || (ip[0] >> 4) != 4) return std::nullopt;
  const size_t header = static_cast<size_t>(ip[0] & 0x0F) * 4;
  const size_t total = Be16(ip, 2);
  if (header < 20 || header > ip.size() || total < header) return std::nullopt;
  // A capture may hold less than the packet (snaplen) and a link may pad it: use the
  // smaller of the two.
  const std::span<const uint8_t> body = ip.subspan(header, std::min(ip.size(), total) - header);
  LabPacket p;
  p.protocol = ip[9];
  p.src_ip = Be32(ip, 12);
  p.dst_ip = Be32(ip, 16);
  const bool first_fragment = (Be16(ip, 6) & 0x1FFF) == 0;
  if (!first_fragment) return p;
  if (p.protocol == 17) {
    if (body.size() < 8) return std::nullopt;
    p.src_port = Be16(body, 0);
    p.dst_port = Be16(body, 2);
    p.payload = body.subspan(8);
  } else if (p.protocol == 6) {
    if (body.size() < 20) return std::nullopt;
    const size_t offset = static_cast<size_t>(body[12] >> 4) * 4;
    if (offset < 20 || offset > body.size()) return std::nullopt;
    p.src_port = Be16(body, 0);
    p.dst_port = Be16(body, 2);
    p.tcp_syn = (body[13] & 0x02) != 0;
    p.payload = body.subspan(offset);
  }
  return p;
}

std::string Ipv4ToString(uint32_t ip) {
  char text[16];
  std::snprintf(text, sizeof text, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF);
  return text;
}

}  // namespace parley::netlab
