// Loopback tests of the relay UDP path against the real UdpRelay: two ticket holders of
// one call, byte-exact both ways, ready() and the reflexive address from the ack, the
// shared socket handing other sources' datagrams to its second consumer, and handover
// (a fresh socket rebinds with the same ticket; a rebind is acknowledged).
#include "parley/net/relay_udp_path.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include "parley/net/shared_udp_peer_port.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/udp_relay.h"

namespace parley::net {
namespace {

using server::RelayConfig;
using server::RelayTicketClaims;
using server::RelayTicketIssuer;
using server::UdpRelay;

constexpr std::array<uint8_t, 32> kKey = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                          16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
constexpr auto kWait = std::chrono::seconds(2);  // bound on every wait

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<uint8_t> Sealed(uint8_t seed, std::size_t size = 100) {
  std::vector<uint8_t> sealed(size);
  for (std::size_t i = 0; i < size; ++i) sealed[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  sealed[0] = static_cast<uint8_t>(0x40 | (seed & 0x3F));
  return sealed;
}

// Waits (bounded, real time: the relay is a real thread) until `path` hands up a
// packet, ticking it as the media thread would.
std::optional<std::vector<uint8_t>> ReceiveWithin(PacketPath& path) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto packet = path.Receive(std::chrono::steady_clock::now())) return packet;
    pollfd pfd{path.fd(), POLLIN, 0};
    ::poll(&pfd, 1, 10);
  }
  return std::nullopt;
}

class RelayUdpPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RelayConfig config;
    config.bind_host = "127.0.0.1";
    config.ticket_key = kKey;
    config.allow_loopback = true;
    relay_.emplace(config);
    auto started = relay_->Start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  RelayCredentials Credentials(uint8_t participant) {
    RelayTicketClaims claims{};
    claims.call_id.fill(5);
    claims.participant = participant;
    claims.expires_unix_s = UnixNowMs() / 1000 + 3600;
    claims.issued_unix_ms = UnixNowMs();
    const auto ticket = issuer_.Issue(claims);
    const auto hop = issuer_.HopKey(ticket);
    auto credentials = RelayCredentials::FromBytes(
        ticket, std::span<const uint8_t>(hop.data(), hop.size()), issuer_.bind_key());
    EXPECT_TRUE(credentials.ok());
    return *credentials;
  }

  std::unique_ptr<RelayUdpPath> Open(uint8_t participant) {
    const TimePoint now = std::chrono::steady_clock::now();
    auto path = RelayUdpPath::Open("127.0.0.1", relay_->bound_port(), Credentials(participant), now, now);
    EXPECT_TRUE(path.ok()) << path.error().message;
    return std::move(*path);
  }

  // Ticks and drains `path` until it is ready (its first bind acknowledged).
  bool WaitReady(RelayUdpPath& path) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!path.ready() && std::chrono::steady_clock::now() < deadline) {
      (void)path.Receive(std::chrono::steady_clock::now());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return path.ready();
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(kKey)};
  std::optional<UdpRelay> relay_;
};

TEST_F(RelayUdpPathTest, TwoParticipantsExchangeSealedPacketsByteExact) {
  auto a = Open(0);
  auto b = Open(1);
  EXPECT_EQ(a->kind(), PathKind::kRelayUdp);
  EXPECT_EQ(a->description(), "relay-udp 127.0.0.1:" + std::to_string(relay_->bound_port()));
  ASSERT_TRUE(WaitReady(*a));
  ASSERT_TRUE(WaitReady(*b));
  // The ack told each its address as the relay saw it: its own socket's port.
  ASSERT_TRUE(a->reflexive_address());
  EXPECT_EQ(a->reflexive_address()->ToString(), "127.0.0.1:" + std::to_string(a->socket()->local_endpoint().port()));

  for (uint8_t i = 0; i < 20; ++i) {
    const auto now = std::chrono::steady_clock::now();
    ASSERT_TRUE(a->Send(Sealed(i, 25 + i * 50), now).ok());
    EXPECT_EQ(ReceiveWithin(*b), Sealed(i, 25 + i * 50));
    ASSERT_TRUE(b->Send(Sealed(100 + i), now).ok());
    EXPECT_EQ(ReceiveWithin(*a), Sealed(100 + i));
  }
  const PacketPathStats s = a->stats();
  EXPECT_EQ(s.packets_sent, 20u);
  EXPECT_EQ(s.packets_received, 20u);
  EXPECT_EQ(s.send_failures, 0u);
  EXPECT_EQ(relay_->stats().dropped_total(), 0u);
}

