// Builds IPv4 UDP/TCP packets for the censor lab's unit tests (header-only test helper).
#pragma once

#include <cstdint>
#include <vector>

namespace parley::netlab::testing {

inline std::vector<uint8_t> Ipv4Packet(uint8_t protocol, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                                       const std::vector<uint8_t>& payload, bool syn = false) {
  const size_t l4 = protocol == 6 ? 20 : 8;
  const size_t total = 20 + l4 + payload.size();
  std::vector<uint8_t> p(total, 0);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[8] = 64;
  p[9] = protocol;
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    p[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  uint8_t* h = p.data() + 20;
  h[0] = static_cast<uint8_t>(sport >> 8);
  h[1] = static_cast<uint8_t>(sport);
  h[2] = static_cast<uint8_t>(dport >> 8);
  h[3] = static_cast<uint8_t>(dport);
  if (protocol == 17) {
    h[4] = static_cast<uint8_t>((8 + payload.size()) >> 8);
    h[5] = static_cast<uint8_t>(8 + payload.size());
  } else {
    h[12] = 5 << 4;
    h[13] = syn ? 0x02 : 0x18;  // SYN, or PSH|ACK
    h[14] = 0xFF;
  }
  for (size_t i = 0; i < payload.size(); ++i) p[20 + l4 + i] = payload[i];
  return p;
}

inline constexpr uint32_t kClient = 0x0A4D0102;  // 10.77.1.2
inline constexpr uint32_t kServer = 0x0A4D0302;  // 10.77.3.2

}  // namespace parley::netlab::testing
