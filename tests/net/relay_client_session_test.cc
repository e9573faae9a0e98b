// The client's relay session in simulated time: binds until acknowledged, then the
// sealed packets themselves; rebinds; ack handling; what the datagrams look like.
#include "parley/net/relay_client_session.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "parley/base/random.h"
#include "parley/crypto/packet_sealer.h"

namespace parley::net {
namespace {

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

RelayCredentials TestCredentials() {
  RelayCredentials credentials;
  for (std::size_t i = 0; i < credentials.ticket.size(); ++i) credentials.ticket[i] = static_cast<uint8_t>(i * 3);
  std::array<uint8_t, 32> hop{};
  for (std::size_t i = 0; i < hop.size(); ++i) hop[i] = static_cast<uint8_t>(0x80 + i);
  credentials.hop_key = crypto::Secret<32>(hop);
  for (std::size_t i = 0; i < credentials.bind_key.size(); ++i) credentials.bind_key[i] = static_cast<uint8_t>(i);
  return credentials;
}

// A seeded nonce source, so runs are deterministic.
RelayClientSession::NonceSource SeededNonces(uint64_t seed) {
  auto random = std::make_shared<Random>(seed);
  return [random](std::span<uint8_t> out) {
    for (uint8_t& b : out) b = static_cast<uint8_t>(random->Next());
  };
}

std::vector<uint8_t> FakeSealed(uint8_t seed, std::size_t size = 100) {
  std::vector<uint8_t> sealed(size);
  for (std::size_t i = 0; i < size; ++i) sealed[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  sealed[0] = static_cast<uint8_t>(0x40 | (seed & 0x3F));
  return sealed;
}

// What the relay does with a bind, reduced to the framing: unmask, open.
struct OpenedBind {
  uint64_t elapsed_ms;
  std::vector<uint8_t> sealed;
};
std::optional<OpenedBind> RelayOpens(const std::vector<uint8_t>& datagram) {
  const RelayCredentials credentials = TestCredentials();
  const RelayBindKeys keys(std::span<const uint8_t, 32>(credentials.bind_key));
  if (!HasRelayBindMark(keys, datagram)) return std::nullopt;
  const auto ticket = UnmaskRelayTicket(keys, datagram);
  EXPECT_EQ(ticket, credentials.ticket);
  std::vector<uint8_t> scratch(datagram.size());
  auto opened = OpenRelayBind(credentials.hop_key, ticket, datagram, scratch);
  if (!opened.ok()) return std::nullopt;
  return OpenedBind{opened->elapsed_ms, std::vector<uint8_t>(opened->sealed.begin(), opened->sealed.end())};
}

std::vector<uint8_t> AckFor(uint64_t elapsed_ms, std::size_t size = 96, uint16_t port = 40000) {
  RelayAckContents ack;
  ack.elapsed_ms = elapsed_ms;
  ack.ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 7};
  ack.port = port;
  std::array<uint8_t, kRelayNonceSize> nonce{};
  nonce.fill(static_cast<uint8_t>(elapsed_ms));
  std::vector<uint8_t> out(size);
  WriteRelayAck(TestCredentials().hop_key, nonce, ack, out);
  return out;
}

class RelayClientSessionTest : public ::testing::Test {
 protected:
  RelayClientSession session_{TestCredentials(), kT0, {}, SeededNonces(1)};
};

TEST_F(RelayClientSessionTest, BindsCarryTheSealedPacketUntilAcknowledgedThenDataIsTheSealedPacket) {
  const auto sealed = FakeSealed(1);
  auto first = session_.Wrap(sealed, kT0 + milliseconds(20));
  ASSERT_TRUE(first.ok());
  auto opened = RelayOpens(*first);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->elapsed_ms, 20u);
  EXPECT_EQ(opened->sealed, sealed);
  EXPECT_EQ(first->size(), 256u);  // 131 + 100 rounded up to a padding bucket
  EXPECT_FALSE(session_.ready());

  auto second = session_.Wrap(FakeSealed(2), kT0 + milliseconds(20));
  ASSERT_TRUE(second.ok());
  auto opened2 = RelayOpens(*second);
  ASSERT_TRUE(opened2);
  EXPECT_EQ(opened2->elapsed_ms, 21u) << "elapsed_ms strictly grows even within one millisecond";

  EXPECT_EQ(session_.Unwrap(AckFor(20)).kind, RelayClientSession::Arrival::kAck);
  EXPECT_TRUE(session_.ready());
  EXPECT_FALSE(session_.binding());
  ASSERT_TRUE(session_.reflexive_address());
  EXPECT_EQ(session_.reflexive_address()->ToString(), "203.0.113.7:40000");

