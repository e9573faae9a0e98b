// The client's media-over-TLS carrier against the real web front on 127.0.0.1 with a
// fake relay that echoes datagrams: connect and upgrade, datagrams both ways, redial
// after the server closes, and the definite refusals (wrong pin, ticket not valid).
#include "parley/net/tls_media_channel.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/server/relay_ticket.h"
#include "parley/server/web_front.h"

namespace parley::net {
namespace {

using ::testing::HasSubstr;
using server::RelayTicketIssuer;
using server::WebFront;
using server::WebFrontOptions;

constexpr char kPath[] = "/ws/channel-test-path-0123";

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

// The relay's bridge socket, faked: echoes every datagram to its sender with "echo:" in front.
class EchoRelay {
 public:
  EchoRelay() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    timeval tv{0, 50'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] {
      char buf[4096];
      while (!stop_) {
        sockaddr_in src{};
        socklen_t slen = sizeof src;
        const ssize_t n = ::recvfrom(fd_, buf + 5, sizeof buf - 5, 0, reinterpret_cast<sockaddr*>(&src), &slen);
        if (n <= 0) continue;
        std::memcpy(buf, "echo:", 5);
        ::sendto(fd_, buf, static_cast<size_t>(n) + 5, 0, reinterpret_cast<sockaddr*>(&src), slen);
      }
    });
  }
  ~EchoRelay() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class TlsMediaChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert = server::TlsCertificate::Generate("localhost");
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    fingerprint_ = cert->fingerprint_sha256();
    WebFrontOptions options;
    options.host = "127.0.0.1";
    options.websocket_path = kPath;
    options.media_tickets = &issuer_;
    options.relay_bridge_port = relay_.port();
    options.max_media_frame_bytes = 1000;  // below the client's cap, so a test can make the front close
    auto front = WebFront::Start(ioc_, *cert, sink_, options);
    ASSERT_TRUE(front.ok()) << front.error().message;
    front_ = std::move(*front);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    front_->Stop();
    work_.reset();
    thread_.join();
  }

  TlsMediaEndpoint Endpoint() const {
    server::RelayTicketClaims claims{};
    claims.call_id.fill(3);
    claims.expires_unix_s = 4102444800;
    TlsMediaEndpoint e;
    e.host = "localhost";  // a name, so SNI is sent as in production
    e.port = front_->bound_port();
    e.signaling_path = kPath;
    e.pin_sha256 = fingerprint_;
    e.ticket = issuer_.Issue(claims);
    return e;
  }

  static TlsMediaChannelOptions FastOptions() {
    TlsMediaChannelOptions o;
    o.first_retry = milliseconds(20);
    o.max_retry = milliseconds(100);
    return o;
  }

  template <typename Pred>
  static bool WaitUntil(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // Waits on fd() for the next datagram.
  static std::optional<std::vector<uint8_t>> ReceiveWithin(TlsMediaChannel& channel, int ms = 5000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      if (auto d = channel.Receive()) return d;
      pollfd p{channel.fd(), POLLIN, 0};
      ::poll(&p, 1, 50);
    }
    return std::nullopt;
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(std::array<uint8_t, 32>{5})};
  EchoRelay relay_;
  NullSink sink_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{ioc_.get_executor()};
  std::unique_ptr<WebFront> front_;
  std::thread thread_;
  std::string fingerprint_;
};

TEST_F(TlsMediaChannelTest, UpgradesAndCarriesDatagramsBothWays) {
  auto channel = TlsMediaChannel::Open(Endpoint(), FastOptions());
  ASSERT_TRUE(channel.ok()) << channel.error().message;
  auto& c = **channel;
  EXPECT_FALSE(c.Send(Bytes("Atoo early")));  // not upgraded yet: dropped, never queued
  ASSERT_TRUE(WaitUntil([&] { return c.upgraded(); })) << c.last_error();
  EXPECT_EQ(c.upgrades(), 1u);
  for (int i = 0; i < 20; ++i) {
    const std::string datagram = "Apacket " + std::to_string(i) + std::string(100 + i, 'x');
    ASSERT_TRUE(c.Send(Bytes(datagram)));
    auto echoed = ReceiveWithin(c);
    ASSERT_TRUE(echoed.has_value()) << i;
    EXPECT_EQ(std::string(echoed->begin(), echoed->end()), "echo:" + datagram);
  }
  EXPECT_EQ(c.stats().frames_sent, 20u);
  EXPECT_EQ(c.stats().frames_received, 20u);
  EXPECT_EQ(c.description(), "relay-tls localhost:" + std::to_string(front_->bound_port()));
  EXPECT_EQ(front_->stats().media_sessions, 1);
}

