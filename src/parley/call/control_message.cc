// In-call control messages: the fixed big-endian layouts of the receiver report, the
// path probe and the probe reply.
#include "parley/call/control_message.h"

#include <string>

namespace parley::call {
namespace {

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
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

}  // namespace parley::call
