// Loopback tests of the TLS web front with a test sink: TLS and ALPN, the decoy site,
// a signaling path indistinguishable from any missing page, WebSocket round trips,
// timeouts and caps that shed bad connections without touching good ones.
#include "parley/server/web_front.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/server/decoy_files.h"
#include "tls_test_client.h"
#include "web_front_fixture.h"

namespace parley::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::EchoSink;
using testing::kPath;
using testing::TlsTestClient;
using testing::WebFrontTest;

std::string IndexHtml() {
  for (size_t i = 0; i < kDecoyFileCount; ++i) {
    if (kDecoyFiles[i].path == "/index.html") return std::string(kDecoyFiles[i].content);
  }
  return "";
}

TEST_F(WebFrontTest, TlsHandshakeServesCertificateAndAlpn) {
  StartFront();
  TlsTestClient client;
  ASSERT_TRUE(client.ConnectTcp(port()));
  ASSERT_TRUE(client.Handshake({"h2", "http/1.1"}));
  EXPECT_EQ(client.Alpn(), "http/1.1");
  EXPECT_EQ(client.PeerFingerprint(), fingerprint_);

  TlsTestClient h2_only;
  ASSERT_TRUE(h2_only.ConnectTcp(port()));
  ASSERT_TRUE(h2_only.Handshake({"h2"}));
  EXPECT_EQ(h2_only.Alpn(), "");
}

