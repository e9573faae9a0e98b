// Loopback tests of the client's relay transport: against the real UdpRelay (two
// ticket holders of one call, byte-exact both ways, rebinding) and against a bare
// socket standing in for the relay, which sees exactly what goes on the wire.
#include "parley/net/relay_transport.h"

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
#include "parley/server/udp_relay.h"

namespace parley::net {
namespace {

using server::RelayConfig;
using server::RelayTicketClaims;
using server::RelayTicketIssuer;
using server::UdpRelay;

constexpr std::array<uint8_t, 32> kKey = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                          16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
constexpr auto kWait = std::chrono::seconds(2);  // bound on every wait for a datagram
const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);  // simulated time

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<uint8_t> Sealed(uint8_t seed, std::size_t size = 100) {
  std::vector<uint8_t> sealed(size);
  for (std::size_t i = 0; i < size; ++i) sealed[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return sealed;
}

class RealRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RelayConfig config;
    config.bind_host = "127.0.0.1";
    config.ticket_key = kKey;
    config.allow_loopback = true;
    relay_.emplace(config);
    auto started = relay_->Start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    RelayTicketClaims claims{};
    claims.call_id.fill(5);
    claims.expires_unix_s = UnixNow() + 3600;
    claims.participant = 0;
    ticket_a_ = issuer_.Issue(claims);
    claims.participant = 1;
    ticket_b_ = issuer_.Issue(claims);
  }

  std::unique_ptr<RelayTransport> Open(const std::vector<uint8_t>& ticket) {
    auto opened = RelayTransport::Open("127.0.0.1", relay_->bound_port(), ticket, kT0);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  // Waits (bounded) until the relay has accepted `n` binds in all. The relay publishes
  // its counters just after each batch, so they may trail what a client has received.
  bool WaitBinds(uint64_t n) {
    return WaitUntil([&] { return relay_->stats().binds >= n; });
  }
  bool WaitForwarded(uint64_t n) {
    return WaitUntil([&] { return relay_->stats().forwarded >= n; });
  }
  template <typename F>
  static bool WaitUntil(F done) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(kKey)};
  std::optional<UdpRelay> relay_;
  std::vector<uint8_t> ticket_a_, ticket_b_;
};

TEST_F(RealRelayTest, SealedBytesFlowBothWaysByteExact) {
  auto a = Open(ticket_a_);
  auto b = Open(ticket_b_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitBinds(2));  // Open sends an empty bind: both are known before any media
  EXPECT_FALSE(a->heard_from_relay());
  TimePoint now = kT0;
  for (uint8_t i = 0; i < 10; ++i) {
    now += std::chrono::milliseconds(20);
    const auto from_a = Sealed(i, 25 + i * 130);  // 25 .. 1195 bytes
    ASSERT_TRUE(a->Send(from_a, now).ok());
    EXPECT_EQ(b->Receive(kWait), from_a);
    const auto from_b = Sealed(100 + i, 1200 - i * 100);
    ASSERT_TRUE(b->Send(from_b, now).ok());
    EXPECT_EQ(a->Receive(kWait), from_b);
  }
  // a sent its first packet before hearing anything: a bind carrying it; b had heard a
  // when it first sent, so it never needed one beyond Open's.
  EXPECT_EQ(a->stats().binds_sent, 2u);
  EXPECT_EQ(a->stats().data_sent, 9u);
  EXPECT_EQ(b->stats().binds_sent, 1u);
  EXPECT_EQ(b->stats().data_sent, 10u);
  EXPECT_EQ(a->stats().received, 10u);
  EXPECT_EQ(b->stats().received, 10u);
  EXPECT_TRUE(WaitForwarded(20));
  EXPECT_EQ(relay_->stats().binds, 3u);
  EXPECT_EQ(relay_->stats().forwarded, 20u);
  EXPECT_EQ(relay_->stats().dropped_total(), 0u);
  EXPECT_FALSE(a->Receive().has_value());
  EXPECT_EQ(a->relay_address(), "127.0.0.1:" + std::to_string(relay_->bound_port()));
}

