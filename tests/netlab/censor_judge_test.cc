// The lab censor's per-flow decisions: first payload only, the GFW's probability and
// penalty, the allowlist's ports, signature flows blocked for good.
#include "censor_judge.h"

#include <vector>

#include <gtest/gtest.h>

#include "lab_test_packets.h"

namespace parley::netlab {
namespace {

using testing::Ipv4Packet;
using testing::kClient;
using testing::kServer;

LabPacket Parse(const std::vector<uint8_t>& bytes) {
  auto p = ParseLabPacket(bytes);
  EXPECT_TRUE(p.has_value());
  return *p;
}

const std::vector<uint8_t> kSuspect(64, 0x0F);  // popcount 4, unprintable: no exemption

TEST(CensorJudge, FullyEncryptedBlocksWithProbabilityAndPenalisesTheTriple) {
  double draw = 0.1;  // below 0.263: blocked
  CensorJudge judge(CensorMode::kFullyEncrypted, [&] { return draw; });
  const auto syn = Ipv4Packet(6, kClient, 40000, kServer, 443, {}, true);
  EXPECT_TRUE(judge.Judge(Parse(syn)).accept);  // no payload
  const auto bytes = Ipv4Packet(6, kClient, 40000, kServer, 443, kSuspect);
  const CensorVerdict v = judge.Judge(Parse(bytes));
  EXPECT_FALSE(v.accept);
  ASSERT_TRUE(v.penalty.has_value());
  EXPECT_EQ(v.penalty->client_ip, kClient);
  EXPECT_EQ(v.penalty->server_ip, kServer);
  EXPECT_EQ(v.penalty->server_port, 443);
  EXPECT_EQ(v.penalty->seconds, kGfwPenaltySeconds);
  // The same flow's later payloads are not judged again (the penalty set drops them).
  EXPECT_TRUE(judge.Judge(Parse(bytes)).accept);

  draw = 0.5;  // a new flow that escapes the draw
  const CensorVerdict lucky = judge.Judge(Parse(Ipv4Packet(6, kClient, 40001, kServer, 443, kSuspect)));
  EXPECT_TRUE(lucky.accept);
  EXPECT_FALSE(lucky.penalty.has_value());
}

TEST(CensorJudge, FullyEncryptedExemptsTlsAndNeverDrawsForIt) {
  int draws = 0;
  CensorJudge judge(CensorMode::kFullyEncrypted, [&] { ++draws; return 0.0; });
  std::vector<uint8_t> hello = kSuspect;
  hello[0] = 0x16, hello[1] = 0x03, hello[2] = 0x01, hello[5] = 0x01;
  EXPECT_TRUE(judge.Judge(Parse(Ipv4Packet(6, kClient, 40000, kServer, 443, hello))).accept);
  EXPECT_EQ(draws, 0);
  // UDP is out of the rule's scope.
  EXPECT_TRUE(judge.Judge(Parse(Ipv4Packet(17, kClient, 40000, kServer, 443, kSuspect))).accept);
}

TEST(CensorJudge, AllowlistOnlyOnItsPorts) {
  CensorJudge judge(CensorMode::kAllowlist, [] { return 0.0; });
  const CensorVerdict blocked = judge.Judge(Parse(Ipv4Packet(6, kClient, 40000, kServer, 443, kSuspect)));
  EXPECT_FALSE(blocked.accept);
  ASSERT_TRUE(blocked.penalty.has_value());
  EXPECT_EQ(blocked.penalty->seconds, kAllowlistPenaltySeconds);
  EXPECT_TRUE(judge.Judge(Parse(Ipv4Packet(6, kClient, 40001, kServer, 8443, kSuspect))).accept);
  const std::vector<uint8_t> get = {'G', 'E', 'T', ' ', '/', ' ', 'H'};
  EXPECT_TRUE(judge.Judge(Parse(Ipv4Packet(6, kClient, 40002, kServer, 80, get))).accept);
}

TEST(CensorJudge, SignatureBlocksTheWholeFlowBothWays) {
  CensorJudge judge(CensorMode::kSignatures, [] { return 0.0; });
  std::vector<uint8_t> clean(100, 0x55);
  EXPECT_TRUE(judge.Judge(Parse(Ipv4Packet(17, kClient, 40000, kServer, 443, clean))).accept);
  std::vector<uint8_t> rtp = clean;
  rtp[0] = 0x80, rtp[1] = 111;
  const CensorVerdict v = judge.Judge(Parse(Ipv4Packet(17, kServer, 443, kClient, 40000, rtp)));
  EXPECT_FALSE(v.accept);
  EXPECT_NE(v.reason.find("RTP"), std::string::npos);
  EXPECT_FALSE(judge.Judge(Parse(Ipv4Packet(17, kClient, 40000, kServer, 443, clean))).accept);
  // Another flow is unaffected.
  EXPECT_TRUE(judge.Judge(Parse(Ipv4Packet(17, kClient, 40001, kServer, 443, clean))).accept);
}

TEST(CensorJudge, SignatureLooksOnlyAtTheFirstPackets) {
  CensorJudge judge(CensorMode::kSignatures, [] { return 0.0; });
  std::vector<uint8_t> clean(100, 0x55);
  for (int i = 0; i < kSignaturePacketsInspected; ++i) {
    ASSERT_TRUE(judge.Judge(Parse(Ipv4Packet(17, kClient, 40000, kServer, 443, clean))).accept);
  }
  std::vector<uint8_t> stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  stun.resize(20, 0x33);
  EXPECT_TRUE(judge.Judge(Parse(Ipv4Packet(17, kClient, 40000, kServer, 443, stun))).accept);
}

TEST(LabPacket, RejectsWhatIsNotIpv4AndTruncations) {
  const auto good = Ipv4Packet(17, kClient, 1, kServer, 2, {1, 2, 3});
  auto p = ParseLabPacket(good);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->payload.size(), 3u);
  EXPECT_EQ(Ipv4ToString(p->src_ip), "10.77.1.2");
  EXPECT_FALSE(ParseLabPacket(std::span(good).first(25)).has_value());  // UDP header cut
  auto v6 = good;
  v6[0] = 0x60;
  EXPECT_FALSE(ParseLabPacket(v6).has_value());
  auto bad_ihl = good;
  bad_ihl[0] = 0x44;
  EXPECT_FALSE(ParseLabPacket(bad_ihl).has_value());
  auto tcp = Ipv4Packet(6, kClient, 1, kServer, 2, {9});
  tcp[20 + 12] = 0xF0;  // data offset 60 > packet
  EXPECT_FALSE(ParseLabPacket(tcp).has_value());
}

}  // namespace
}  // namespace parley::netlab