TEST_F(WebFrontTest, GetRootReturnsDecoyPageWithKeepAlive) {
  StartFront();
  TlsTestClient client;
  ASSERT_TRUE(client.Connect(port()));
  for (int i = 0; i < 3; ++i) {  // one connection, several requests
    ASSERT_TRUE(client.Write("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n"));
    const std::string response = client.ReadHttpResponse();
    EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: "));
    EXPECT_THAT(response, HasSubstr("Connection: keep-alive\r\n"));
    const std::string body = response.substr(response.find("\r\n\r\n") + 4);
    EXPECT_EQ(body, IndexHtml());
  }
  ASSERT_TRUE(client.Write("GET /style.css HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  EXPECT_THAT(client.ReadHttpResponse(), HasSubstr("Content-Type: text/css\r\n"));
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(WebFrontTest, SignalingPathLooksExactlyLikeAMissingPage) {
  StartFront();
  TlsTestClient client;
  ASSERT_TRUE(client.Connect(port()));
  std::vector<std::string> responses;
  for (std::string path : {kPath, "/ws/", "/random-9f8e7d", "/ws/test-path-0123456789x"}) {
    ASSERT_TRUE(client.Write("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    responses.push_back(WithoutDate(client.ReadHttpResponse()));
  }
  EXPECT_THAT(responses[0], StartsWith("HTTP/1.1 404 Not Found\r\n"));
  for (const auto& r : responses) EXPECT_EQ(r, responses[0]);

  // An upgrade on a wrong path, or an incomplete one on the right path, is a plain request.
  TlsTestClient wrong;
  ASSERT_TRUE(wrong.Connect(port()));
  ASSERT_TRUE(wrong.Write(TlsTestClient::UpgradeRequest("/ws/other")));
  EXPECT_EQ(WithoutDate(wrong.ReadHttpResponse()), responses[0]);
  ASSERT_TRUE(wrong.Write("GET " + std::string(kPath) +
                          " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
  EXPECT_EQ(WithoutDate(wrong.ReadHttpResponse()), responses[0]);
  EXPECT_EQ(sink_.Count("connect 127.0.0.1"), 0);
}

TEST_F(WebFrontTest, WebSocketReachesSinkAndRoundTrips) {
  StartFront();
  TlsTestClient client;
  OpenWebSocket(client);
  EXPECT_TRUE(sink_.WaitFor("connect 127.0.0.1"));
  ExpectEcho(client, "first");
  ExpectEcho(client, std::string(3000, 'x'));  // a 16-bit length frame
  ASSERT_TRUE(client.WsSend("timer"));
  auto tick = client.WsRead();
  ASSERT_TRUE(tick.has_value());
  EXPECT_EQ(tick->payload, "tick");
  ASSERT_TRUE(client.WsSend("bye"));
  auto bye = client.WsRead();
  ASSERT_TRUE(bye.has_value());
  EXPECT_EQ(bye->payload, "bye!");
  auto close = client.WsRead();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->opcode, 8);
  EXPECT_EQ(close->close_code(), 1000);
  EXPECT_TRUE(sink_.WaitFor("disconnect"));
}

TEST_F(WebFrontTest, BinaryFramesAreRefused) {
  StartFront();
  TlsTestClient client;
  OpenWebSocket(client);
  ASSERT_TRUE(client.WsSend("\x01\x02\x03", 2));
  auto close = client.WsRead();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->opcode, 8);
  EXPECT_EQ(close->close_code(), 1003);
  EXPECT_TRUE(sink_.WaitFor("disconnect"));
}

// Issue #7: a WebSocket that answers pings but never logs in no longer stays for ever.
TEST_F(WebFrontTest, WebSocketThatNeverLogsInIsClosedAtTheLoginDeadline) {
  WebFrontOptions options;
  options.login_timeout = std::chrono::seconds(1);
  StartFront(options);
  TlsTestClient logged_in;
  OpenWebSocket(logged_in);
  ASSERT_TRUE(logged_in.WsSend("login"));
  auto welcome = logged_in.WsRead();
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(welcome->payload, "welcome");

  TlsTestClient idle;
  const auto start = std::chrono::steady_clock::now();
  OpenWebSocket(idle);
  ExpectEcho(idle, "talking is not logging in");
  auto close = idle.WsRead();  // answers pings meanwhile, as a live client would
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->opcode, 8);
  EXPECT_EQ(close->close_code(), 1008);
  EXPECT_EQ(close->payload.substr(2), "log in first");
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::seconds(4));
  EXPECT_TRUE(sink_.WaitFor("disconnect"));
  // The one that logged in is past its deadline and still served.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ExpectEcho(logged_in, "still here");
  EXPECT_EQ(sink_.Count("disconnect"), 1);
}

TEST_F(WebFrontTest, HalfOpenConnectionTimesOutWhileWebSocketKeepsWorking) {
  WebFrontOptions options;
  options.tls_handshake_timeout = std::chrono::milliseconds(300);
  StartFront(options);
  TlsTestClient established;
  OpenWebSocket(established);

  TlsTestClient half_open;
  ASSERT_TRUE(half_open.ConnectTcp(port()));  // never sends a ClientHello
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(half_open.WaitClosed());
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(4));
  // The counter is bumped by the handshake's handler, just after the socket closed.
  for (int i = 0; i < 200 && front_->stats().handshake_failures == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(front_->stats().handshake_failures, 1);

  ExpectEcho(established, "still here");  // the WebSocket outlived the handshake timeout
}

TEST_F(WebFrontTest, OversizedMessageClosesOnlyThatSession) {
  WebFrontOptions options;
  options.max_message_bytes = 1024;
  StartFront(options);
  TlsTestClient big, other;
  OpenWebSocket(big);
  OpenWebSocket(other);
  ASSERT_TRUE(big.WsSend(std::string(2000, 'y')));
  auto close = big.WsRead();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->opcode, 8);
  EXPECT_EQ(close->close_code(), 1009);  // message too big
  EXPECT_TRUE(sink_.WaitFor("disconnect"));
  ExpectEcho(other, std::string(1000, 'z'));
  EXPECT_EQ(sink_.Count("disconnect"), 1);
}

TEST_F(WebFrontTest, ConnectionsOverThePerIpCapAreRefused) {
  WebFrontOptions options;
  options.max_connections_per_ip = 2;
  StartFront(options);
  TlsTestClient a, b, c;
  OpenWebSocket(a);
  ASSERT_TRUE(b.ConnectTcp(port()));
  ASSERT_TRUE(c.ConnectTcp(port()));
  EXPECT_TRUE(c.WaitClosed());  // the third from 127.0.0.1 is closed at once
  EXPECT_EQ(front_->stats().refused_over_cap, 1);
  ExpectEcho(a, "unaffected");
}

TEST_F(WebFrontTest, StopClosesWebSocketsGoingAway) {
  StartFront();
  TlsTestClient client;
  OpenWebSocket(client);
  front_->Stop();
  auto close = client.WsRead();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->opcode, 8);
  EXPECT_EQ(close->close_code(), 1001);
  EXPECT_TRUE(sink_.WaitFor("disconnect"));
  // The listener closes too (asynchronously, on its own strand): new connections are refused.
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    TlsTestClient late;
    refused = !late.ConnectTcp(port());
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace parley::server
