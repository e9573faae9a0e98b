// Classifies the flows of a packet capture with nDPI 4.2, the DPI library Debian ships:
// what a censor's DPI box would call each flow (notes/censorship.md §4, API flow).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

struct ndpi_detection_module_struct;
struct ndpi_flow_struct;

namespace parley::netlab {

struct NdpiFlowVerdict {
  std::string l4;            // "udp" or "tcp"
  std::string ends;          // "10.77.1.2:40000 <-> 10.77.3.2:443", lower end first
  uint64_t packets = 0;      // in both directions
  uint64_t payload_packets = 0;
  uint64_t bytes = 0;        // IP bytes
  std::string proto;         // nDPI's name: "TLS", "RTP", "Unknown", "TLS.Google"
  std::string app;           // the application protocol's name ("Unknown" if none)
  std::string master;        // the master protocol's name ("Unknown" if none)
  std::string confidence;    // "DPI", "Match by port", "Unknown", ...
  std::string sni;           // TLS server name, HTTP host or STUN realm nDPI found; may be empty
};

// One detection module; flows keyed on (protocol, both ends) regardless of direction.
// Not thread-safe; not copyable.
class NdpiFlowClassifier {
 public:
  NdpiFlowClassifier();
  ~NdpiFlowClassifier();
  NdpiFlowClassifier(const NdpiFlowClassifier&) = delete;
  NdpiFlowClassifier& operator=(const NdpiFlowClassifier&) = delete;

  // One IPv4 packet from its IP header on, in capture order; `time_ms` only grows.
  // Packets that are not IPv4 TCP/UDP are ignored.
  void Add(std::span<const uint8_t> ip_packet, uint64_t time_ms);

  // Gives up on the flows still undecided (guessing by port, as a DPI box reports
  // them) and returns every flow, in the order first seen. Call once.
  std::vector<NdpiFlowVerdict> Finish();

 private:
  using FlowKey = std::tuple<uint8_t, uint32_t, uint16_t, uint32_t, uint16_t>;
  struct Flow {
    ndpi_flow_struct* state = nullptr;
    NdpiFlowVerdict verdict;
    uint16_t master_protocol = 0;
    uint16_t app_protocol = 0;
    bool decided = false;  // nDPI is done with it: later packets are only counted
    size_t order = 0;
  };
  // nDPI gives up after about this many packets (ndpiReader's defaults).
  static constexpr uint64_t kMaxUdpPackets = 24;
  static constexpr uint64_t kMaxTcpPackets = 80;

  void Describe(Flow& flow, uint16_t master_protocol, uint16_t app_protocol);

  ndpi_detection_module_struct* module_;
  std::map<FlowKey, Flow> flows_;
};

}  // namespace parley::netlab
