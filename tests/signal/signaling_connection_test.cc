// Loopback tests of the client's signaling connection against parleyd's real TLS web
// front (in-process, 127.0.0.1, ephemeral port) with a test sink: pinning, trust on
// first use, round trips, the clear errors, and closes from either side.
#include "parley/signal/signaling_connection.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/server/signaling_sink.h"
#include "parley/server/tls_certificate.h"
#include "parley/server/web_front.h"

namespace parley::signal {
namespace {

using server::ConnectionId;
using server::SignalingSend;
using server::SinkTime;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPath[] = "/ws/client-test-0123456789";
constexpr auto kTimeout = std::chrono::seconds(5);  // bound on every connect and wait

// Greets on connect, echoes "echo:<text>", answers "bye" with "bye!" and close 1000.
// Called on the front's hub strand; read by the test thread.
class EchoSink final : public server::SignalingSink {
 public:
  std::vector<SignalingSend> OnConnect(ConnectionId id, const std::string& ip, SinkTime) override {
    Record("connect " + ip);
    return {{id, "hello"}};
  }
  std::vector<SignalingSend> OnMessage(ConnectionId id, std::string_view text, SinkTime) override {
    Record("message " + std::string(text));
    if (text == "bye") return {{id, "bye!", true}};
    return {{id, "echo:" + std::string(text)}};
  }
  std::vector<SignalingSend> OnDisconnect(ConnectionId, SinkTime) override {
    Record("disconnect");
    return {};
  }
  std::vector<SignalingSend> OnTimer(SinkTime) override { return {}; }
  std::optional<TimePoint> NextTimerAt() const override { return std::nullopt; }

  bool WaitFor(const std::string& event) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kTimeout, [&] { return std::count(events_.begin(), events_.end(), event) > 0; });
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  void Record(std::string event) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  mutable std::mutex mu_;  // guards events_
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

class SignalingConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert = server::TlsCertificate::Generate("localhost");
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    fingerprint_ = cert->fingerprint_sha256();
    server::WebFrontOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.websocket_path = kPath;
    auto front = server::WebFront::Start(ioc_, *cert, sink_, options);
    ASSERT_TRUE(front.ok()) << front.error().message;
    front_ = std::move(*front);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (front_) front_->Stop();
    work_.reset();
    if (thread_.joinable()) thread_.join();
    front_.reset();
  }

  SignalingEndpoint Endpoint(std::optional<std::string> pin) const {
    return SignalingEndpoint{"127.0.0.1", front_->bound_port(), kPath, std::move(pin)};
  }
  std::string Where() const { return "127.0.0.1:" + std::to_string(front_->bound_port()); }

  // Waits (bounded) until the front has counted `n` failed TLS handshakes.
  bool WaitHandshakeFailures(int64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (front_->stats().handshake_failures < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{ioc_.get_executor()};
  EchoSink sink_;
  std::unique_ptr<server::WebFront> front_;
  std::thread thread_;
  std::string fingerprint_;
};

bool Readable(int fd, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  return ::poll(&pfd, 1, timeout_ms) == 1;
}

TEST_F(SignalingConnectionTest, PinnedConnectionRoundTripsTextBothWays) {
  auto c = SignalingConnection::Connect(Endpoint(fingerprint_), kTimeout);
  ASSERT_TRUE(c.ok()) << c.error().message;
  SignalingConnection& conn = **c;
  EXPECT_TRUE(conn.connected());
  EXPECT_TRUE(conn.pinned());
  EXPECT_EQ(conn.peer_fingerprint_sha256(), fingerprint_);
  EXPECT_EQ(conn.close_reason(), "");
  EXPECT_EQ(conn.Receive(kTimeout), "hello");
  EXPECT_TRUE(sink_.WaitFor("connect 127.0.0.1"));

  // event_fd: readable exactly while a message waits.
  EXPECT_FALSE(Readable(conn.event_fd(), 0));
  ASSERT_TRUE(conn.Send("one"));
  EXPECT_TRUE(Readable(conn.event_fd(), 5000));
  EXPECT_EQ(conn.Receive(Duration::zero()), "echo:one");
  EXPECT_FALSE(Readable(conn.event_fd(), 0));
  EXPECT_EQ(conn.Receive(milliseconds(20)), std::nullopt);

  // Two threads sending at once: every message arrives whole, each thread's in order.
  const std::string big(40000, 'x');  // several TLS records, one WebSocket message
  auto sender = [&conn, &big](char tag) {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(conn.Send(std::string(1, tag) + std::to_string(i) + (i == 7 ? big : "")));
  };
  std::thread t1(sender, 'a'), t2(sender, 'b');
  t1.join();
  t2.join();
  int next_a = 0, next_b = 0;
  for (int i = 0; i < 100; ++i) {
    auto reply = conn.Receive(kTimeout);
    ASSERT_TRUE(reply.has_value()) << "reply " << i;
    ASSERT_THAT(*reply, StartsWith("echo:"));
    const char tag = (*reply)[5];
    int& next = tag == 'a' ? next_a : next_b;
    EXPECT_EQ(*reply, "echo:" + std::string(1, tag) + std::to_string(next) + (next == 7 ? big : ""));
    ++next;
  }
  EXPECT_EQ(next_a, 50);
  EXPECT_EQ(next_b, 50);
}

TEST_F(SignalingConnectionTest, WrongPinFailsClearlyAndSendsNothingAfterTheHandshake) {
  const std::string wrong(64, 'a');
  auto c = SignalingConnection::Connect(Endpoint(wrong), kTimeout);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "the server's certificate changed: expected " + wrong + ", got " + fingerprint_ +
                                   " — if the operator replaced it, run parley init again; otherwise someone may "
                                   "be intercepting the connection.");
  // The client aborted inside the handshake (an alert instead of its Finished): the
  // server's handshake failed, so no request ever reached it.
  EXPECT_TRUE(WaitHandshakeFailures(1));
  EXPECT_EQ(front_->stats().websocket_sessions, 0);
  EXPECT_TRUE(sink_.events().empty());
}

TEST_F(SignalingConnectionTest, WithoutAPinTrustsOnFirstUseAndReportsTheFingerprint) {
  auto c = SignalingConnection::Connect(Endpoint(std::nullopt), kTimeout);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((*c)->peer_fingerprint_sha256(), fingerprint_);
  EXPECT_FALSE((*c)->pinned());
  EXPECT_FALSE((*c)->ca_verified());  // self-signed
  EXPECT_EQ((*c)->Receive(kTimeout), "hello");

  // A caller that wants a CA-valid certificate when it has no pin gets a clear refusal.
  SignalingOptions strict;
  strict.require_ca_when_unpinned = true;
  auto refused = SignalingConnection::Connect(Endpoint(std::nullopt), kTimeout, strict);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, StartsWith("the certificate of " + Where() + " is not trusted by this system ("));
  EXPECT_THAT(refused.error().message,
              HasSubstr("); ask the operator for its pin (certificate_sha256) and give it with --pin."));
}

