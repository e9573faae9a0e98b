// The relay over TLS (TlsRelayPath) against the real web front and the real UdpRelay's
// bridge socket on 127.0.0.1: binds acknowledged through the bridge, sealed packets
// byte-exact between a TLS participant and a UDP participant and between two TLS
// participants, the same through a second (standalone) relay the target names, and a
// ticket that does not verify or a relay the front does not know never makes the path ready.
#include "parley/net/tls_relay_path.h"

#include <poll.h>

#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include "parley/net/relay_udp_path.h"
#include "parley/server/media_relay_routes.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/udp_relay.h"
#include "parley/server/web_front.h"

namespace parley::net {
namespace {

using server::RelayConfig;
using server::RelayTicketClaims;
using server::RelayTicketIssuer;
using server::UdpRelay;
using server::WebFront;
using server::WebFrontOptions;

constexpr char kPath[] = "/ws/tls-relay-path-test-0123";
constexpr std::array<uint8_t, 32> kKey = {9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                          16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
constexpr auto kWait = std::chrono::seconds(5);  // bound on every wait (TLS handshakes under ASan)

class NullSink final : public server::SignalingSink {
 public:
  std::vector<server::SignalingSend> OnConnect(server::ConnectionId, const std::string&, server::SinkTime) override {
    return {};
  }
  std::vector<server::SignalingSend> OnMessage(server::ConnectionId, std::string_view, server::SinkTime) override {
    return {};
  }
  std::vector<server::SignalingSend> OnDisconnect(server::ConnectionId, server::SinkTime) override { return {}; }
  std::vector<server::SignalingSend> OnTimer(server::SinkTime) override { return {}; }
  std::optional<TimePoint> NextTimerAt() const override { return std::nullopt; }
};

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<uint8_t> Sealed(uint8_t seed, std::size_t size = 120) {
  std::vector<uint8_t> sealed(size);
  for (std::size_t i = 0; i < size; ++i) sealed[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  sealed[0] = static_cast<uint8_t>(0x40 | (seed & 0x3F));
  return sealed;
}

TimePoint Now() { return std::chrono::steady_clock::now(); }

// Ticks and drains `path` as the media thread would until it hands up a packet.
std::optional<std::vector<uint8_t>> ReceiveWithin(PacketPath& path) {
  const auto deadline = Now() + kWait;
  while (Now() < deadline) {
    path.Tick(Now());
    if (auto packet = path.Receive(Now())) return packet;
    pollfd pfd{path.fd(), POLLIN, 0};
    ::poll(&pfd, 1, 10);
  }
  return std::nullopt;
}

bool WaitReady(PacketPath& path) {
  const auto deadline = Now() + kWait;
  while (!path.ready() && Now() < deadline) {
    path.Tick(Now());
    (void)path.Receive(Now());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return path.ready();
}

class TlsRelayPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RelayConfig config;
    config.bind_host = "127.0.0.1";
    config.ticket_key = kKey;
    config.allow_loopback = true;
    config.bridge = true;
    relay_.emplace(config);
    auto started = relay_->Start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_NE(relay_->bridge_port(), 0);
    // A standalone relay of the same community (same ticket key), no bridge socket.
    RelayConfig standalone = config;
    standalone.bridge = false;
    standalone_.emplace(standalone);
    ASSERT_TRUE(standalone_->Start().ok());
    routes_.emplace(signal::RelayAddress{"localhost", relay_->bound_port()},
                    std::vector<signal::RelayAddress>{{"127.0.0.1", standalone_->bound_port()}});

    auto cert = server::TlsCertificate::Generate("localhost");
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    fingerprint_ = cert->fingerprint_sha256();
    WebFrontOptions options;
    options.host = "127.0.0.1";
    options.websocket_path = kPath;
    options.media_tickets = &issuer_;
    options.relay_bridge_port = relay_->bridge_port();
    options.media_relay_route = [this](const std::string& host, uint16_t port) { return routes_->Route(host, port); };
    auto front = WebFront::Start(ioc_, *cert, sink_, options);
    ASSERT_TRUE(front.ok()) << front.error().message;
    front_ = std::move(*front);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (front_) front_->Stop();
    work_.reset();
    if (thread_.joinable()) thread_.join();
    if (relay_) relay_->Stop();
    if (standalone_) standalone_->Stop();
  }

  RelayCredentials Credentials(uint8_t participant, uint8_t call = 6) {
    RelayTicketClaims claims{};
    claims.call_id.fill(call);
    claims.participant = participant;
    claims.expires_unix_s = UnixNowMs() / 1000 + 3600;
    claims.issued_unix_ms = UnixNowMs();
    const auto ticket = issuer_.Issue(claims);
    const auto hop = issuer_.HopKey(ticket);
    auto credentials =
        RelayCredentials::FromBytes(ticket, std::span<const uint8_t>(hop.data(), hop.size()), issuer_.bind_key());
    EXPECT_TRUE(credentials.ok());
    return *credentials;
  }

  TlsRelayPathTarget Target() const {
    return {.host = "localhost", .port = front_->bound_port(), .signaling_path = kPath, .pin_sha256 = fingerprint_,
            .relay = std::nullopt};
  }

  std::unique_ptr<TlsRelayPath> OpenTls(RelayCredentials credentials, std::optional<MediaTargetRelay> relay = {}) {
    TlsMediaChannelOptions fast;
    fast.first_retry = milliseconds(20);
    fast.max_retry = milliseconds(200);
    TlsRelayPathTarget target = Target();
    target.relay = std::move(relay);
    auto path = TlsRelayPath::Open(std::move(target), std::move(credentials), Now(), fast);
    EXPECT_TRUE(path.ok()) << path.error().message;
    return path.ok() ? std::move(*path) : nullptr;
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(kKey)};
  std::optional<UdpRelay> relay_;       // this node's relay, behind the front's bridge
  std::optional<UdpRelay> standalone_;  // another relay of the community, over UDP only
  std::optional<server::MediaRelayRoutes> routes_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(ioc_)};
  NullSink sink_;
  std::unique_ptr<WebFront> front_;
  std::thread thread_;
  std::string fingerprint_;
};

TEST_F(TlsRelayPathTest, TlsAndUdpParticipantsExchangeSealedPacketsThroughTheBridge) {
  auto tls = OpenTls(Credentials(0));
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->kind(), PathKind::kRelayTls);
  EXPECT_FALSE(tls->ready());  // nothing is acknowledged before the upgrade and the bind
  ASSERT_TRUE(WaitReady(*tls)) << tls->last_error();
  EXPECT_TRUE(tls->open());

