// In-call control messages carried in the sealed control stream: the receiver report
// (loss figures and timestamps for the round-trip time). docs/protocol.md, "In-call control messages".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"

namespace parley::call {

// Sent by each side once per report interval about the media it receives.
//   report = 0x01 || u32be expected || u32be received || u32be sent_ms
//            || u32be echo_ms || u32be echo_delay_ms                  (21 bytes)
// `sent_ms` is the sender's own clock in ms (any origin, wraps at 2^32); `echo_ms` is
// the `sent_ms` of the newest report received from the peer (0: none yet) and
// `echo_delay_ms` how long ago it arrived, so the peer computes
// rtt = now_ms - echo_ms - echo_delay_ms on its own clock, as RTCP's LSR/DLSR do
// (RFC 3550 §6.4.1).
struct ReceiverReport {
  uint32_t expected = 0;
  uint32_t received = 0;
  uint32_t sent_ms = 0;
  uint32_t echo_ms = 0;
  uint32_t echo_delay_ms = 0;
  bool operator==(const ReceiverReport&) const = default;
};

inline constexpr uint8_t kReceiverReportType = 0x01;
inline constexpr std::size_t kReceiverReportSize = 21;

std::vector<uint8_t> SerializeReceiverReport(const ReceiverReport& report);

// Strict: exactly kReceiverReportSize bytes of type 0x01, and received <= expected
// is NOT required (late packets of an earlier interval count where they arrive).
// The content was authenticated, but the peer may still be hostile: fuzzed
// (fuzz/control_message_fuzzer.cc). Pure; any thread.
Result<ReceiverReport> ParseReceiverReport(std::span<const uint8_t> bytes);

}  // namespace parley::call