TEST_F(TlsMediaChannelTest, RedialsAfterTheServerCloses) {
  auto channel = TlsMediaChannel::Open(Endpoint(), FastOptions());
  ASSERT_TRUE(channel.ok());
  auto& c = **channel;
  ASSERT_TRUE(WaitUntil([&] { return c.upgraded(); })) << c.last_error();
  // Over the front's frame cap: it closes with 1009, and the channel dials again.
  ASSERT_TRUE(c.Send(Bytes(std::string(1200, 'z'))));
  ASSERT_TRUE(WaitUntil([&] { return c.upgrades() == 2 && c.upgraded(); })) << c.last_error();
  EXPECT_TRUE(c.open());
  EXPECT_THAT(c.last_error(), HasSubstr("reconnecting"));
  ASSERT_TRUE(c.Send(Bytes("Aafter")));
  auto echoed = ReceiveWithin(c);
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(std::string(echoed->begin(), echoed->end()), "echo:Aafter");
  EXPECT_EQ(front_->stats().media_sessions, 2);
}

TEST_F(TlsMediaChannelTest, WrongPinStopsForGood) {
  TlsMediaEndpoint e = Endpoint();
  e.pin_sha256 = std::string(64, 'a');
  auto channel = TlsMediaChannel::Open(e, FastOptions());
  ASSERT_TRUE(channel.ok());
  ASSERT_TRUE(WaitUntil([&] { return !(*channel)->open(); }));
  EXPECT_THAT((*channel)->last_error(), HasSubstr("not the one signaling saw"));
  EXPECT_EQ(front_->stats().media_sessions, 0);
}

TEST_F(TlsMediaChannelTest, RefusedTicketStopsForGood) {
  TlsMediaEndpoint e = Endpoint();
  e.ticket[10] ^= 1;
  auto channel = TlsMediaChannel::Open(e, FastOptions());
  ASSERT_TRUE(channel.ok());
  ASSERT_TRUE(WaitUntil([&] { return !(*channel)->open(); }));
  EXPECT_THAT((*channel)->last_error(), HasSubstr("HTTP 404"));
  EXPECT_EQ((*channel)->upgrades(), 0u);
}

TEST_F(TlsMediaChannelTest, KeepsRedialingWhileTheFrontIsDown) {
  TlsMediaEndpoint e = Endpoint();
  front_->Stop();
  // Nothing listens there any more: attempts fail and are retried, never given up.
  auto channel = TlsMediaChannel::Open(e, FastOptions());
  ASSERT_TRUE(channel.ok());
  ASSERT_TRUE(WaitUntil([&] { return (*channel)->stats().failed_attempts >= 3; }));
  EXPECT_TRUE((*channel)->open());
  EXPECT_FALSE((*channel)->upgraded());
}

TEST(TlsMediaChannelOpenTest, IncompleteEndpointsAreClearErrors) {
  TlsMediaEndpoint e;
  e.host = "localhost";
  e.port = 443;
  e.signaling_path = "/ws/x";
  e.ticket = {1, 2, 3};
  auto no_pin = TlsMediaChannel::Open(e);
  ASSERT_FALSE(no_pin.ok());
  EXPECT_THAT(no_pin.error().message, HasSubstr("fingerprint"));
  e.pin_sha256 = std::string(64, 'b');
  e.ticket.clear();
  EXPECT_FALSE(TlsMediaChannel::Open(e).ok());
  e.ticket = {1};
  e.signaling_path = "ws";
  EXPECT_FALSE(TlsMediaChannel::Open(e).ok());
}

}  // namespace
}  // namespace parley::net
