// The obfuscated relay framing: bind and ack round trips, sizes, the mark, tampering,
// and that nothing in a bind repeats across binds of one ticket.
#include "parley/net/relay_framing.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <set>

namespace parley::net {
namespace {

struct Fixture {
  std::array<uint8_t, kRelayTicketSize> ticket{};
  crypto::Secret<32> hop_key;
  std::array<uint8_t, 32> bind_key{};
  Fixture() {
    for (std::size_t i = 0; i < ticket.size(); ++i) ticket[i] = static_cast<uint8_t>(i);
    hop_key.data()[0] = 9;
    bind_key.fill(4);
  }
  RelayBindKeys keys() const { return RelayBindKeys(bind_key); }
  std::vector<uint8_t> Bind(uint64_t elapsed_ms, const std::vector<uint8_t>& sealed) const {
    std::array<uint8_t, kRelayNonceSize> nonce;
    randombytes_buf(nonce.data(), nonce.size());
    std::vector<uint8_t> out(RelayBindSize(sealed.size()));
    WriteRelayBind(keys(), ticket, hop_key, nonce, elapsed_ms, sealed, out);
    return out;
  }
};

TEST(RelayFramingTest, BindRoundTripAndSizes) {
  const Fixture f;
  EXPECT_EQ(RelayBindSize(0), 192u);
  EXPECT_EQ(RelayBindSize(61), 192u);
  EXPECT_EQ(RelayBindSize(62), 256u);
  EXPECT_EQ(RelayBindSize(kMaxSealedInBind), 1200u);
  EXPECT_EQ(RelayBindSize(kMaxSealedInBind + 1), 0u);
  for (std::size_t size : {std::size_t{0}, std::size_t{25}, std::size_t{100}, kMaxSealedInBind}) {
    const std::vector<uint8_t> sealed(size, 0x5a);
    const auto bind = f.Bind(123456, sealed);
    EXPECT_TRUE(HasObfuscatedFirstByte(bind[0]));
    ASSERT_TRUE(HasRelayBindMark(f.keys(), bind));
    const auto ticket = UnmaskRelayTicket(f.keys(), bind);
    EXPECT_EQ(ticket, f.ticket);
    std::vector<uint8_t> scratch(bind.size());
    auto opened = OpenRelayBind(f.hop_key, ticket, bind, scratch);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(opened->elapsed_ms, 123456u);
    EXPECT_EQ(std::vector<uint8_t>(opened->sealed.begin(), opened->sealed.end()), sealed);
  }
}

TEST(RelayFramingTest, EveryFlippedBitIsCaught) {
  const Fixture f;
  const auto bind = f.Bind(7, std::vector<uint8_t>(40, 1));
  std::vector<uint8_t> scratch(bind.size());
  for (std::size_t i = 0; i < bind.size(); ++i) {
    auto mutated = bind;
    mutated[i] ^= 0x04;
    bool caught = !HasRelayBindMark(f.keys(), mutated);
    if (!caught) caught = !OpenRelayBind(f.hop_key, UnmaskRelayTicket(f.keys(), mutated), mutated, scratch).ok();
    EXPECT_TRUE(caught) << "byte " << i;
  }
  // Another bind key marks differently; another hop key cannot open.
  Fixture other;
  other.bind_key.fill(5);
  EXPECT_FALSE(HasRelayBindMark(other.keys(), bind));
  crypto::Secret<32> wrong;
  auto opened = OpenRelayBind(wrong, f.ticket, bind, scratch);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().message, "The relay bind does not authenticate with its ticket's hop key.");
}

TEST(RelayFramingTest, BindsOfOneTicketShareNoBytePositions) {
  // The ticket is masked per bind: no position keeps its value across 200 binds.
  const Fixture f;
  std::vector<std::set<uint8_t>> values(192);
  for (int i = 0; i < 200; ++i) {
    const auto bind = f.Bind(static_cast<uint64_t>(i), {});
    for (std::size_t j = 0; j < bind.size(); ++j) values[j].insert(bind[j]);
  }
  EXPECT_GE(values[0].size(), 55u);  // 6 random bits: ~61 of 64 values from 200 draws
  for (uint8_t v : values[0]) EXPECT_EQ(v & 0xC0, 0x40);
  for (std::size_t j = 1; j < values.size(); ++j) EXPECT_GT(values[j].size(), 100u) << "byte " << j;
}

TEST(RelayFramingTest, MarkRejectsRandomDatagrams) {
  const Fixture f;
  int marked = 0;
  for (int i = 0; i < 10000; ++i) {
    std::vector<uint8_t> junk(192);
    randombytes_buf(junk.data(), junk.size());
    if (HasRelayBindMark(f.keys(), junk)) ++marked;
  }
  EXPECT_EQ(marked, 0);
  EXPECT_FALSE(HasRelayBindMark(f.keys(), std::vector<uint8_t>(kRelayBindOverhead - 1)));
}

TEST(RelayFramingTest, AckRoundTripTamperAndErrors) {
  const Fixture f;
  RelayAckContents ack;
  ack.elapsed_ms = 99;
  ack.ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7};
  ack.port = 4433;
  std::array<uint8_t, kRelayNonceSize> nonce{};
  nonce.fill(0xff);
  std::vector<uint8_t> out(96);
  WriteRelayAck(f.hop_key, nonce, ack, out);
  EXPECT_EQ(out[0] & 0xC0, 0x40);
  auto opened = OpenRelayAck(f.hop_key, out);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, ack);
  EXPECT_TRUE(opened->is_ipv4());
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto mutated = out;
    mutated[i] ^= 1;
    EXPECT_FALSE(OpenRelayAck(f.hop_key, mutated).ok()) << "byte " << i;
  }
  auto short_ack = OpenRelayAck(f.hop_key, std::vector<uint8_t>(66));
  ASSERT_FALSE(short_ack.ok());
  EXPECT_EQ(short_ack.error().message, "A relay ack is 67 to 1200 bytes, not 66.");
  EXPECT_EQ(OpenRelayAck(f.hop_key, std::vector<uint8_t>(100)).error().message,
            "The datagram is not a relay ack for this ticket.");
}