TEST_F(RealRelayTest, RebindsAfterTheIntervalInSimulatedTime) {
  auto a = Open(ticket_a_);
  auto b = Open(ticket_b_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitBinds(2));
  ASSERT_TRUE(a->Send(Sealed(1), kT0).ok());  // bind + payload (3rd bind)
  ASSERT_TRUE(b->Receive(kWait).has_value());
  ASSERT_TRUE(b->Send(Sealed(2), kT0).ok());  // data: b has heard
  ASSERT_TRUE(a->Receive(kWait).has_value());
  // 14.9 s after a's last bind: still data. 15 s: a bind, which the relay accepts
  // and which still carries the payload through.
  ASSERT_TRUE(a->Send(Sealed(3), kT0 + std::chrono::milliseconds(14900)).ok());
  EXPECT_EQ(b->Receive(kWait), Sealed(3));
  EXPECT_TRUE(WaitForwarded(3));
  EXPECT_EQ(relay_->stats().binds, 3u);
  ASSERT_TRUE(a->Send(Sealed(4), kT0 + seconds(15)).ok());
  EXPECT_EQ(b->Receive(kWait), Sealed(4));
  EXPECT_TRUE(WaitForwarded(4));
  EXPECT_EQ(relay_->stats().binds, 4u);
  EXPECT_EQ(a->stats().binds_sent, 3u);
  // b's Open bind was at kT0; a Keepalive at kT0 + 15 s refreshes it without media.
  EXPECT_EQ(b->next_keepalive_at(), kT0 + seconds(15));
  ASSERT_TRUE(b->Keepalive(kT0 + seconds(14)).ok());
  EXPECT_EQ(b->stats().binds_sent, 1u);
  ASSERT_TRUE(b->Keepalive(kT0 + seconds(15)).ok());
  EXPECT_EQ(b->stats().binds_sent, 2u);
  EXPECT_TRUE(WaitBinds(5));
  EXPECT_EQ(relay_->stats().dropped_total(), 0u);
}

TEST_F(RealRelayTest, ANewAddressWithTheSameTicketTakesOverByBinding) {
  auto a = Open(ticket_a_);
  auto b = Open(ticket_b_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitBinds(2));
  ASSERT_TRUE(a->Send(Sealed(1), kT0).ok());
  ASSERT_TRUE(b->Receive(kWait).has_value());
  // The same participant from a new socket (what a client sees after its address
  // changed): it binds, so the relay moves the session and b's packets follow.
  auto a_moved = Open(ticket_a_);
  ASSERT_TRUE(a_moved);
  ASSERT_TRUE(a_moved->Send(Sealed(2), kT0).ok());
  EXPECT_EQ(b->Receive(kWait), Sealed(2));
  ASSERT_TRUE(b->Send(Sealed(3), kT0).ok());
  EXPECT_EQ(a_moved->Receive(kWait), Sealed(3));
  EXPECT_FALSE(a->Receive(std::chrono::milliseconds(100)).has_value());
}

// A bare UDP socket on 127.0.0.1 in the relay's place: sees the transport's datagrams.
class FakeRelay {
 public:
  FakeRelay() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    PARLEY_CHECK(fd_ >= 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PARLEY_CHECK(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0);
    socklen_t size = sizeof(local);
    PARLEY_CHECK(::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &size) == 0);
    port_ = ntohs(local.sin_port);
  }
  ~FakeRelay() { ::close(fd_); }
  uint16_t port() const { return port_; }

  // The next datagram from the transport (remembering its address), or nullopt.
  std::optional<std::vector<uint8_t>> Next() {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 2000) != 1) return std::nullopt;
    std::vector<uint8_t> buffer(4096);
    socklen_t size = sizeof(client_);
    const ssize_t n =
        ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&client_), &size);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
  }
  bool Quiet() {
    pollfd pfd{fd_, POLLIN, 0};
    return ::poll(&pfd, 1, 100) == 0;
  }
  void Reply(const std::vector<uint8_t>& datagram) {
    PARLEY_CHECK(::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&client_),
                          sizeof(client_)) == static_cast<ssize_t>(datagram.size()));
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  sockaddr_in client_{};
};

class WireTest : public ::testing::Test {
 protected:
  // The next datagram, parsed; fails the test if none or malformed.
  RelayPacketView NextPacket() {
    last_ = relay_.Next().value_or(std::vector<uint8_t>{});
    auto parsed = ParseRelayPacket(last_);
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    return parsed.ok() ? *parsed : RelayPacketView{};
  }
  void ExpectBind(std::span<const uint8_t> sealed) {
    const RelayPacketView p = NextPacket();
    EXPECT_EQ(p.kind, RelayPacketKind::kBind);
    EXPECT_EQ(std::vector<uint8_t>(p.ticket.begin(), p.ticket.end()), ticket_);
    EXPECT_EQ(std::vector<uint8_t>(p.sealed.begin(), p.sealed.end()),
              std::vector<uint8_t>(sealed.begin(), sealed.end()));
  }
  void ExpectData(std::span<const uint8_t> sealed) {
    const RelayPacketView p = NextPacket();
    EXPECT_EQ(p.kind, RelayPacketKind::kData);
    EXPECT_EQ(p.token, SessionTokenFor(ticket_));
    EXPECT_EQ(std::vector<uint8_t>(p.sealed.begin(), p.sealed.end()),
              std::vector<uint8_t>(sealed.begin(), sealed.end()));
  }

  FakeRelay relay_;
  std::vector<uint8_t> ticket_ = Sealed(9, 65);
  std::vector<uint8_t> last_;
};

