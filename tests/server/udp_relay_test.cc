// Socket tests of the UDP relay on 127.0.0.1 (ephemeral ports, bounded waits): what is
// forwarded, what is acknowledged, and that nothing unauthenticated is forwarded or
// answered; the bridge socket.
#include "parley/server/udp_relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include <chrono>
#include <optional>
#include <thread>

#include "parley/net/relay_framing.h"
#include "parley/server/relay_ticket.h"

namespace parley::server {
namespace {

constexpr std::array<uint8_t, 32> kKey = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
constexpr auto kQuiet = std::chrono::milliseconds(150);  // how long "nothing arrives" is watched

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t UnixNow() { return UnixNowMs() / 1000; }

// A client socket on 127.0.0.1 talking to the relay.
class Client {
 public:
  uint16_t local_port() const {
    sockaddr_in local{};
    socklen_t size = sizeof(local);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &size);
    return ntohs(local.sin_port);
  }
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
  claims.issued_unix_ms = UnixNowMs();
  return claims;
}

// A ticket as a client holds it: the bytes, when it was issued, its hop key.
struct HeldTicket {
  std::vector<uint8_t> bytes;
  int64_t issued_unix_ms;
  crypto::Secret<32> hop_key;
};

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

  HeldTicket Hold(const RelayTicketClaims& claims, const RelayTicketIssuer& issuer) {
    auto bytes = issuer.Issue(claims);
    auto hop_key = issuer.HopKey(bytes);
    return HeldTicket{std::move(bytes), claims.issued_unix_ms, std::move(hop_key)};
  }
  HeldTicket Hold(const RelayTicketClaims& claims) { return Hold(claims, issuer_); }

  // A bind of `ticket` carrying `sealed`, elapsed_ms counted as a client does (real
  // time since issue, strictly growing); `elapsed_ms` overrides it.
  std::vector<uint8_t> MakeBind(const HeldTicket& ticket, const std::vector<uint8_t>& sealed,
                                std::optional<uint64_t> elapsed_ms = std::nullopt,
                                const crypto::Secret<32>* hop_key = nullptr) {
    const uint64_t elapsed = elapsed_ms ? *elapsed_ms : static_cast<uint64_t>(UnixNowMs() - ticket.issued_unix_ms) + ++bind_count_;
    std::array<uint8_t, net::kRelayNonceSize> nonce;
    randombytes_buf(nonce.data(), nonce.size());
    std::vector<uint8_t> datagram(net::RelayBindSize(sealed.size()));
    net::WriteRelayBind(bind_keys_, std::span<const uint8_t, net::kRelayTicketSize>(ticket.bytes.data(), net::kRelayTicketSize),
                        hop_key ? *hop_key : ticket.hop_key, nonce, elapsed, sealed, datagram);
    return datagram;
  }

  // Expects the next datagram to be an ack for `ticket` naming `client`'s address.
  void ExpectAck(Client& client, const HeldTicket& ticket, std::size_t bind_size) {
    auto datagram = client.Receive();
    ASSERT_TRUE(datagram) << "no ack";
    EXPECT_LE(datagram->size(), bind_size) << "an ack is never larger than the bind";
    EXPECT_TRUE(net::HasObfuscatedFirstByte((*datagram)[0]));
    auto ack = net::OpenRelayAck(ticket.hop_key, *datagram);
    ASSERT_TRUE(ack.ok()) << ack.error().message;
    EXPECT_EQ(ack->port, client.local_port());
    EXPECT_TRUE(ack->is_ipv4());
    EXPECT_EQ(ack->ip[12], 127);
  }

  // Binds a (participant 0) and b (participant 1) of `call`, each receiving its ack.
  std::pair<HeldTicket, HeldTicket> BindPair(Client& a, Client& b, uint8_t call) {
    HeldTicket ta = Hold(Claims(call, 0));
    HeldTicket tb = Hold(Claims(call, 1));
    const auto bind_a = MakeBind(ta, {});
    const auto bind_b = MakeBind(tb, {});
    a.Send(bind_a);
    ExpectAck(a, ta, bind_a.size());
    b.Send(bind_b);
    ExpectAck(b, tb, bind_b.size());
    return {std::move(ta), std::move(tb)};
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(kKey)};
  net::RelayBindKeys bind_keys_{std::span<const uint8_t, 32>(issuer_.bind_key())};
  uint64_t bind_count_ = 0;
  std::optional<UdpRelay> relay_;
};

