// The lab censor's per-packet decisions (notes/censorship.md §1).
#include "censor_judge.h"

#include <utility>

namespace parley::netlab {

CensorJudge::CensorJudge(CensorMode mode, std::function<double()> uniform01)
    : mode_(mode), uniform01_(std::move(uniform01)) {}

CensorJudge::FlowKey CensorJudge::KeyOf(const LabPacket& p) {
  auto a = std::make_pair(p.src_ip, p.src_port);
  auto b = std::make_pair(p.dst_ip, p.dst_port);
  if (b < a) std::swap(a, b);
  return {p.protocol, a.first, a.second, b.first, b.second};
}

CensorVerdict CensorJudge::Judge(const LabPacket& packet) {
  if ((packet.protocol != 6 && packet.protocol != 17) || packet.payload.empty()) return {};
  if (mode_ == CensorMode::kSignatures) return JudgeSignature(packet);
  if (packet.protocol != 6) return {};
  return JudgeFirstPayload(packet);
}

CensorVerdict CensorJudge::JudgeFirstPayload(const LabPacket& packet) {
  // Only the first payload of a flow is judged, in the client-to-server direction:
  // the router queues only each connection's first packets in the original direction.
  if (!judged_.insert(KeyOf(packet)).second) return {};
  const std::string where = Ipv4ToString(packet.src_ip) + " -> " + Ipv4ToString(packet.dst_ip) + ":" +
                            std::to_string(packet.dst_port);
  const Penalty penalty{.client_ip = packet.src_ip,
                        .server_ip = packet.dst_ip,
                        .server_port = packet.dst_port,
                        .seconds = mode_ == CensorMode::kFullyEncrypted ? kGfwPenaltySeconds
                                                                        : kAllowlistPenaltySeconds};
  if (mode_ == CensorMode::kAllowlist) {
    const uint16_t port = packet.dst_port;
    if (port != 53 && port != 80 && port != 443) return {};
    if (AllowlistAccepts(packet.payload)) return {.accept = true, .penalty = {}, .reason = "allowed " + where};
    return {.accept = false, .penalty = penalty, .reason = "blocked (not DNS, HTTP or TLS) " + where};
  }
  const FeExemption exemption = FullyEncryptedExemption(packet.payload);
  if (exemption != FeExemption::kNone) {
    return {.accept = true, .penalty = {}, .reason = "exempt (" + std::string(FeExemptionName(exemption)) + ") " + where};
  }
  if (uniform01_() >= kGfwBlockProbability) {
    return {.accept = true, .penalty = {}, .reason = "suspect but let through (p) " + where};
  }
  return {.accept = false, .penalty = penalty, .reason = "blocked (fully encrypted) " + where};
}

CensorVerdict CensorJudge::JudgeSignature(const LabPacket& packet) {
  SignatureFlow& flow = signature_[KeyOf(packet)];
  if (flow.blocked) return {.accept = false, .penalty = {}, .reason = ""};
  if (flow.inspected >= kSignaturePacketsInspected) return {};
  ++flow.inspected;
  const Signature found = packet.protocol == 17 ? UdpSignature(packet.payload) : TcpSignature(packet.payload);
  if (found == Signature::kNone) return {};
  flow.blocked = true;
  const std::string reason = "blocked flow (" + std::string(SignatureName(found)) + ") " +
                             Ipv4ToString(packet.src_ip) + ":" + std::to_string(packet.src_port) + " -> " +
                             Ipv4ToString(packet.dst_ip) + ":" + std::to_string(packet.dst_port);
  // The router queues only a TCP connection's first packets: the penalty set drops the rest.
  std::optional<Penalty> penalty;
  if (packet.protocol == 6) {
    penalty = Penalty{.client_ip = packet.src_ip,
                      .server_ip = packet.dst_ip,
                      .server_port = packet.dst_port,
                      .seconds = kGfwPenaltySeconds};
  }
  return {.accept = false, .penalty = penalty, .reason = reason};
}

}  // namespace parley::netlab