TEST_F(WireTest, BindsUntilHeardThenDataWithABindEveryInterval) {
  RelayTransportOptions options;
  options.rebind_interval = seconds(15);
  options.unheard_bind_interval = seconds(1);
  auto opened = RelayTransport::Open("127.0.0.1", relay_.port(), ticket_, kT0, options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  RelayTransport& t = **opened;
  ExpectBind({});  // Open's empty bind

  // Nothing heard yet: every packet is a bind carrying the sealed bytes.
  ASSERT_TRUE(t.Send(Sealed(1), kT0 + milliseconds(20)).ok());
  ExpectBind(Sealed(1));
  ASSERT_TRUE(t.Send(Sealed(2), kT0 + milliseconds(40)).ok());
  ExpectBind(Sealed(2));
  // Keepalive before heard: an empty bind once a second after the last bind.
  EXPECT_EQ(t.next_keepalive_at(), kT0 + milliseconds(1040));
  ASSERT_TRUE(t.Keepalive(kT0 + milliseconds(1000)).ok());
  EXPECT_TRUE(relay_.Quiet());
  ASSERT_TRUE(t.Keepalive(kT0 + milliseconds(1040)).ok());
  ExpectBind({});

  // Junk of impossible sizes from the relay's address is dropped and does not count
  // as hearing from the relay.
  relay_.Reply(std::vector<uint8_t>(10, 1));
  relay_.Reply(std::vector<uint8_t>(1500, 2));
  EXPECT_FALSE(t.Receive(milliseconds(100)).has_value());
  EXPECT_EQ(t.stats().dropped_received, 2u);
  EXPECT_FALSE(t.heard_from_relay());

  relay_.Reply(Sealed(50));
  EXPECT_EQ(t.Receive(kWait), Sealed(50));
  EXPECT_TRUE(t.heard_from_relay());

  // Heard (last bind at +1.04 s): data packets with the ticket's token...
  ASSERT_TRUE(t.Send(Sealed(3), kT0 + milliseconds(1100)).ok());
  ExpectData(Sealed(3));
  ASSERT_TRUE(t.Send(Sealed(4), kT0 + milliseconds(16039)).ok());
  ExpectData(Sealed(4));
  // ...until 15 s after the last bind: then a bind in its place, and data again.
  ASSERT_TRUE(t.Send(Sealed(5), kT0 + milliseconds(16040)).ok());
  ExpectBind(Sealed(5));
  ASSERT_TRUE(t.Send(Sealed(6), kT0 + milliseconds(16060)).ok());
  ExpectData(Sealed(6));
  EXPECT_EQ(t.next_keepalive_at(), kT0 + milliseconds(31040));
  ASSERT_TRUE(t.Keepalive(kT0 + milliseconds(31040)).ok());
  ExpectBind({});

  const RelayTransportStats s = t.stats();
  EXPECT_EQ(s.binds_sent, 6u);
  EXPECT_EQ(s.data_sent, 3u);
  EXPECT_EQ(s.received, 1u);
  EXPECT_EQ(s.send_failures, 0u);
}

TEST_F(WireTest, WrongSizesAreClearErrorsAndSendNothing) {
  auto opened = RelayTransport::Open("127.0.0.1", relay_.port(), ticket_, kT0);
  ASSERT_TRUE(opened.ok());
  ExpectBind({});
  auto too_small = (*opened)->Send(Sealed(1, 24), kT0);
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.error().message, "a sealed packet of 24 bytes cannot be sent; it must be 25 to 1200 bytes.");
  EXPECT_FALSE((*opened)->Send(Sealed(1, 1201), kT0).ok());
  EXPECT_TRUE(relay_.Quiet());

  auto no_ticket = RelayTransport::Open("127.0.0.1", relay_.port(), {}, kT0);
  ASSERT_FALSE(no_ticket.ok());
  EXPECT_EQ(no_ticket.error().message,
            "the relay ticket from the server is 0 bytes, not 1 to 255; the server is broken or not a Parley server.");
  EXPECT_FALSE(RelayTransport::Open("127.0.0.1", relay_.port(), Sealed(1, 256), kT0).ok());
  auto no_port = RelayTransport::Open("127.0.0.1", 0, ticket_, kT0);
  ASSERT_FALSE(no_port.ok());
  EXPECT_EQ(no_port.error().message, "the server offered no usable relay address (127.0.0.1:0).");
}

TEST(RelayTransportTest, AClosedPortIsNotFatal) {
  // A port nobody listens on: the kernel answers with ICMP port unreachable, which
  // surfaces as ECONNREFUSED on the next call; the transport keeps going.
  uint16_t port = 0;
  {
    FakeRelay gone;
    port = gone.port();
  }
  auto opened = RelayTransport::Open("127.0.0.1", port, Sealed(1, 65), kT0);
  ASSERT_TRUE(opened.ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE((*opened)->Send(Sealed(2), kT0 + milliseconds(20 * i)).ok()) << i;
    EXPECT_FALSE((*opened)->Receive().has_value());
  }
  EXPECT_EQ((*opened)->stats().binds_sent, 6u);
}

}  // namespace
}  // namespace parley::net