TEST_F(RelayUdpPathTest, OtherSourcesGoToTheSecondConsumerOfTheSharedSocket) {
  auto a = Open(0);
  ASSERT_TRUE(WaitReady(*a));
  auto stranger = SharedUdpSocket::Open(AF_INET);
  ASSERT_TRUE(stranger.ok());
  auto target = UdpEndpoint::Parse("127.0.0.1:" + std::to_string(a->socket()->local_endpoint().port()));
  ASSERT_TRUE(target.ok());
  ASSERT_TRUE((*stranger)->SendTo(*target, Sealed(9)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(a->Receive(std::chrono::steady_clock::now())) << "not from the relay: not the relay path's";
  auto other = a->socket()->ReceiveFromOthers();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->bytes, Sealed(9));
  EXPECT_EQ(other->from.port(), (*stranger)->local_endpoint().port());
}

TEST_F(RelayUdpPathTest, ThePeerPortSendsFromTheRelaySocketAndSeesOnlyNonRelayDatagrams) {
  auto a = Open(0);
  ASSERT_TRUE(WaitReady(*a));
  SharedUdpPeerPort port(a->socket());
  auto peer = SharedUdpSocket::Open(AF_INET);
  ASSERT_TRUE(peer.ok());
  auto peer_address = UdpEndpoint::Parse("127.0.0.1:" + std::to_string((*peer)->local_endpoint().port()));
  ASSERT_TRUE(port.SendTo(Sealed(1), *peer_address).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto got = (*peer)->ReceiveFromOthers();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from.port(), a->socket()->local_endpoint().port()) << "same socket, same NAT mapping";
  ASSERT_TRUE((*peer)->SendTo(got->from, Sealed(2)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto back = port.ReceiveFrom();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->bytes, Sealed(2));
  EXPECT_FALSE(port.ReceiveFrom());
}

TEST_F(RelayUdpPathTest, AFreshSocketRebindsWithTheSameTicketAndTheRelayFollows) {
  auto a = Open(0);
  auto b = Open(1);
  ASSERT_TRUE(WaitReady(*a));
  ASSERT_TRUE(WaitReady(*b));
  const int fd = a->fd();
  const uint16_t old_port = a->socket()->local_endpoint().port();
  EXPECT_TRUE(a->rebind_acknowledged());

  // As after a network change: a new source port, the same descriptor for pollers.
  ASSERT_TRUE(a->SwitchToFreshSocket().ok());
  const uint16_t new_port = a->socket()->local_endpoint().port();
  EXPECT_NE(new_port, old_port);
  EXPECT_EQ(a->fd(), fd);
  EXPECT_FALSE(a->rebind_acknowledged());
  EXPECT_FALSE(a->reflexive_address()) << "the old port's reflexive address is forgotten";

  // The first packet from the new port rides in a bind: the relay moves the caller,
  // forwards it, and acknowledges; the callee's packets then reach the new port.
  ASSERT_TRUE(a->Send(Sealed(1), std::chrono::steady_clock::now()).ok());
  EXPECT_EQ(ReceiveWithin(*b), Sealed(1));
  ASSERT_TRUE(b->Send(Sealed(2), std::chrono::steady_clock::now()).ok());
  EXPECT_EQ(ReceiveWithin(*a), Sealed(2));
  EXPECT_TRUE(a->rebind_acknowledged());
  ASSERT_TRUE(a->reflexive_address());
  EXPECT_EQ(a->reflexive_address()->port(), new_port);
  EXPECT_EQ(relay_->stats().dropped_total(), 0u);
}

TEST_F(RelayUdpPathTest, ARebindOnTheSameSocketIsAcknowledged) {
  auto a = Open(0);
  ASSERT_TRUE(WaitReady(*a));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the relay's 1 s ack spacing
  a->RequestRebind();
  EXPECT_FALSE(a->rebind_acknowledged());
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!a->rebind_acknowledged() && std::chrono::steady_clock::now() < deadline) {
    (void)a->Receive(std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(a->rebind_acknowledged());
}

TEST(RelayUdpPathOpenTest, ClearErrors) {
  RelayCredentials credentials;
  const TimePoint now = std::chrono::steady_clock::now();
  auto no_port = RelayUdpPath::Open("127.0.0.1", 0, credentials, now, now);
  ASSERT_FALSE(no_port.ok());
  EXPECT_EQ(no_port.error().message, "The server offered no usable relay address (127.0.0.1:0).");
}

}  // namespace
}  // namespace parley::net
