// Loopback tests of media over TLS on the web front: a verified ticket upgrades and
// datagrams flow both ways through the bridge to a fake relay socket, or to another
// relay the community knows when the target names it (never to an unknown one); every invalid
// media upgrade gets the decoy's 404 byte for byte; text and oversized frames close;
// the queue toward a slow client stays capped.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/crypto/encoding.h"
#include "parley/net/tls_media_target.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/web_front.h"
#include "tls_test_client.h"

namespace parley::server {
namespace {

using ::testing::StartsWith;
using testing::TlsTestClient;

constexpr char kPath[] = "/ws/media-test-path-0123456789";

class NullSink final : public SignalingSink {
 public:
  std::vector<SignalingSend> OnConnect(ConnectionId, const std::string&, SinkTime) override { return {}; }
  std::vector<SignalingSend> OnMessage(ConnectionId, std::string_view, SinkTime) override { return {}; }
  std::vector<SignalingSend> OnDisconnect(ConnectionId, SinkTime) override { return {}; }
  std::vector<SignalingSend> OnTimer(SinkTime) override { return {}; }
  std::optional<TimePoint> NextTimerAt() const override { return std::nullopt; }
};

// The relay's bridge socket, faked: a UDP socket on 127.0.0.1 the test reads and writes.
class FakeRelay {
 public:
  FakeRelay() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeRelay() { ::close(fd_); }
  uint16_t port() const { return port_; }

