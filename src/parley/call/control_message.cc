// In-call control messages: the fixed big-endian layouts of the receiver report, the
// quality report, the path probe, the probe reply and bye.
#include "parley/call/control_message.h"

#include <cmath>
#include <string>

namespace parley::call {
namespace {

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void PutU16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

uint16_t GetU16(std::span<const uint8_t> bytes, std::size_t at) {
  return static_cast<uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

uint32_t GetU32(std::span<const uint8_t> bytes, std::size_t at) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = v << 8 | bytes[at + i];
  return v;
}

// The type byte and exact size every control message is checked for.
Status CheckLayout(std::span<const uint8_t> bytes, uint8_t type, std::size_t size, const char* name) {
  if (bytes.empty()) return Error{"control message is empty"};
  if (bytes[0] != type) return Error{"control message type " + std::to_string(bytes[0]) + " is unknown"};
  if (bytes.size() != size) {
    return Error{std::string(name) + " is " + std::to_string(bytes.size()) + " bytes, expected " +
                 std::to_string(size)};
  }
  return Ok{};
}

}  // namespace

std::vector<uint8_t> SerializeProbe(const ProbeMessage& probe) {
  std::vector<uint8_t> out;
  out.reserve(kProbeSize);
  out.push_back(kProbeType);
  out.push_back(probe.path);
  PutU32(out, probe.sequence);
  PutU32(out, probe.sent_ms);
  return out;
}

std::vector<uint8_t> SerializeProbeReply(const ProbeReply& reply) {
  std::vector<uint8_t> out;
  out.reserve(kProbeReplySize);
  out.push_back(kProbeReplyType);
  out.push_back(reply.path);
  PutU32(out, reply.sequence);
  PutU32(out, reply.echo_ms);
  PutU32(out, reply.reply_delay_ms);
  return out;
}

Result<ProbeMessage> ParseProbe(std::span<const uint8_t> bytes) {
  if (Status s = CheckLayout(bytes, kProbeType, kProbeSize, "probe"); !s) return s.error();
  return ProbeMessage{bytes[1], GetU32(bytes, 2), GetU32(bytes, 6)};
}

Result<ProbeReply> ParseProbeReply(std::span<const uint8_t> bytes) {
  if (Status s = CheckLayout(bytes, kProbeReplyType, kProbeReplySize, "probe reply"); !s) return s.error();
  return ProbeReply{bytes[1], GetU32(bytes, 2), GetU32(bytes, 6), GetU32(bytes, 10)};
}

std::vector<uint8_t> SerializeReceiverReport(const ReceiverReport& report) {
  std::vector<uint8_t> out;
  out.reserve(kReceiverReportSize);
  out.push_back(kReceiverReportType);
  PutU32(out, report.expected);
  PutU32(out, report.received);
  PutU32(out, report.sent_ms);
  PutU32(out, report.echo_ms);
  PutU32(out, report.echo_delay_ms);
  return out;
}

Result<ReceiverReport> ParseReceiverReport(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return Error{"control message is empty"};
  if (bytes[0] != kReceiverReportType) {
    return Error{"control message type " + std::to_string(bytes[0]) + " is unknown"};
  }
  if (bytes.size() != kReceiverReportSize) {
    return Error{"receiver report is " + std::to_string(bytes.size()) + " bytes, expected " +
                 std::to_string(kReceiverReportSize)};
  }
  ReceiverReport report;
  report.expected = GetU32(bytes, 1);
  report.received = GetU32(bytes, 5);
  report.sent_ms = GetU32(bytes, 9);
  report.echo_ms = GetU32(bytes, 13);
  report.echo_delay_ms = GetU32(bytes, 17);
  return report;
}

std::vector<uint8_t> SerializeQualityReport(const QualityReport& report) {
  std::vector<uint8_t> out;
  out.reserve(kQualityReportSize);
  out.push_back(kQualityReportType);
  out.push_back(report.data_saving ? kQualityFlagDataSaving : 0);
  PutU16(out, report.loss_before_recovery);
  PutU16(out, report.loss_after_recovery);
  PutU16(out, report.jitter_ms);
  PutU16(out, report.jitter_buffer_ms);
  PutU16(out, report.queue_delay_ms);
  PutU32(out, report.received_bps);
  PutU16(out, report.interval_ms);
  return out;
}

Result<QualityReport> ParseQualityReport(std::span<const uint8_t> bytes) {
  if (Status s = CheckLayout(bytes, kQualityReportType, kQualityReportSize, "quality report"); !s) return s.error();
  QualityReport report;
  report.data_saving = (bytes[1] & kQualityFlagDataSaving) != 0;
  report.loss_before_recovery = GetU16(bytes, 2);
  report.loss_after_recovery = GetU16(bytes, 4);
  report.jitter_ms = GetU16(bytes, 6);
  report.jitter_buffer_ms = GetU16(bytes, 8);
  report.queue_delay_ms = GetU16(bytes, 10);
  report.received_bps = GetU32(bytes, 12);
  report.interval_ms = GetU16(bytes, 16);
  return report;
}

std::vector<uint8_t> SerializeBye(const ByeMessage& bye) {
  return {kByeType, static_cast<uint8_t>(bye.reason)};
}

Result<ByeMessage> ParseBye(std::span<const uint8_t> bytes) {
  if (Status s = CheckLayout(bytes, kByeType, kByeSize, "bye"); !s) return s.error();
  return ByeMessage{ByeReason::kHangup};  // the only reason so far; others read as it
}

uint16_t LossUnits(double fraction) {
  if (!(fraction > 0)) return 0;  // also NaN
  if (fraction >= 1) return 10000;
  return static_cast<uint16_t>(std::lround(fraction * 10000));
}

uint16_t SaturatedMs(double ms) {
  if (!(ms > 0)) return 0;
  if (ms >= 65535) return 65535;
  return static_cast<uint16_t>(std::lround(ms));
}

}  // namespace parley::call