  auto data = session_.Wrap(sealed, kT0 + milliseconds(60));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, sealed) << "data is the sealed packet itself: no header";
  EXPECT_EQ(session_.stats().binds_made, 2u);
  EXPECT_EQ(session_.stats().data_made, 1u);
}

TEST_F(RelayClientSessionTest, AcksForUnsentOrOlderBindsAndForgedAcksChangeNothing) {
  ASSERT_TRUE(session_.Wrap(FakeSealed(1), kT0 + milliseconds(100)).ok());
  // An ack for a bind never made (a later elapsed_ms) is not believed.
  EXPECT_EQ(session_.Unwrap(AckFor(500)).kind, RelayClientSession::Arrival::kAck);
  EXPECT_FALSE(session_.ready());
  // An ack under another hop key is just a (bad) sealed packet to the session.
  auto forged = AckFor(100);
  forged[40] ^= 1;
  EXPECT_EQ(session_.Unwrap(forged).kind, RelayClientSession::Arrival::kSealed);
  EXPECT_FALSE(session_.ready());
  EXPECT_EQ(session_.Unwrap(AckFor(100)).kind, RelayClientSession::Arrival::kAck);
  EXPECT_TRUE(session_.ready());
  // Replaying it is recognised and ignored.
  EXPECT_EQ(session_.Unwrap(AckFor(100, 128, 1)).kind, RelayClientSession::Arrival::kAck);
  EXPECT_EQ(session_.reflexive_address()->port(), 40000);
  EXPECT_EQ(session_.stats().acks, 1u);
  EXPECT_EQ(session_.stats().stale_acks, 2u);
}

TEST_F(RelayClientSessionTest, KeepaliveBindsBeforeTheAckAndRebindsAfter) {
  // Nothing sent yet: a bind is due at once.
  EXPECT_LE(session_.next_bind_at(), kT0);
  auto bind = session_.TakeDueBind(kT0);
  ASSERT_TRUE(bind);
  auto opened = RelayOpens(*bind);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->sealed.empty());
  EXPECT_EQ(bind->size(), 192u);
  EXPECT_FALSE(session_.TakeDueBind(kT0 + milliseconds(499)));
  ASSERT_TRUE(session_.TakeDueBind(kT0 + milliseconds(500)));
  ASSERT_EQ(session_.Unwrap(AckFor(500)).kind, RelayClientSession::Arrival::kAck);

  // Acknowledged: data until 15 s after the last bind, then one bind, then data again.
  const TimePoint t = kT0 + milliseconds(500);
  EXPECT_EQ(session_.next_bind_at(), t + seconds(15));
  EXPECT_FALSE(RelayOpens(*session_.Wrap(FakeSealed(1), t + seconds(14))));
  EXPECT_TRUE(RelayOpens(*session_.Wrap(FakeSealed(2), t + seconds(15))));
  EXPECT_FALSE(RelayOpens(*session_.Wrap(FakeSealed(3), t + seconds(16))));
  // Silent for 15 s: a keepalive bind.
  EXPECT_FALSE(session_.TakeDueBind(t + seconds(29)));
  EXPECT_TRUE(session_.TakeDueBind(t + seconds(30)));
}

TEST_F(RelayClientSessionTest, RequestRebindBindsUntilANewAck) {
  ASSERT_TRUE(session_.Wrap(FakeSealed(1), kT0).ok());
  ASSERT_EQ(session_.Unwrap(AckFor(0)).kind, RelayClientSession::Arrival::kAck);
  EXPECT_FALSE(RelayOpens(*session_.Wrap(FakeSealed(2), kT0 + seconds(1))));

  session_.RequestRebind();
  EXPECT_TRUE(session_.binding());
  EXPECT_LE(session_.next_bind_at(), kT0 + seconds(1));
  auto b1 = RelayOpens(*session_.Wrap(FakeSealed(3), kT0 + seconds(2)));
  ASSERT_TRUE(b1);
  auto b2 = RelayOpens(*session_.Wrap(FakeSealed(4), kT0 + seconds(2) + milliseconds(20)));
  ASSERT_TRUE(b2);
  // A late ack for a bind from before the request does not end the rebinding.
  EXPECT_EQ(session_.Unwrap(AckFor(0, 96, 1)).kind, RelayClientSession::Arrival::kAck);
  EXPECT_TRUE(session_.binding());
  ASSERT_EQ(session_.Unwrap(AckFor(b1->elapsed_ms, 96, 40001)).kind, RelayClientSession::Arrival::kAck);
  EXPECT_FALSE(session_.binding());
  EXPECT_EQ(session_.reflexive_address()->port(), 40001);
  EXPECT_FALSE(RelayOpens(*session_.Wrap(FakeSealed(5), kT0 + seconds(3))));
}

