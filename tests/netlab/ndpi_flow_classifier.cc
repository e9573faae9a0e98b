// nDPI 4.2 flow classification for the censor lab's passive DPI check.
#include "ndpi_flow_classifier.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

extern "C" {
#include <ndpi/ndpi_api.h>
}

#include "lab_packet.h"

namespace parley::netlab {

NdpiFlowClassifier::NdpiFlowClassifier() : module_(ndpi_init_detection_module(ndpi_no_prefs)) {
  if (!module_) throw std::runtime_error("nDPI could not initialise its detection module");
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(module_, &all);
  ndpi_finalize_initialization(module_);
}

NdpiFlowClassifier::~NdpiFlowClassifier() {
  for (auto& [key, flow] : flows_) {
    if (flow.state) ndpi_free_flow(flow.state);
  }
  ndpi_exit_detection_module(module_);
}

void NdpiFlowClassifier::Add(std::span<const uint8_t> ip_packet, uint64_t time_ms) {
  const auto packet = ParseLabPacket(ip_packet);
  if (!packet || (packet->protocol != 6 && packet->protocol != 17)) return;
  auto a = std::make_pair(packet->src_ip, packet->src_port);
  auto b = std::make_pair(packet->dst_ip, packet->dst_port);
  if (b < a) std::swap(a, b);
  const FlowKey key{packet->protocol, a.first, a.second, b.first, b.second};
  auto [it, inserted] = flows_.try_emplace(key);
  Flow& flow = it->second;
  if (inserted) {
    flow.order = flows_.size();
    flow.state = static_cast<ndpi_flow_struct*>(ndpi_flow_malloc(SIZEOF_FLOW_STRUCT));
    if (!flow.state) throw std::runtime_error("nDPI could not allocate a flow");
    std::memset(flow.state, 0, SIZEOF_FLOW_STRUCT);
    flow.verdict.l4 = packet->protocol == 6 ? "tcp" : "udp";
    flow.verdict.ends = Ipv4ToString(a.first) + ":" + std::to_string(a.second) + " <-> " + Ipv4ToString(b.first) +
                        ":" + std::to_string(b.second);
  }
  NdpiFlowVerdict& v = flow.verdict;
  ++v.packets;
  v.bytes += ip_packet.size();
  if (!packet->payload.empty()) ++v.payload_packets;
  const uint64_t limit = packet->protocol == 6 ? kMaxTcpPackets : kMaxUdpPackets;
  if (flow.decided || v.packets > limit) return;
  // nDPI takes at most 65535 bytes and reads the IP header's own length.
  const auto length = static_cast<unsigned short>(std::min<size_t>(ip_packet.size(), 65535));
  const ndpi_protocol result = ndpi_detection_process_packet(module_, flow.state, ip_packet.data(), length, time_ms);
  flow.master_protocol = result.master_protocol;
  flow.app_protocol = result.app_protocol;
  if (result.app_protocol != NDPI_PROTOCOL_UNKNOWN && !ndpi_extra_dissection_possible(module_, flow.state)) {
    flow.decided = true;
    Describe(flow, result.master_protocol, result.app_protocol);
  }
}

void NdpiFlowClassifier::Describe(Flow& flow, uint16_t master_protocol, uint16_t app_protocol) {
  ndpi_protocol protocol = NDPI_PROTOCOL_NULL;
  protocol.master_protocol = master_protocol;
  protocol.app_protocol = app_protocol;
  char name[64];
  flow.verdict.proto = ndpi_protocol2name(module_, protocol, name, sizeof name);
  flow.verdict.app = ndpi_get_proto_name(module_, app_protocol);
  flow.verdict.master = ndpi_get_proto_name(module_, master_protocol);
  flow.verdict.confidence = ndpi_confidence_get_name(flow.state->confidence);
  flow.verdict.sni = flow.state->host_server_name;
}

std::vector<NdpiFlowVerdict> NdpiFlowClassifier::Finish() {
  std::vector<Flow*> ordered;
  for (auto& [key, flow] : flows_) ordered.push_back(&flow);
  std::sort(ordered.begin(), ordered.end(), [](const Flow* x, const Flow* y) { return x->order < y->order; });
  std::vector<NdpiFlowVerdict> out;
  for (Flow* flow : ordered) {
    if (!flow->decided) {
      uint8_t guessed = 0;
      const ndpi_protocol result = ndpi_detection_giveup(module_, flow->state, 1, &guessed);
      // giveup returns what the packets proved, or a guess by port; a flow that was
      // seen as something mid-way keeps that.
      const bool known = result.app_protocol != NDPI_PROTOCOL_UNKNOWN || result.master_protocol != NDPI_PROTOCOL_UNKNOWN;
      Describe(*flow, known ? result.master_protocol : flow->master_protocol,
               known ? result.app_protocol : flow->app_protocol);
      flow->decided = true;
    }
    out.push_back(flow->verdict);
  }
  return out;
}

}  // namespace parley::netlab
