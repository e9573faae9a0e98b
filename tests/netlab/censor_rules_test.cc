// The lab censor's payload rules: GFW exemptions Ex1..Ex5, the allowlist and signatures.
#include "censor_rules.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace parley::netlab {
namespace {

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

TEST(FullyEncryptedExemption, EachExemptionAndTheSuspect) {
  // 0x0F/0xF0 have four set bits and are not printable: no exemption applies.
  std::vector<uint8_t> suspect(64, 0x0F);
  EXPECT_EQ(FullyEncryptedExemption(suspect), FeExemption::kNone);
  EXPECT_EQ(FullyEncryptedExemption(std::vector<uint8_t>(64, 0x01)), FeExemption::kPopcount);  // 1 bit per byte
  EXPECT_EQ(FullyEncryptedExemption(std::vector<uint8_t>(64, 0xFE)), FeExemption::kPopcount);  // 7 bits
  auto prefix = suspect;
  for (int i = 0; i < 6; ++i) prefix[i] = 'Z';  // 'Z' = 0x5A, 4 bits: popcount stays 4
  EXPECT_EQ(FullyEncryptedExemption(prefix), FeExemption::kPrintablePrefix);
  auto mostly = suspect;  // 3 of 4 printable, in runs of 3: no printable prefix or long run
  for (size_t i = 0; i < mostly.size(); ++i) mostly[i] = i % 4 == 0 ? 0x0F : 'Z';
  EXPECT_EQ(FullyEncryptedExemption(mostly), FeExemption::kMostlyPrintable);
  auto run = suspect;
  for (int i = 10; i < 31; ++i) run[i] = 'Z';  // 21 printable in a row, < half of 64
  EXPECT_EQ(FullyEncryptedExemption(run), FeExemption::kPrintableRun);
  auto tls = suspect;
  tls[0] = 0x16, tls[1] = 0x03, tls[2] = 0x01;
  EXPECT_EQ(FullyEncryptedExemption(tls), FeExemption::kProtocolPrefix);
  tls[2] = 0x0A;  // [\x00-\x09] only
  EXPECT_EQ(FullyEncryptedExemption(tls), FeExemption::kNone);
}

TEST(FullyEncryptedExemption, RandomFirstPacketsAreMostlySuspect) {
  // Wu et al.: random payloads of >= 128 bytes escape about 0.3% of the time.
  int exempt = 0;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    if (FullyEncryptedExemption(RandomBytes(256, seed)) != FeExemption::kNone) ++exempt;
  }
  EXPECT_LT(exempt, 20);
}

TEST(Allowlist, TlsHttpAndDnsPassRandomDoesNot) {
  EXPECT_TRUE(AllowlistAccepts(std::vector<uint8_t>{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc}));
  EXPECT_TRUE(AllowlistAccepts(Bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  EXPECT_TRUE(AllowlistAccepts(Bytes("OPTIONS * HTTP/1.1\r\n")));
  // DNS over TCP: length 17, id, flags 0x0100 (query, RD), one question.
  std::vector<uint8_t> dns = {0, 17, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1};
  EXPECT_TRUE(AllowlistAccepts(dns));
  dns[1] = 16;  // wrong length prefix
  EXPECT_FALSE(AllowlistAccepts(dns));
  EXPECT_FALSE(AllowlistAccepts(Bytes("get / HTTP/1.1\r\n")));  // methods are upper case
  EXPECT_FALSE(AllowlistAccepts(std::vector<uint8_t>{0x17, 0x03, 0x03, 0x00, 0x10, 0x01}));  // application data
  EXPECT_FALSE(AllowlistAccepts(RandomBytes(300, 7)));
}

TEST(UdpSignature, VoiceAndVpnHeaders) {
  // STUN binding request: type 0x0001, length 0, cookie, transaction id.
  std::vector<uint8_t> stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  stun.resize(20, 0x33);
  EXPECT_EQ(UdpSignature(stun), Signature::kStun);
  stun[3] = 4;  // length + 20 != size
  EXPECT_EQ(UdpSignature(stun), Signature::kNone);

  auto rtp = RandomBytes(160, 1);
  rtp[0] = 0x80, rtp[1] = 0x00;  // PCMU
  EXPECT_EQ(UdpSignature(rtp), Signature::kRtp);
  rtp[0] = 0xA0, rtp[1] = 0x80 | 111;  // marker bit, dynamic 111 (Opus)
  EXPECT_EQ(UdpSignature(rtp), Signature::kRtp);
  rtp[1] = 50;  // reserved payload type: nDPI does not call it RTP
  EXPECT_EQ(UdpSignature(rtp), Signature::kNone);
  rtp[0] = 0x81, rtp[1] = 200;  // RTCP sender report
  EXPECT_EQ(UdpSignature(rtp), Signature::kRtcp);

  auto dtls = RandomBytes(100, 2);
  dtls[0] = 0x16, dtls[1] = 0xFE, dtls[2] = 0xFD;
  EXPECT_EQ(UdpSignature(dtls), Signature::kDtls);

  auto wg = RandomBytes(148, 3);
  wg[0] = 1, wg[1] = wg[2] = wg[3] = 0;
  EXPECT_EQ(UdpSignature(wg), Signature::kWireGuard);

  auto telegram = RandomBytes(64, 4);
  for (int i = 20; i < 32; ++i) telegram[i] = 0xFF;
  EXPECT_EQ(UdpSignature(telegram), Signature::kMtproto);
}

TEST(UdpSignature, FirstByteInTheObfuscatedRangeNeverMatches) {
  // The obfuscated relay framing puts 0x40..0x7F first (issue #5): no signature applies.
  for (uint64_t seed = 0; seed < 4000; ++seed) {
    auto p = RandomBytes(20 + seed % 1200, seed);
    p[0] = static_cast<uint8_t>(0x40 + seed % 64);
    ASSERT_EQ(UdpSignature(p), Signature::kNone) << "seed " << seed;
  }
}

TEST(TcpSignature, MtprotoAndWhatsApp) {
  auto p = RandomBytes(64, 5);
  p[0] = 0xEF;
  EXPECT_EQ(TcpSignature(p), Signature::kMtproto);
  EXPECT_EQ(TcpSignature(std::vector<uint8_t>{0xEE, 0xEE, 0xEE, 0xEE, 1, 2}), Signature::kMtproto);
  EXPECT_EQ(TcpSignature(std::vector<uint8_t>{'E', 'D', 0, 1, 0, 0, 0, 'W', 'A', 2}), Signature::kWhatsApp);
  EXPECT_EQ(TcpSignature(std::vector<uint8_t>{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}), Signature::kNone);
}

}  // namespace
}  // namespace parley::netlab
