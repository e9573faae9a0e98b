// Socket tests of the UDP relay on 127.0.0.1 (ephemeral ports, bounded waits): what is
// forwarded, and that nothing unauthenticated is forwarded or answered.
#include "parley/server/udp_relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include "parley/net/relay_packet.h"
#include "parley/server/relay_ticket.h"

namespace parley::server {
namespace {

constexpr std::array<uint8_t, 32> kKey = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
constexpr auto kQuiet = std::chrono::milliseconds(150);  // how long "nothing arrives" is watched

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A client socket on 127.0.0.1 talking to the relay.
class Client {
 public:
  explicit Client(uint16_t relay_port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    PARLEY_CHECK(fd_ >= 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PARLEY_CHECK(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0);
    relay_.sin_family = AF_INET;
    relay_.sin_port = htons(relay_port);
    relay_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Send(const std::vector<uint8_t>& datagram) {
    ASSERT_EQ(::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&relay_),
                       sizeof(relay_)),
              static_cast<ssize_t>(datagram.size()));
  }
  // The next datagram within `wait`, with where it came from, or nullopt.
  std::optional<std::vector<uint8_t>> Receive(std::chrono::milliseconds wait = std::chrono::milliseconds(2000)) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
    std::vector<uint8_t> buffer(2048);
    sockaddr_in from{};
    socklen_t from_size = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n < 0) return std::nullopt;
    EXPECT_EQ(ntohs(from.sin_port), ntohs(relay_.sin_port)) << "a datagram from something other than the relay";
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
  }
  // True if nothing arrives within kQuiet.
  bool Quiet() { return !Receive(std::chrono::duration_cast<std::chrono::milliseconds>(kQuiet)).has_value(); }

 private:
  int fd_ = -1;
  sockaddr_in relay_{};
};