  auto udp = RelayUdpPath::Open("127.0.0.1", relay_->bound_port(), Credentials(1), Now(), Now());
  ASSERT_TRUE(udp.ok()) << udp.error().message;
  ASSERT_TRUE(WaitReady(**udp));

  for (uint8_t i = 0; i < 10; ++i) {
    const std::size_t size = 25 + i * 100;
    ASSERT_TRUE(tls->Send(Sealed(i, size), Now()).ok());
    EXPECT_EQ(ReceiveWithin(**udp), Sealed(i, size)) << "TLS -> UDP, packet " << int(i);
    ASSERT_TRUE((*udp)->Send(Sealed(100 + i), Now()).ok());
    EXPECT_EQ(ReceiveWithin(*tls), Sealed(100 + i)) << "UDP -> TLS, packet " << int(i);
  }
  const PacketPathStats stats = tls->stats();
  EXPECT_EQ(stats.packets_sent, 10u);
  EXPECT_EQ(stats.packets_received, 10u);
  EXPECT_GT(stats.bytes_sent, 0u);
}

TEST_F(TlsRelayPathTest, TheTargetsRelayCarriesTheCallNotTheFrontsOwn) {
  // The call's relay is the standalone one: the UDP participant binds there, and the
  // TLS participant names it, so the front bridges it there over UDP.
  auto tls = OpenTls(Credentials(0, 9), MediaTargetRelay{"127.0.0.1", standalone_->bound_port()});
  ASSERT_TRUE(tls);
  ASSERT_TRUE(WaitReady(*tls)) << tls->last_error();
  auto udp = RelayUdpPath::Open("127.0.0.1", standalone_->bound_port(), Credentials(1, 9), Now(), Now());
  ASSERT_TRUE(udp.ok()) << udp.error().message;
  ASSERT_TRUE(WaitReady(**udp));
  for (uint8_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(tls->Send(Sealed(i), Now()).ok());
    EXPECT_EQ(ReceiveWithin(**udp), Sealed(i)) << "TLS -> UDP, packet " << int(i);
    ASSERT_TRUE((*udp)->Send(Sealed(60 + i), Now()).ok());
    EXPECT_EQ(ReceiveWithin(*tls), Sealed(60 + i)) << "UDP -> TLS, packet " << int(i);
  }
  EXPECT_EQ(standalone_->stats().calls, 1u);
  EXPECT_EQ(relay_->stats().calls, 0u);  // the front's own relay never saw the call
}

TEST_F(TlsRelayPathTest, ARelayTheFrontDoesNotKnowIsRefusedAndNeverReady) {
  // A valid ticket naming this host's SSH port: the front answers the decoy 404.
  auto path = OpenTls(Credentials(0, 10), MediaTargetRelay{"127.0.0.1", 22});
  ASSERT_TRUE(path);
  const auto deadline = Now() + kWait;
  while (path->open() && Now() < deadline) {
    path->Tick(Now());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(path->open());
  EXPECT_FALSE(path->ready());
  EXPECT_EQ(front_->stats().media_relay_refused, 1);
}

TEST_F(TlsRelayPathTest, TwoTlsParticipantsTalkThroughTheRelay) {
  auto a = OpenTls(Credentials(0, 7));
  auto b = OpenTls(Credentials(1, 7));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitReady(*a)) << a->last_error();
  ASSERT_TRUE(WaitReady(*b)) << b->last_error();
  for (uint8_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(a->Send(Sealed(i), Now()).ok());
    EXPECT_EQ(ReceiveWithin(*b), Sealed(i));
    ASSERT_TRUE(b->Send(Sealed(50 + i), Now()).ok());
    EXPECT_EQ(ReceiveWithin(*a), Sealed(50 + i));
  }
}

TEST_F(TlsRelayPathTest, ATicketFromAnotherKeyIsRefusedAndNeverReady) {
  constexpr std::array<uint8_t, 32> kOtherKey = {1};
  RelayTicketIssuer other{std::span<const uint8_t, 32>(kOtherKey)};
  RelayTicketClaims claims{};
  claims.call_id.fill(8);
  claims.expires_unix_s = UnixNowMs() / 1000 + 3600;
  claims.issued_unix_ms = UnixNowMs();
  const auto ticket = other.Issue(claims);
  const auto hop = other.HopKey(ticket);
  auto credentials =
      RelayCredentials::FromBytes(ticket, std::span<const uint8_t>(hop.data(), hop.size()), other.bind_key());
  ASSERT_TRUE(credentials.ok());
  auto path = OpenTls(std::move(*credentials));
  ASSERT_TRUE(path);
  // The front answers the upgrade with the decoy 404: a definite refusal.
  const auto deadline = Now() + kWait;
  while (path->open() && Now() < deadline) {
    path->Tick(Now());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(path->open());
  EXPECT_FALSE(path->ready());
  EXPECT_FALSE(path->last_error().empty());
  EXPECT_FALSE(path->Send(Sealed(1), Now()).ok());
}

}  // namespace
}  // namespace parley::net
