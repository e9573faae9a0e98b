// In-call control messages carried in the sealed control stream: the receiver report
// (loss figures and timestamps for the round-trip time), the quality report (what the
// bitrate controller steers by), the path probe and its reply, and bye (a hang-up that
// needs no server). docs/protocol.md, "In-call control messages", "Path probes and
// path choice".
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

// Sent on one path to measure it; the peer answers on the path it arrived on.
//   probe = 0x02 || u8 path || u32be sequence || u32be sent_ms           (10 bytes)
// `path` is the sender's own number for the path, `sent_ms` its own clock: both are
// only echoed.
struct ProbeMessage {
  uint8_t path = 0;
  uint32_t sequence = 0;
  uint32_t sent_ms = 0;
  bool operator==(const ProbeMessage&) const = default;
};

//   probe reply = 0x03 || u8 path || u32be sequence || u32be echo_ms
//                 || u32be reply_delay_ms                                 (14 bytes)
// path, sequence and echo_ms copied from the probe; reply_delay_ms how long the probe
// waited before this reply left, so rtt = now - sent - reply_delay_ms.
struct ProbeReply {
  uint8_t path = 0;
  uint32_t sequence = 0;
  uint32_t echo_ms = 0;
  uint32_t reply_delay_ms = 0;
  bool operator==(const ProbeReply&) const = default;
};

inline constexpr uint8_t kProbeType = 0x02;
inline constexpr std::size_t kProbeSize = 10;
inline constexpr uint8_t kProbeReplyType = 0x03;
inline constexpr std::size_t kProbeReplySize = 14;

// Sent by each side once per report interval, next to the receiver report, about the
// media it receives: what the peer's bitrate controller steers by.
//   quality = 0x04 || u8 flags || u16be loss_before || u16be loss_after
//             || u16be jitter_ms || u16be jitter_buffer_ms || u16be queue_delay_ms
//             || u32be received_bps || u16be interval_ms                (18 bytes)
// Losses are in units of 1/10000 (0..10000; a reader clamps larger values); ms values
// saturate at 65535. Flag bit 0 (kQualityFlagDataSaving): the sender of the report
// asks its peer to keep what it sends within data-saving limits; other bits are sent 0
// and ignored.
struct QualityReport {
  bool data_saving = false;
  uint16_t loss_before_recovery = 0;  // 1/10000 of packets expected (as the 0x01 report)
  uint16_t loss_after_recovery = 0;   // 1/10000 of frames due that were concealed (PLC)
  uint16_t jitter_ms = 0;             // RFC 3550 §6.4.1 interarrival jitter of media packets
  uint16_t jitter_buffer_ms = 0;      // audio buffered at the receiver now
  // Mean one-way delay of media packets in the interval above the lowest seen in the
  // last ~10 s: a queue building somewhere on the path (delay-based congestion signal).
  uint16_t queue_delay_ms = 0;
  uint32_t received_bps = 0;  // sealed media bytes that arrived in the interval, bit/s
  uint16_t interval_ms = 0;   // the interval these figures cover (reports come every
                              // second, every 250 ms while the receiver sees trouble)
  bool operator==(const QualityReport&) const = default;

  double loss_before_fraction() const { return loss_before_recovery > 10000 ? 1.0 : loss_before_recovery / 10000.0; }
  double loss_after_fraction() const { return loss_after_recovery > 10000 ? 1.0 : loss_after_recovery / 10000.0; }
};

inline constexpr uint8_t kQualityReportType = 0x04;
inline constexpr std::size_t kQualityReportSize = 18;
inline constexpr uint8_t kQualityFlagDataSaving = 0x01;

std::vector<uint8_t> SerializeQualityReport(const QualityReport& report);
// Strict as ParseReceiverReport (exact size and type), but unknown flag bits are
// ignored rather than refused, so they can carry later requests. Fuzzed. Pure.
Result<QualityReport> ParseQualityReport(std::span<const uint8_t> bytes);

// Saturating conversions for filling a QualityReport.
uint16_t LossUnits(double fraction);   // 0..1 -> 0..10000
uint16_t SaturatedMs(double ms);       // <0 -> 0, > 65535 -> 65535

std::vector<uint8_t> SerializeProbe(const ProbeMessage& probe);
std::vector<uint8_t> SerializeProbeReply(const ProbeReply& reply);
// Strict as ParseReceiverReport: the exact size and type or a one-sentence error.
// Fuzzed (fuzz/control_message_fuzzer.cc). Pure; any thread.
Result<ProbeMessage> ParseProbe(std::span<const uint8_t> bytes);
Result<ProbeReply> ParseProbeReply(std::span<const uint8_t> bytes);

// Sent by a party that hangs up, on the media path itself, so that the peer ends the
// call even when the server that set it up no longer knows it (parleyd restarted, or
// the client reconnected to another node).
//   bye = 0x05 || u8 reason                                              (2 bytes)
// reason 0x01 = hangup; a reader treats any other value as hangup too, so later
// reasons stay compatible. Sent three times (control packets are not retransmitted);
// the copies are distinct sealed packets, so the replay window passes each once.
enum class ByeReason : uint8_t { kHangup = 0x01 };
struct ByeMessage {
  ByeReason reason = ByeReason::kHangup;
  bool operator==(const ByeMessage&) const = default;
};

inline constexpr uint8_t kByeType = 0x05;
inline constexpr std::size_t kByeSize = 2;
inline constexpr int kByeCopies = 3;

std::vector<uint8_t> SerializeBye(const ByeMessage& bye);
// Strict as ParseReceiverReport (exact size and type); an unknown reason reads as
// kHangup. Fuzzed (fuzz/control_message_fuzzer.cc). Pure; any thread.
Result<ByeMessage> ParseBye(std::span<const uint8_t> bytes);

}  // namespace parley::call