TEST_F(UdpRelayTest, PacketsFlowBothWaysByteExactAndBindsAreAcked) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  for (uint8_t i = 0; i < 10; ++i) {
    a.Send(Sealed(i, 25 + i * 100));
    EXPECT_EQ(b.Receive(), Sealed(i, 25 + i * 100));
    b.Send(Sealed(100 + i));
    EXPECT_EQ(a.Receive(), Sealed(100 + i));
  }
  // A bind may carry a sealed packet too; a rebind within a second gets no ack.
  a.Send(MakeBind(ta, Sealed(77)));
  EXPECT_EQ(b.Receive(), Sealed(77));
  EXPECT_TRUE(a.Quiet());
  const RelayStats stats = relay_->stats();
  EXPECT_EQ(stats.forwarded, 21u);
  EXPECT_EQ(stats.acks, 2u);
  EXPECT_EQ(stats.binds, 3u);
  EXPECT_EQ(stats.dropped_total(), 0u);
}

TEST_F(UdpRelayTest, DualStackSocketServesIpv4Clients) {
  // Bound to "::" (all addresses, both families); the clients still use only 127.0.0.1,
  // which the relay sees as ::ffff:127.0.0.1 and normalises.
  StartRelay({}, "::");
  Client a(relay_->bound_port()), b(relay_->bound_port());
  BindPair(a, b, 1);
  a.Send(Sealed(1));
  EXPECT_EQ(b.Receive(), Sealed(1));
  b.Send(Sealed(2));
  EXPECT_EQ(a.Receive(), Sealed(2));
}

TEST_F(UdpRelayTest, LoopbackPeersAreRefusedWithoutTheFlag) {
  RelayConfig config;
  config.bind_host = "127.0.0.1";
  config.ticket_key = kKey;
  relay_.emplace(config);  // allow_loopback stays false, as in production
  ASSERT_TRUE(relay_->Start().ok());
  Client a(relay_->bound_port()), b(relay_->bound_port());
  a.Send(MakeBind(Hold(Claims(1, 0)), {}));
  b.Send(MakeBind(Hold(Claims(1, 1)), Sealed(1)));
  WaitReceived(2);
  EXPECT_TRUE(a.Quiet());
  EXPECT_TRUE(b.Quiet());
  EXPECT_EQ(Dropped(RelayDropReason::kRefusedAddress), 2u);
  EXPECT_EQ(relay_->stats().calls, 0u);
}

TEST_F(UdpRelayTest, UnauthenticatedDatagramsAreNeitherForwardedNorAnswered) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port()), stranger(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  (void)tb;
  const uint64_t before = relay_->stats().received;
  int sent = 0;
  auto send = [&](const std::vector<uint8_t>& datagram) {
    stranger.Send(datagram);
    ++sent;
  };

  // No ticket: random bytes of many sizes (too short, data-sized, too long).
  for (std::size_t size : {1, 24, 64, 131, 256, 1200, 1201, 4096, 8192}) {
    std::vector<uint8_t> junk(size);
    randombytes_buf(junk.data(), junk.size());
    send(junk);
  }
  // An expired ticket (authentic), a ticket from another server, a mutated ticket.
  send(MakeBind(Hold(Claims(1, 0, UnixNow() - 10)), Sealed(3)));
  const std::array<uint8_t, 32> other_key{9};
  const RelayTicketIssuer other(other_key);
  send(MakeBind(Hold(Claims(1, 1), other), Sealed(4)));
  HeldTicket mutated = Hold(Claims(1, 1));
  mutated.bytes[30] ^= 0x10;
  send(MakeBind(mutated, Sealed(5)));
  // A real ticket with a box under the wrong hop key (someone who saw the ticket only).
  const crypto::Secret<32> wrong_hop;
  send(MakeBind(ta, Sealed(6), std::nullopt, &wrong_hop));
  // A's ticket, stale (its elapsed time says it was made 60 s ago).
  send(MakeBind(ta, Sealed(7), static_cast<uint64_t>(UnixNowMs() - ta.issued_unix_ms) + 60'000));
  WaitReceived(before + sent);
  EXPECT_TRUE(stranger.Quiet());
  EXPECT_TRUE(a.Quiet());
  EXPECT_TRUE(b.Quiet());
  EXPECT_EQ(relay_->stats().forwarded, 0u);
  EXPECT_EQ(relay_->stats().acks, 2u);
  EXPECT_EQ(Dropped(RelayDropReason::kMalformed), 5u);  // 1, 24, 1201, 4096, 8192
  EXPECT_EQ(Dropped(RelayDropReason::kUnknownSource), 4u);
  EXPECT_EQ(Dropped(RelayDropReason::kExpiredTicket), 1u);
  EXPECT_EQ(Dropped(RelayDropReason::kBadTicket), 2u);
  EXPECT_EQ(Dropped(RelayDropReason::kBadBind), 1u);
  EXPECT_EQ(Dropped(RelayDropReason::kStaleBind), 1u);

  // The real participants are unaffected.
  a.Send(Sealed(9));
  EXPECT_EQ(b.Receive(), Sealed(9));
}

TEST_F(UdpRelayTest, ReplayedBindFromAnotherPortIsIgnoredAndUnanswered) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port()), thief(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  (void)tb;
  // A censor captures a's next bind and replays it from its own port, at once and later.
  const auto captured = MakeBind(ta, Sealed(1));
  a.Send(captured);
  EXPECT_EQ(b.Receive(), Sealed(1));
  thief.Send(captured);
  thief.Send(captured);
  EXPECT_TRUE(thief.Quiet());
  EXPECT_TRUE(b.Quiet()) << "a replay's sealed packet is not forwarded again";
  EXPECT_EQ(Dropped(RelayDropReason::kReplayedBind), 2u);
  // a still owns its session.
  a.Send(Sealed(2));
  EXPECT_EQ(b.Receive(), Sealed(2));
  b.Send(Sealed(3));
  EXPECT_EQ(a.Receive(), Sealed(3));
  EXPECT_TRUE(thief.Quiet());
}

TEST_F(UdpRelayTest, AnotherCallsTicketReachesNothingOfThisCall) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port()), stranger(relay_->bound_port());
  BindPair(a, b, 1);
  const HeldTicket other_call = Hold(Claims(2, 0));
  const auto bind = MakeBind(other_call, Sealed(7));
  stranger.Send(bind);
  ExpectAck(stranger, other_call, bind.size());  // it holds a real ticket, for its own call
  const uint64_t before = relay_->stats().received;
  stranger.Send(Sealed(8));
  WaitReceived(before + 1);
  EXPECT_TRUE(a.Quiet());
  EXPECT_TRUE(b.Quiet());
  EXPECT_EQ(Dropped(RelayDropReason::kPeerNotBound), 2u);
}