TEST_F(RelayClientSessionTest, OversizedSealedPacketsAndWrongSizes) {
  // Before the ack a packet that cannot ride in a bind cannot be sent.
  EXPECT_FALSE(session_.Wrap(FakeSealed(1, kMaxSealedInBind + 1), kT0).ok());
  EXPECT_EQ(session_.stats().oversized_dropped, 1u);
  EXPECT_TRUE(session_.Wrap(FakeSealed(1, kMaxSealedInBind), kT0).ok());
  ASSERT_EQ(session_.Unwrap(AckFor(0)).kind, RelayClientSession::Arrival::kAck);
  // After it, a due rebind waits for a smaller packet (or the timer) instead.
  auto big = session_.Wrap(FakeSealed(2, 1200), kT0 + seconds(20));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->size(), 1200u);
  EXPECT_FALSE(RelayOpens(*big));
  EXPECT_TRUE(session_.TakeDueBind(kT0 + seconds(20)));

  auto small = session_.Wrap(FakeSealed(3, 24), kT0);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("24 bytes"), std::string::npos) << small.error().message;
  EXPECT_FALSE(session_.Wrap(FakeSealed(3, 1201), kT0).ok());
  EXPECT_EQ(session_.Unwrap(std::vector<uint8_t>(24, 0x41)).kind, RelayClientSession::Arrival::kDropped);
  EXPECT_EQ(session_.Unwrap(std::vector<uint8_t>(1201, 0x41)).kind, RelayClientSession::Arrival::kDropped);
}

TEST(RelayClientSessionWireTest, NoFixedFirstBitsBeyond01AndNoSharedPrefixAcross1000Datagrams) {
  // Real sealed packets (random-looking, first byte 01xxxxxx) through a session that
  // binds every few packets: what a censor sees on one flow.
  RelayClientSessionOptions options;
  options.rebind_interval = milliseconds(100);
  RelayClientSession session(TestCredentials(), kT0, options);
  crypto::DirectionKeys keys;
  keys.chain_key.data()[0] = 1;
  keys.header_key.data()[0] = 2;
  crypto::PacketSealer sealer(keys, kT0);
  std::set<uint32_t> prefixes;
  std::array<int, 4> top_bits{};
  std::size_t binds = 0;
  for (int i = 0; i < 1000; ++i) {
    const TimePoint now = kT0 + milliseconds(20 * i);
    std::vector<uint8_t> datagram;
    if (i % 7 == 3) {
      datagram = *session.TakeDueBind(now + seconds(1));
    } else {
      const std::vector<uint8_t> content(40 + i % 60, static_cast<uint8_t>(i));
      datagram = *session.Wrap(*sealer.Seal(content, now), now);
    }
    if (i == 0) {
      ASSERT_EQ(session.Unwrap(AckFor(0)).kind, RelayClientSession::Arrival::kAck);
    }
    if (RelayOpens(datagram)) ++binds;
    ++top_bits[datagram[0] >> 6];
    EXPECT_TRUE(HasObfuscatedFirstByte(datagram[0])) << "datagram " << i;
    const uint32_t prefix = uint32_t{datagram[0]} << 24 | uint32_t{datagram[1]} << 16 | uint32_t{datagram[2]} << 8 |
                            datagram[3];
    EXPECT_TRUE(prefixes.insert(prefix).second) << "datagram " << i << " repeats a 4-byte prefix";
  }
  EXPECT_GT(binds, 140u);
  EXPECT_EQ(top_bits[1], 1000);
}

TEST(RelayCredentialsTest, WrongSizesAreOneSentence) {
  const std::vector<uint8_t> ticket(kRelayTicketSize), key(32), short_key(31);
  EXPECT_TRUE(RelayCredentials::FromBytes(ticket, key, key).ok());
  auto bad = RelayCredentials::FromBytes(ticket, short_key, key);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "The server's relay ticket and keys are 73, 31 and 32 bytes, not 73, 32 and 32; update parley or the "
            "server.");
  EXPECT_FALSE(RelayCredentials::FromBytes(std::vector<uint8_t>(65), key, key).ok());
}

}  // namespace
}  // namespace parley::net
