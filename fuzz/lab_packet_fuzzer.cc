// Fuzzes the censor lab's packet parser and payload rules (tests/netlab): whatever the
// bytes, parsing stays inside them and every rule and the judge return without fault.
#include <cstddef>
#include <cstdint>
#include <span>

#include "../tests/netlab/censor_judge.h"
#include "../tests/netlab/lab_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::netlab;
  const std::span<const uint8_t> bytes(data, size);
  const auto packet = ParseLabPacket(bytes);
  if (!packet) return 0;
  if (!packet->payload.empty() &&
      (packet->payload.data() < data || packet->payload.data() + packet->payload.size() > data + size)) {
    __builtin_trap();  // the payload view left the input
  }
  (void)FullyEncryptedExemption(packet->payload);
  (void)AllowlistAccepts(packet->payload);
  (void)UdpSignature(packet->payload);
  (void)TcpSignature(packet->payload);
  for (CensorMode mode : {CensorMode::kFullyEncrypted, CensorMode::kAllowlist, CensorMode::kSignatures}) {
    CensorJudge judge(mode, [] { return 0.0; });
    (void)judge.Judge(*packet);
    (void)judge.Judge(*packet);
  }
  (void)Ipv4ToString(packet->src_ip);
  return 0;
}
