// The passive DPI check's detector works: nDPI 4.2 calls RTP-looking random flows RTP,
// and random flows whose first byte is 0x40..0x7F (the obfuscated framing) unknown.
#include "ndpi_flow_classifier.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "lab_test_packets.h"

namespace parley::netlab {
namespace {

using testing::Ipv4Packet;
using testing::kClient;
using testing::kServer;

// A voice-like flow: 50 packets each way of random payload, with `first` as byte 0.
void AddFlow(NdpiFlowClassifier& c, uint16_t client_port, std::mt19937_64& rng, int first) {
  uint64_t t = 1000;
  for (int i = 0; i < 50; ++i) {
    for (bool up : {true, false}) {
      std::vector<uint8_t> payload(60 + rng() % 100);
      for (auto& b : payload) b = static_cast<uint8_t>(rng());
      if (first >= 0) payload[0] = static_cast<uint8_t>(first);
      const auto p = up ? Ipv4Packet(17, kClient, client_port, kServer, 40000, payload)
                        : Ipv4Packet(17, kServer, 40000, kClient, client_port, payload);
      c.Add(p, t);
    }
    t += 20;
  }
}

TEST(NdpiFlowClassifier, RtpLookingFirstByteIsCalledRtp) {
  NdpiFlowClassifier c;
  std::mt19937_64 rng(1);
  // 0x80 and a payload type nDPI accepts in the second byte.
  uint64_t t = 0;
  for (int i = 0; i < 30; ++i) {
    std::vector<uint8_t> payload(120);
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    payload[0] = 0x80;
    payload[1] = 111;
    c.Add(Ipv4Packet(17, kClient, 50000, kServer, 40000, payload), t += 20);
  }
  const auto flows = c.Finish();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].l4, "udp");
  EXPECT_EQ(flows[0].packets, 30u);
  EXPECT_NE(flows[0].proto.find("RTP"), std::string::npos) << flows[0].proto;
}

TEST(NdpiFlowClassifier, ObfuscatedFirstByteIsUnknown) {
  // 640 random flows, ten for each first byte 0x40..0x7F. None may look like voice or a
  // known VPN transport; nDPI 4.2's weakest heuristics (OpenVPN's opcode and session id,
  // Skype's "byte 2" rule) still name about 1 in 1000 random flows, so a few non-voice
  // names are tolerated here and reported by the lab.
  NdpiFlowClassifier c;
  std::mt19937_64 rng(2);
  for (int i = 0; i < 640; ++i) AddFlow(c, static_cast<uint16_t>(41000 + i), rng, 0x40 + i % 64);
  const auto flows = c.Finish();
  ASSERT_EQ(flows.size(), 640u);
  int named = 0;
  for (const auto& f : flows) {
    for (const char* voice : {"RTP", "RTCP", "STUN", "DTLS", "WireGuard", "Telegram", "WhatsApp", "Signal"}) {
      EXPECT_EQ(f.proto.find(voice), std::string::npos) << f.ends << " is " << f.proto;
    }
    if (f.app != "Unknown") ++named;
  }
  EXPECT_LE(named, 4);
}

TEST(NdpiFlowClassifier, FullyRandomFlowsAreSometimesRtp) {
  // Why the framing fixes its first byte: with random first bytes some flows look RTP.
  NdpiFlowClassifier c;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 300; ++i) AddFlow(c, static_cast<uint16_t>(42000 + i), rng, -1);
  int rtp = 0;
  for (const auto& f : c.Finish()) rtp += f.proto.find("RTP") != std::string::npos;
  EXPECT_GT(rtp, 0);
  EXPECT_LT(rtp, 100);
}

}  // namespace
}  // namespace parley::netlab
