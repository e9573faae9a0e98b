// The web front test fixture: a WebFront on 127.0.0.1 with a recording echo sink and
// two io_context threads, shared by the web front's loopback tests.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/server/web_front.h"
#include "tls_test_client.h"

namespace parley::server::testing {

using ::testing::StartsWith;

inline constexpr char kPath[] = "/ws/test-path-0123456789";

// Echoes text back ("echo:<text>"), greets on connect, closes after "bye", arms the
// timer on "timer", completes the login on "login"; records every event. Called on the hub strand; read by the test.
class EchoSink final : public SignalingSink {
 public:
  std::vector<SignalingSend> OnConnect(ConnectionId id, const std::string& ip, SinkTime) override {
    std::lock_guard lock(mu_);
    events_.push_back("connect " + ip);
    cv_.notify_all();
    return {{id, "hello"}};
  }
  std::vector<SignalingSend> OnMessage(ConnectionId id, std::string_view text, SinkTime now) override {
    std::lock_guard lock(mu_);
    events_.push_back("message " + std::string(text.substr(0, 32)));
    cv_.notify_all();
    if (text == "bye") return {{id, "bye!", true}};
    if (text == "login") return {{id, "welcome", false, /*logged_in=*/true}};
    if (text == "timer") {
      timer_at_ = now.steady + std::chrono::milliseconds(20);
      timer_for_ = id;
      return {};
    }
    return {{id, "echo:" + std::string(text)}};
  }
  std::vector<SignalingSend> OnDisconnect(ConnectionId, SinkTime) override {
    std::lock_guard lock(mu_);
    events_.push_back("disconnect");
    cv_.notify_all();
    return {};
  }
  std::vector<SignalingSend> OnTimer(SinkTime now) override {
    std::lock_guard lock(mu_);
    if (!timer_at_ || now.steady < *timer_at_) return {};
    timer_at_.reset();
    return {{timer_for_, "tick"}};
  }
  std::optional<TimePoint> NextTimerAt() const override {
    std::lock_guard lock(mu_);
    return timer_at_;
  }

  // Waits (bounded) until `count` events equal to `event` were seen.
  bool WaitFor(const std::string& event, int count = 1) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] {
      return std::count(events_.begin(), events_.end(), event) >= count;
    });
  }
  int Count(const std::string& event) {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count(events_.begin(), events_.end(), event));
  }

 private:
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::vector<std::string> events_;
  std::optional<TimePoint> timer_at_;
  ConnectionId timer_for_ = 0;
};

class WebFrontTest : public ::testing::Test {
 protected:
  void StartFront(WebFrontOptions options = {}) {
    auto cert = TlsCertificate::Generate("localhost");
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    fingerprint_ = cert->fingerprint_sha256();
    options.host = "127.0.0.1";
    options.port = 0;
    options.websocket_path = kPath;
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

  static std::string WithoutDate(const std::string& response) {
    return std::regex_replace(response, std::regex("\r\nDate: [^\r]*\r\n"), "\r\nDate: X\r\n");
  }

  // A WebSocket on the signaling path that has received the sink's greeting.
  void OpenWebSocket(TlsTestClient& client) {
    ASSERT_TRUE(client.Connect(port()));
    const std::string head = client.WsUpgrade(kPath);
    ASSERT_THAT(head, StartsWith("HTTP/1.1 101"));
    auto hello = client.WsRead();
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->payload, "hello");
  }

  void ExpectEcho(TlsTestClient& client, const std::string& text) {
    ASSERT_TRUE(client.WsSend(text));
    auto reply = client.WsRead();
    ASSERT_TRUE(reply.has_value()) << "no reply to " << text;
    EXPECT_EQ(reply->opcode, 1);
    EXPECT_EQ(reply->payload, "echo:" + text);
  }

  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{ioc_.get_executor()};
  EchoSink sink_;
  std::unique_ptr<WebFront> front_;
  std::vector<std::thread> threads_;
  std::string fingerprint_;
};

}  // namespace parley::server::testing