TEST_F(UdpRelayTest, RebindFromANewAddressMovesTheSession) {
  StartRelay();
  Client a(relay_->bound_port()), b(relay_->bound_port());
  auto [ta, tb] = BindPair(a, b, 1);
  (void)tb;
  Client a_moved(relay_->bound_port());  // a's new address (e.g. after a NAT rebinding)
  const auto rebind = MakeBind(ta, Sealed(1));
  a_moved.Send(rebind);
  ExpectAck(a_moved, ta, rebind.size());
  EXPECT_EQ(b.Receive(), Sealed(1));
  b.Send(Sealed(2));
  EXPECT_EQ(a_moved.Receive(), Sealed(2));
  EXPECT_TRUE(a.Quiet());
  a.Send(Sealed(3));  // the old address is nobody now
  EXPECT_TRUE(b.Quiet());
}

TEST_F(UdpRelayTest, IdleSessionsExpire) {
  RelayConfig config;
  config.idle_timeout = std::chrono::milliseconds(100);
  StartRelay(config);
  Client a(relay_->bound_port()), b(relay_->bound_port());
  BindPair(a, b, 1);
  EXPECT_EQ(relay_->stats().calls, 1u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (relay_->stats().calls != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(relay_->stats().calls, 0u);
  const uint64_t before = relay_->stats().received;
  a.Send(Sealed(1));
  WaitReceived(before + 1);
  EXPECT_TRUE(b.Quiet());
  EXPECT_EQ(Dropped(RelayDropReason::kUnknownSource), 1u);
}

TEST_F(UdpRelayTest, FloodIsCappedWhileAParallelCallIsUnaffected) {
  RelayConfig config;
  config.packets_per_second = 100;
  config.burst_packets = 20;
  StartRelay(config);
  Client a(relay_->bound_port()), b(relay_->bound_port()), c(relay_->bound_port()), d(relay_->bound_port());
  BindPair(a, b, 1);
  BindPair(c, d, 2);
  const auto start = std::chrono::steady_clock::now();
  const int kFlood = 2000;
  for (int i = 0; i < kFlood; ++i) {
    a.Send(Sealed(static_cast<uint8_t>(i)));
    if (i % 100 == 0) c.Send(Sealed(200));
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

TEST_F(UdpRelayTest, BridgedClientsTalkToPublicOnesThroughTheBridgeSocket) {
  RelayConfig config;
  config.bridge = true;
  StartRelay(config);
  ASSERT_NE(relay_->bridge_port(), 0);
  ASSERT_NE(relay_->bridge_port(), relay_->bound_port());
  // Client checks every datagram comes from the port it sends to: the bridged client
  // hears only the bridge socket, the direct one only the public socket.
  Client bridged(relay_->bridge_port()), direct(relay_->bound_port());
  BindPair(bridged, direct, 1);
  for (uint8_t i = 0; i < 3; ++i) {
    bridged.Send(Sealed(i));
    EXPECT_EQ(direct.Receive(), Sealed(i));
    direct.Send(Sealed(10 + i));
    EXPECT_EQ(bridged.Receive(), Sealed(10 + i));
  }
  EXPECT_EQ(relay_->stats().dropped_total(), 0u);
}

TEST_F(UdpRelayTest, NoBridgeSocketUnlessConfigured) {
  StartRelay();
  EXPECT_EQ(relay_->bridge_port(), 0);
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