TEST_F(SignalingConnectionTest, WrongPathIsNotParley) {
  SignalingEndpoint endpoint = Endpoint(fingerprint_);
  endpoint.path = "/ws/not-the-path";
  auto c = SignalingConnection::Connect(endpoint, kTimeout);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, Where() + " does not serve Parley at this path (got HTTP 404); check the --server "
                                         "value parleyd printed, path included.");
  EXPECT_EQ(front_->stats().websocket_sessions, 0);
}

TEST_F(SignalingConnectionTest, RefusedPortAndSilentServerGiveClearErrors) {
  // A port with nothing listening: bind, read the port, close.
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t size = sizeof addr;
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &size), 0);
  const uint16_t closed_port = ntohs(addr.sin_port);
  ::close(probe);
  auto refused = SignalingConnection::Connect({"127.0.0.1", closed_port, kPath, fingerprint_}, kTimeout);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "cannot reach 127.0.0.1:" + std::to_string(closed_port) +
                                         ": connection refused (is parleyd running, and is this its port?).");

  // A listener that accepts (the kernel completes the TCP handshake) but never speaks.
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(silent, 4), 0);
  size = sizeof addr;
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &size), 0);
  const uint16_t silent_port = ntohs(addr.sin_port);
  const auto start = std::chrono::steady_clock::now();
  auto timed_out = SignalingConnection::Connect({"127.0.0.1", silent_port, kPath, fingerprint_}, milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(silent);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().message, "timed out after 0.3 s connecting to 127.0.0.1:" +
                                           std::to_string(silent_port) +
                                           " (during the TLS handshake); the server may be down or the network "
                                           "may be blocking it.");
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST_F(SignalingConnectionTest, ServerCloseIsReported) {
  auto c = SignalingConnection::Connect(Endpoint(fingerprint_), kTimeout);
  ASSERT_TRUE(c.ok()) << c.error().message;
  SignalingConnection& conn = **c;
  EXPECT_EQ(conn.Receive(kTimeout), "hello");
  ASSERT_TRUE(conn.Send("bye"));
  EXPECT_EQ(conn.Receive(kTimeout), "bye!");  // what arrived before the close is still delivered
  EXPECT_EQ(conn.Receive(kTimeout), std::nullopt);
  EXPECT_FALSE(conn.connected());
  EXPECT_EQ(conn.close_reason(), "the server closed the connection (1000 normal closure).");
  EXPECT_TRUE(Readable(conn.event_fd(), 0));  // stays readable: the loop should look
  EXPECT_FALSE(conn.Send("anyone?"));
  EXPECT_TRUE(sink_.WaitFor("disconnect"));
}

TEST_F(SignalingConnectionTest, ServerShutdownAndClientCloseAreReported) {
  auto a = SignalingConnection::Connect(Endpoint(fingerprint_), kTimeout);
  auto b = SignalingConnection::Connect(Endpoint(fingerprint_), kTimeout);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->Receive(kTimeout), "hello");
  EXPECT_EQ((*b)->Receive(kTimeout), "hello");

  // The client closes: the server sees the disconnect; the reason says who closed.
  (*b)->Close();
  EXPECT_EQ((*b)->Receive(kTimeout), std::nullopt);
  EXPECT_FALSE((*b)->connected());
  EXPECT_EQ((*b)->close_reason(), "this client closed the connection.");
  EXPECT_TRUE(sink_.WaitFor("disconnect"));

  // parleyd shuts down: 1001 going away.
  front_->Stop();
  EXPECT_EQ((*a)->Receive(kTimeout), std::nullopt);
  EXPECT_FALSE((*a)->connected());
  EXPECT_EQ((*a)->close_reason(), "the server closed the connection (1001 going away).");
}

TEST_F(SignalingConnectionTest, DestroyingAnOpenConnectionIsPromptAndClean) {
  auto c = SignalingConnection::Connect(Endpoint(fingerprint_), kTimeout);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE((*c)->Send("pending"));
  const auto start = std::chrono::steady_clock::now();
  c->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(sink_.WaitFor("disconnect"));
  EXPECT_TRUE(sink_.WaitFor("message pending"));  // queued sends go out before the close
}

TEST(SignalingConnectionArgsTest, AnIncompleteEndpointIsRefused) {
  auto c = SignalingConnection::Connect({"127.0.0.1", 1, "", std::nullopt}, kTimeout);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "the server address '127.0.0.1:1' is incomplete; run parley init with the --server value parleyd printed.");
}

}  // namespace
}  // namespace parley::signal