TEST(RelayFramingTest, RelayNoncesAreDrawnAgainWhileTheyMatchAClassifierSignature) {
  // A source whose first two draws would make the datagram look like Skype (byte 2 =
  // 0x02) and Viber (bytes 2..3 = 03 00); the third is clean and is the one used.
  int draws = 0;
  auto source = [&](std::span<uint8_t> out) {
    std::fill(out.begin(), out.end(), uint8_t{0x11});
    if (draws == 0) out[2] = 0x02;
    if (draws == 1) out[2] = 0x03, out[3] = 0x00;
    out[0] = 0xC5;  // top bits are replaced by 01
    ++draws;
  };
  const auto nonce = DrawRelayNonce(192, source);
  EXPECT_EQ(draws, 3);
  EXPECT_EQ(nonce[0], 0x45);
  EXPECT_EQ(nonce[2], 0x11);

  // Binds and acks made from drawn nonces never match, whatever the random bytes.
  const Fixture f;
  auto random = [](std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); };
  for (int i = 0; i < 5000; ++i) {
    std::vector<uint8_t> bind(RelayBindSize(0));
    WriteRelayBind(f.keys(), f.ticket, f.hop_key, DrawRelayNonce(bind.size(), random), 1, {}, bind);
    ASSERT_FALSE(crypto::MatchesClassifierSignature(bind));
    std::vector<uint8_t> ack(crypto::kPaddingBuckets[1 + i % 4]);
    WriteRelayAck(f.hop_key, DrawRelayNonce(ack.size(), random), RelayAckContents{}, ack);
    ASSERT_FALSE(crypto::MatchesClassifierSignature(ack));
  }
}

TEST(RelayFramingTest, ANonceSourceThatOnlyReturnsSignaturesIsABrokenInvariant) {
  auto skype_forever = [](std::span<uint8_t> out) {
    std::fill(out.begin(), out.end(), uint8_t{0x41});
    out[2] = 0x02;
  };
  EXPECT_DEATH(DrawRelayNonce(192, skype_forever), "DPI classifier");
}

}  // namespace
}  // namespace parley::net
