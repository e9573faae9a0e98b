// netlab_ndpi_classify: prints nDPI 4.2's verdict on every flow of a pcap file, one JSON
// object per line (the censor lab's passive DPI check).
// Usage: netlab_ndpi_classify CAPTURE.pcap
#include <pcap/pcap.h>

#include <cstdio>
#include <exception>
#include <span>

#include <nlohmann/json.hpp>

#include "ndpi_flow_classifier.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: netlab_ndpi_classify CAPTURE.pcap\n");
    return 2;
  }
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* capture = pcap_open_offline(argv[1], error);
  if (!capture) {
    std::fprintf(stderr, "netlab_ndpi_classify: cannot read %s: %s\n", argv[1], error);
    return 1;
  }
  // Where the IP header starts for the link types tcpdump writes on Linux.
  size_t ip_offset = 0;
  switch (pcap_datalink(capture)) {
    case DLT_EN10MB: ip_offset = 14; break;
    case DLT_LINUX_SLL: ip_offset = 16; break;
    case DLT_LINUX_SLL2: ip_offset = 20; break;
    case DLT_RAW: ip_offset = 0; break;
    default:
      std::fprintf(stderr, "netlab_ndpi_classify: %s has link type %d, which this tool does not read; capture "
                   "on an Ethernet or veth interface.\n", argv[1], pcap_datalink(capture));
      pcap_close(capture);
      return 1;
  }
  try {
    parley::netlab::NdpiFlowClassifier classifier;
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(capture, &header, &data) == 1) {
      if (header->caplen <= ip_offset) continue;
      const uint64_t time_ms = static_cast<uint64_t>(header->ts.tv_sec) * 1000 +
                               static_cast<uint64_t>(header->ts.tv_usec) / 1000;
      classifier.Add(std::span<const uint8_t>(data + ip_offset, header->caplen - ip_offset), time_ms);
    }
    for (const auto& v : classifier.Finish()) {
      const nlohmann::json line = {{"l4", v.l4},           {"ends", v.ends},       {"packets", v.packets},
                                   {"payload_packets", v.payload_packets},       {"bytes", v.bytes},
                                   {"proto", v.proto},     {"app", v.app},         {"master", v.master},
                                   {"confidence", v.confidence},                 {"sni", v.sni}};
      std::printf("%s\n", line.dump().c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netlab_ndpi_classify: %s\n", e.what());
    pcap_close(capture);
    return 1;
  }
  pcap_close(capture);
  return 0;
}