  // The next datagram and where it came from (the session's bridge socket); empty on timeout.
  std::string Receive(sockaddr_in* from = nullptr, int timeout_ms = 5000) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    sockaddr_in src{};
    socklen_t len = sizeof src;
    const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&src), &len);
    if (n < 0) return "";
    if (from != nullptr) *from = src;
    return std::string(buf, static_cast<size_t>(n));
  }
  void SendTo(const sockaddr_in& to, std::string_view bytes) {
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

std::array<uint8_t, 32> TestKey(uint8_t fill) {
  std::array<uint8_t, 32> key;
  key.fill(fill);
  return key;
}

class WebFrontMediaTest : public ::testing::Test {
 protected:
  void StartFront(WebFrontOptions options = {}, bool media_on = true) {
    auto cert = TlsCertificate::Generate("localhost");
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    options.host = "127.0.0.1";
    options.port = 0;
    options.websocket_path = kPath;
    options.media_tickets = &issuer_;
    options.relay_bridge_port = media_on ? relay_.port() : 0;
    auto front = WebFront::Start(ioc_, *cert, sink_, options);
    ASSERT_TRUE(front.ok()) << front.error().message;
    front_ = std::move(*front);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (front_) front_->Stop();
    work_.reset();
    for (auto& t : threads_) t.join();
    front_.reset();
  }

  uint16_t port() const { return front_->bound_port(); }

  std::vector<uint8_t> Ticket(int64_t expires_unix_s = 4102444800) const {  // 2100-01-01
    RelayTicketClaims claims{};
    claims.call_id.fill(7);
    claims.participant = 0;
    claims.expires_unix_s = expires_unix_s;
    return issuer_.Issue(claims);
  }

  static std::string WithoutDate(const std::string& response) {
    return std::regex_replace(response, std::regex("\r\nDate: [^\r]*\r\n"), "\r\nDate: X\r\n");
  }

  // What a GET of a random missing page gets, Date blanked.
  std::string Decoy404() {
    TlsTestClient client;
    EXPECT_TRUE(client.Connect(port()));
    EXPECT_TRUE(client.Write("GET /no-such-page-5c1d HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    return WithoutDate(client.ReadHttpResponse());
  }

  void OpenMedia(TlsTestClient& client) {
    ASSERT_TRUE(client.Connect(port()));
    ASSERT_THAT(client.WsUpgrade(net::MediaUpgradeTarget(kPath, Ticket())), StartsWith("HTTP/1.1 101"));
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(TestKey(1))};
  FakeRelay relay_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{ioc_.get_executor()};
  NullSink sink_;
  std::unique_ptr<WebFront> front_;
  std::vector<std::thread> threads_;
};

TEST_F(WebFrontMediaTest, VerifiedTicketUpgradesAndDatagramsFlowBothWays) {
  StartFront();
  TlsTestClient client;
  OpenMedia(client);
  ASSERT_TRUE(client.WsSend(std::string("Afirst datagram", 15), 2));
  sockaddr_in bridge{};
  EXPECT_EQ(relay_.Receive(&bridge), std::string("Afirst datagram", 15));
  EXPECT_EQ(ntohl(bridge.sin_addr.s_addr), INADDR_LOOPBACK);
  const std::string big(1472, 'x');
  ASSERT_TRUE(client.WsSend(big, 2));
  EXPECT_EQ(relay_.Receive(), big);  // one frame, one datagram, unchanged

  for (const std::string reply : {"\x7f" "one", "@two"}) {
    relay_.SendTo(bridge, reply);
    auto frame = client.WsRead();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->opcode, 2);
    EXPECT_EQ(frame->payload, reply);
  }
  EXPECT_EQ(front_->stats().media_sessions, 1);

  // A second connection with the same ticket gets its own bridge socket.
  TlsTestClient second;
  OpenMedia(second);
  ASSERT_TRUE(second.WsSend("Asecond", 2));
  sockaddr_in second_bridge{};
  EXPECT_EQ(relay_.Receive(&second_bridge), "Asecond");
  EXPECT_NE(second_bridge.sin_port, bridge.sin_port);
}

TEST_F(WebFrontMediaTest, EveryInvalidMediaUpgradeGetsTheDecoy404) {
  StartFront();
  const std::string expected = Decoy404();
  ASSERT_THAT(expected, StartsWith("HTTP/1.1 404 Not Found\r\n"));

  std::vector<uint8_t> forged = Ticket();
  forged[30] ^= 1;
  RelayTicketIssuer other(std::span<const uint8_t, 32>(TestKey(2)));
  RelayTicketClaims claims{};
  claims.expires_unix_s = 4102444800;
  const std::vector<std::string> targets = {
      std::string(kPath) + "/m/",
      std::string(kPath) + "/m/" + crypto::ToBase64(forged),
      net::MediaUpgradeTarget(kPath, Ticket(/*expires_unix_s=*/1000)),   // expired
      net::MediaUpgradeTarget(kPath, other.Issue(claims)),               // another server's key
      net::MediaUpgradeTarget("/ws/wrong-path", Ticket()),
      net::MediaUpgradeTarget(kPath, Ticket()) + "=",                    // not strict base64url
      net::MediaUpgradeTarget(kPath, Ticket()) + "?x=1",
      std::string(kPath) + "/m/" + std::string(400, 'A'),
  };
  for (const std::string& target : targets) {
    TlsTestClient client;
    ASSERT_TRUE(client.Connect(port()));
    ASSERT_TRUE(client.Write(TlsTestClient::UpgradeRequest(target)));
    EXPECT_EQ(WithoutDate(client.ReadHttpResponse()), expected) << target;
    // Same connection handling as any 404: still open, keep-alive, next request served.
    ASSERT_TRUE(client.Write("GET /no-such-page-5c1d HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    EXPECT_EQ(WithoutDate(client.ReadHttpResponse()), expected) << target;
  }
  // A plain GET of a valid media target is a missing page too.
  TlsTestClient plain;
  ASSERT_TRUE(plain.Connect(port()));
  ASSERT_TRUE(plain.Write("GET " + net::MediaUpgradeTarget(kPath, Ticket()) + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(WithoutDate(plain.ReadHttpResponse()), expected);
  EXPECT_EQ(front_->stats().media_sessions, 0);
  EXPECT_EQ(front_->stats().media_refused, static_cast<int64_t>(targets.size()));
}

TEST_F(WebFrontMediaTest, ANamedRelayIsBridgedOnlyIfTheCommunityKnowsIt) {
  // Another relay of the community (a standalone `parleyd --role relay`), faked by a
  // second socket on 127.0.0.1, known from the configuration.
  FakeRelay standalone;
  const MediaRelayRoutes routes({"own.example", 3478}, {{"127.0.0.1", standalone.port()}});
  WebFrontOptions options;
  options.media_relay_route = [&routes](const std::string& host, uint16_t port) { return routes.Route(host, port); };
  StartFront(options);

  // The call's relay is the standalone one: frames go there over UDP, replies come back.
  TlsTestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_THAT(client.WsUpgrade(net::MediaUpgradeTarget(kPath, Ticket(), net::MediaTargetRelay{"127.0.0.1", standalone.port()})),
              StartsWith("HTTP/1.1 101"));
  ASSERT_TRUE(client.WsSend("Ato the standalone relay", 2));
  sockaddr_in from{};
  EXPECT_EQ(standalone.Receive(&from), "Ato the standalone relay");
  standalone.SendTo(from, "@reply");
  auto frame = client.WsRead();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->payload, "@reply");
  EXPECT_EQ(relay_.Receive(nullptr, 100), "");  // nothing reached this node's relay

  // This node's own relay by the name clients are told (any case): the bridge socket.
  TlsTestClient own;
  ASSERT_TRUE(own.Connect(port()));
  ASSERT_THAT(own.WsUpgrade(net::MediaUpgradeTarget(kPath, Ticket(), net::MediaTargetRelay{"OWN.example", 3478})),
              StartsWith("HTTP/1.1 101"));
  ASSERT_TRUE(own.WsSend("Ato my own relay", 2));
  EXPECT_EQ(relay_.Receive(), "Ato my own relay");

  // Anything else, with a valid ticket: the decoy's 404, byte for byte, and nothing sent.
  // Naming the bridge socket itself, or any local service, is exactly the SSRF refused.
  const std::string expected = Decoy404();
  for (const net::MediaTargetRelay& relay : {net::MediaTargetRelay{"127.0.0.1", relay_.port()},
                                             net::MediaTargetRelay{"127.0.0.1", 22},
                                             net::MediaTargetRelay{"own.example", 3479},
                                             net::MediaTargetRelay{"10.0.0.1", standalone.port()}}) {
    TlsTestClient refused;
    ASSERT_TRUE(refused.Connect(port()));
    ASSERT_TRUE(refused.Write(TlsTestClient::UpgradeRequest(net::MediaUpgradeTarget(kPath, Ticket(), relay))));
    EXPECT_EQ(WithoutDate(refused.ReadHttpResponse()), expected) << relay.host << ":" << relay.port;
    ASSERT_TRUE(refused.Write("GET /no-such-page-5c1d HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    EXPECT_EQ(WithoutDate(refused.ReadHttpResponse()), expected);  // still a keep-alive connection
  }
  EXPECT_EQ(standalone.Receive(nullptr, 100), "");
  EXPECT_EQ(front_->stats().media_relay_refused, 4);
  EXPECT_EQ(front_->stats().media_sessions, 2);
}

TEST_F(WebFrontMediaTest, ANamedRelayIsRefusedWithoutRoutes) {
  StartFront();  // no media_relay_route: only this node's own relay, named by nobody
  const std::string expected = Decoy404();
  TlsTestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Write(TlsTestClient::UpgradeRequest(
      net::MediaUpgradeTarget(kPath, Ticket(), net::MediaTargetRelay{"127.0.0.1", relay_.port()}))));
  EXPECT_EQ(WithoutDate(client.ReadHttpResponse()), expected);
  EXPECT_EQ(front_->stats().media_relay_refused, 1);
  EXPECT_EQ(front_->stats().media_sessions, 0);
}

TEST_F(WebFrontMediaTest, MediaIsOffWithoutABridge) {
  WebFrontOptions options;
  options.relay_bridge_port = 0;
  StartFront(options, /*media_on=*/false);
  const std::string expected = Decoy404();
  TlsTestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Write(TlsTestClient::UpgradeRequest(net::MediaUpgradeTarget(kPath, Ticket()))));
  EXPECT_EQ(WithoutDate(client.ReadHttpResponse()), expected);
}

TEST_F(WebFrontMediaTest, TextFrameClosesWithUnsupportedData) {
  StartFront();
  TlsTestClient client;
  OpenMedia(client);
  ASSERT_TRUE(client.WsSend("hello", 1));
  auto close = client.WsRead();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->opcode, 8);
  EXPECT_EQ(close->close_code(), 1003);
  EXPECT_EQ(relay_.Receive(nullptr, 200), "");  // nothing reached the relay
}

TEST_F(WebFrontMediaTest, OversizedFrameClosesWithMessageTooBig) {
  WebFrontOptions options;
  options.max_media_frame_bytes = 1200;
  StartFront(options);
  TlsTestClient client;
  OpenMedia(client);
  ASSERT_TRUE(client.WsSend(std::string(1201, 'x'), 2));
  auto close = client.WsRead();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->opcode, 8);
  EXPECT_EQ(close->close_code(), 1009);
}

TEST_F(WebFrontMediaTest, QueueTowardASlowClientDropsOldest) {
  WebFrontOptions options;
  options.max_media_queue_frames = 4;
  StartFront(options);
  TlsTestClient client;
  OpenMedia(client);
  ASSERT_TRUE(client.WsSend("Ahi", 2));
  sockaddr_in bridge{};
  ASSERT_EQ(relay_.Receive(&bridge), "Ahi");
  // The client reads nothing while the relay sends far more than the TCP buffers and
  // the queue hold (paced, so the bridge socket's own buffer does not just overflow):
  // the front must drop, not grow.
  const std::string datagram(1200, 'm');
  for (int i = 0; i < 60000 && front_->stats().media_frames_dropped == 0; ++i) {
    relay_.SendTo(bridge, datagram);
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(front_->stats().media_frames_dropped, 0);
  // The connection still works: frames keep coming.
  auto frame = client.WsRead();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->opcode, 2);
}

}  // namespace
}  // namespace parley::server