std::vector<uint8_t> Sealed(uint8_t seed, std::size_t size = 100) {
  std::vector<uint8_t> sealed(size);
  for (std::size_t i = 0; i < size; ++i) sealed[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return sealed;
}

RelayTicketClaims Claims(uint8_t call, uint8_t participant, int64_t expires = UnixNow() + 3600) {
  RelayTicketClaims claims{};
  claims.call_id.fill(call);
  claims.participant = participant;
  claims.expires_unix_s = expires;
  return claims;
}

class UdpRelayTest : public ::testing::Test {
 protected:
  void StartRelay(RelayConfig config = {}, const char* bind_host = "127.0.0.1") {
    config.bind_host = bind_host;
    config.port = 0;
    config.ticket_key = kKey;
    config.allow_loopback = true;
    relay_.emplace(config);
    auto started = relay_->Start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_NE(relay_->bound_port(), 0);
  }
  uint64_t Dropped(RelayDropReason reason) const {
    return relay_->stats().dropped[static_cast<std::size_t>(reason)];
  }
  // Waits (bounded) until the relay has counted `n` received datagrams.
  void WaitReceived(uint64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (relay_->stats().received < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Binds a (participant 0) and b (participant 1) of `call`; returns their tokens.
  std::pair<RelaySessionToken, RelaySessionToken> BindPair(Client& a, Client& b, uint8_t call) {
    const auto ta = issuer_.Issue(Claims(call, 0));
    const auto tb = issuer_.Issue(Claims(call, 1));
    const uint64_t before = relay_->stats().binds;
    a.Send(MakeRelayBindPacket(ta, {}));
    b.Send(MakeRelayBindPacket(tb, {}));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (relay_->stats().binds < before + 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return {SessionTokenFor(ta), SessionTokenFor(tb)};
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(kKey)};
  std::optional<UdpRelay> relay_;
};

TEST_F(UdpRelayTest, PacketsFlowBothWaysByteExact) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  for (uint8_t i = 0; i < 10; ++i) {
    a.Send(MakeRelayDataPacket(ta, Sealed(i, 25 + i * 100)));
    EXPECT_EQ(b.Receive(), Sealed(i, 25 + i * 100));
    b.Send(MakeRelayDataPacket(tb, Sealed(100 + i)));
    EXPECT_EQ(a.Receive(), Sealed(100 + i));
  }
  // A bind may carry a sealed packet too.
  a.Send(MakeRelayBindPacket(issuer_.Issue(Claims(1, 0)), Sealed(77)));
  EXPECT_EQ(b.Receive(), Sealed(77));
  EXPECT_EQ(relay_->stats().forwarded, 21u);
  EXPECT_EQ(relay_->stats().dropped_total(), 0u);
}

TEST_F(UdpRelayTest, DualStackSocketServesIpv4Clients) {
  // Bound to "::" (all addresses, both families); the clients still use only 127.0.0.1,
  // which the relay sees as ::ffff:127.0.0.1 and normalises.
  StartRelay({}, "::");
  Client a(relay_->bound_port()), b(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  a.Send(MakeRelayDataPacket(ta, Sealed(1)));
  EXPECT_EQ(b.Receive(), Sealed(1));
  b.Send(MakeRelayDataPacket(tb, Sealed(2)));
  EXPECT_EQ(a.Receive(), Sealed(2));
}

TEST_F(UdpRelayTest, LoopbackPeersAreRefusedWithoutTheFlag) {
  RelayConfig config;
  config.bind_host = "127.0.0.1";
  config.ticket_key = kKey;
  relay_.emplace(config);  // allow_loopback stays false, as in production
  ASSERT_TRUE(relay_->Start().ok());
  Client a(relay_->bound_port()), b(relay_->bound_port());
  a.Send(MakeRelayBindPacket(issuer_.Issue(Claims(1, 0)), {}));
  b.Send(MakeRelayBindPacket(issuer_.Issue(Claims(1, 1)), Sealed(1)));
  WaitReceived(2);
  EXPECT_TRUE(a.Quiet());
  EXPECT_TRUE(b.Quiet());
  EXPECT_EQ(Dropped(RelayDropReason::kRefusedAddress), 2u);
  EXPECT_EQ(relay_->stats().calls, 0u);
}

TEST_F(UdpRelayTest, UnauthenticatedPacketsAreNeitherForwardedNorAnswered) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port()), stranger(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  (void)tb;
  uint64_t sent = relay_->stats().received;

  // No ticket: garbage, a data packet with an unknown token, a bind without a ticket.
  stranger.Send(Sealed(1, 64));
  stranger.Send(MakeRelayDataPacket(0x1234, Sealed(2)));
  stranger.Send({kRelayBindType, 0});
  // An expired ticket (authentic).
  stranger.Send(MakeRelayBindPacket(issuer_.Issue(Claims(1, 0, UnixNow() - 10)), Sealed(3)));
  // A forged ticket (another key) and a mutated one.
  const std::array<uint8_t, 32> other_key{9};
  stranger.Send(MakeRelayBindPacket(RelayTicketIssuer(other_key).Issue(Claims(1, 1)), Sealed(4)));
  auto mutated = issuer_.Issue(Claims(1, 1));
  mutated[30] ^= 0x10;
  stranger.Send(MakeRelayBindPacket(mutated, Sealed(5)));
  // Spoofed source: a's valid token from another address.
  stranger.Send(MakeRelayDataPacket(ta, Sealed(6)));
  sent += 7;

  // Another call's ticket: the stranger binds into call 2 and gets nothing to call 1.
  stranger.Send(MakeRelayBindPacket(issuer_.Issue(Claims(2, 0)), Sealed(7)));
  stranger.Send(MakeRelayDataPacket(SessionTokenFor(issuer_.Issue(Claims(2, 0))), Sealed(8)));
  sent += 2;

  WaitReceived(sent);
  EXPECT_TRUE(stranger.Quiet());
  EXPECT_TRUE(a.Quiet());
  EXPECT_TRUE(b.Quiet());
  EXPECT_EQ(relay_->stats().forwarded, 0u);
  EXPECT_EQ(Dropped(RelayDropReason::kMalformed), 2u);
  EXPECT_EQ(Dropped(RelayDropReason::kUnknownToken), 2u);
  EXPECT_EQ(Dropped(RelayDropReason::kExpiredTicket), 1u);
  EXPECT_EQ(Dropped(RelayDropReason::kBadTicket), 2u);
  EXPECT_EQ(Dropped(RelayDropReason::kSpoofedSource), 1u);
  EXPECT_EQ(Dropped(RelayDropReason::kPeerNotBound), 1u);

  // The real participants are unaffected.
  a.Send(MakeRelayDataPacket(ta, Sealed(9)));
  EXPECT_EQ(b.Receive(), Sealed(9));
}

TEST_F(UdpRelayTest, RebindFromANewAddressMovesTheSession) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port());
  const auto ticket_a = issuer_.Issue(Claims(1, 0));
  a.Send(MakeRelayBindPacket(ticket_a, {}));
  auto [unused, tb] = BindPair(a, b, 1);
  (void)unused;
  Client a_moved(relay_->bound_port());  // a's new address (e.g. after a NAT rebinding)
  a_moved.Send(MakeRelayBindPacket(ticket_a, Sealed(1)));
  EXPECT_EQ(b.Receive(), Sealed(1));
  b.Send(MakeRelayDataPacket(tb, Sealed(2)));
  EXPECT_EQ(a_moved.Receive(), Sealed(2));
  EXPECT_TRUE(a.Quiet());
}

TEST_F(UdpRelayTest, IdleSessionsExpire) {
  RelayConfig config;
  config.idle_timeout = std::chrono::milliseconds(100);
  StartRelay(config);
  Client a(relay_->bound_port()), b(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  (void)tb;
  EXPECT_EQ(relay_->stats().calls, 1u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (relay_->stats().calls != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(relay_->stats().calls, 0u);
  a.Send(MakeRelayDataPacket(ta, Sealed(1)));
  WaitReceived(relay_->stats().received + 1);
  EXPECT_TRUE(b.Quiet());
  EXPECT_EQ(Dropped(RelayDropReason::kUnknownToken), 1u);
}

TEST_F(UdpRelayTest, FloodIsCappedWhileAParallelCallIsUnaffected) {
  RelayConfig config;
  config.packets_per_second = 100;
  config.burst_packets = 20;
  StartRelay(config);
  Client a(relay_->bound_port()), b(relay_->bound_port()), c(relay_->bound_port()), d(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  auto [tc, td] = BindPair(c, d, 2);
  (void)tb;
  (void)td;
  const auto start = std::chrono::steady_clock::now();
  const int kFlood = 2000;
  for (int i = 0; i < kFlood; ++i) {
    a.Send(MakeRelayDataPacket(ta, Sealed(static_cast<uint8_t>(i))));
    if (i % 100 == 0) c.Send(MakeRelayDataPacket(tc, Sealed(200)));
  }
  WaitReceived(4 + kFlood + kFlood / 100);
  const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int flood_received = 0;
  while (b.Receive(std::chrono::milliseconds(50))) ++flood_received;
  int calm_received = 0;
  while (d.Receive(std::chrono::milliseconds(50))) ++calm_received;
  EXPECT_GE(flood_received, 20);
  EXPECT_LE(flood_received, 20 + static_cast<int>(100 * elapsed_s) + 2);
  EXPECT_EQ(calm_received, kFlood / 100);
  EXPECT_GE(Dropped(RelayDropReason::kRateLimited), static_cast<uint64_t>(kFlood - flood_received));
}

TEST(UdpRelayStartTest, ClearErrors) {
  RelayConfig config;
  config.bind_host = "localhost";
  UdpRelay relay(config);
  auto started = relay.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("not a numeric IPv4 or IPv6 address"), std::string::npos);

  RelayConfig first_config;
  first_config.bind_host = "127.0.0.1";
  UdpRelay first(first_config);
  ASSERT_TRUE(first.Start().ok());
  RelayConfig second_config = first_config;
  second_config.port = first.bound_port();
  UdpRelay second(second_config);
  auto busy = second.Start();
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.error().message.find("could not bind UDP 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace parley::server
