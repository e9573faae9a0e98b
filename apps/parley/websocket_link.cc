// ConnectToServer: the client's TLS + WebSocket signaling link with certificate
// pinning, over Boost.Beast (the one Beast file of the client). An io_context thread
// runs one read loop and one write at a time with a queue behind it; the main thread
// talks to it through Send (posted) and Receive (a queue under a mutex).
// Kept here, behind ServerLink, until src/parley/signal's SignalingConnection lands.
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "server_link.h"

namespace parley::app {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

std::string Hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

class WebSocketLink final : public ServerLink {
 public:
  WebSocketLink() : ssl_(asio::ssl::context::tls_client), ws_(ioc_, ssl_) {}
  ~WebSocketLink() override {
    asio::post(ioc_, [this] {
      beast::error_code ec;
      beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(ws_).close();
    });
    if (thread_.joinable()) thread_.join();
  }

  Status Connect(const ServerAddress& address, Duration timeout) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(address.host, std::to_string(address.port), ec);
    if (ec) return Error{"Cannot find the server " + address.host + ": " + ec.message() + "."};
    auto& tcp_stream = beast::get_lowest_layer(ws_);
    tcp_stream.expires_after(timeout);
    tcp_stream.connect(endpoints, ec);
    if (ec) {
      return Error{"Cannot reach the server at " + address.host + ":" + std::to_string(address.port) + " (" +
                   ec.message() + "); check the address and that parleyd runs."};
    }
    SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), address.host.c_str());
    ws_.next_layer().handshake(asio::ssl::stream_base::client, ec);
    if (ec) return Error{"The TLS handshake with the server failed (" + ec.message() + ")."};
    X509* cert = SSL_get1_peer_certificate(ws_.next_layer().native_handle());
    if (!cert) return Error{"The server presented no certificate."};
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    X509_free(cert);
    if (len <= 0) return Error{"The server's certificate could not be read."};
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der, static_cast<std::size_t>(len), digest);
    OPENSSL_free(der);
    fingerprint_ = Hex(digest, sizeof digest);
    if (!address.pin_sha256.empty() && fingerprint_ != address.pin_sha256) {
      return Error{"The server's certificate has changed (pinned " + address.pin_sha256.substr(0, 16) + "..., now " +
                   fingerprint_.substr(0, 16) + "...): someone may be intercepting; if the operator replaced it, "
                   "run parley init again."};
    }
    ws_.handshake(address.host, address.path, ec);
    if (ec) {
      return Error{"The server did not accept the signaling connection (" + ec.message() +
                   "); check the WebSocket path."};
    }
    tcp_stream.expires_never();
    ws_.text(true);
    ReadLoop();
    thread_ = std::thread([this] { ioc_.run(); });
    return Ok{};
  }

  Status Send(const std::string& text) override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return Error{closed_reason_};
    }
    asio::post(ioc_, [this, text] {
      outbox_.push_back(text);
      if (outbox_.size() == 1) WriteNext();
    });
    return Ok{};
  }

  Result<std::optional<std::string>> Receive(Duration wait) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return !inbox_.empty() || closed_; });
    if (!inbox_.empty()) {
      std::string text = std::move(inbox_.front());
      inbox_.pop_front();
      return std::optional<std::string>(std::move(text));
    }
    if (closed_) return Error{closed_reason_};
    return std::optional<std::string>();
  }

  std::string certificate_sha256() const override { return fingerprint_; }

 private:
  // io_context thread only.
  void ReadLoop() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      if (ec) return Close("The connection to the server was lost (" + ec.message() + ").");
      {
        std::lock_guard lock(mu_);
        inbox_.push_back(beast::buffers_to_string(buffer_.data()));
      }
      cv_.notify_all();
      buffer_.consume(buffer_.size());
      ReadLoop();
    });
  }
  void WriteNext() {
    ws_.async_write(asio::buffer(outbox_.front()), [this](beast::error_code ec, std::size_t) {
      if (ec) return Close("The connection to the server was lost (" + ec.message() + ").");
      outbox_.pop_front();
      if (!outbox_.empty()) WriteNext();
    });
  }
  void Close(std::string reason) {
    {
      std::lock_guard lock(mu_);
      if (!closed_) closed_reason_ = std::move(reason);
      closed_ = true;
    }
    cv_.notify_all();
  }

  asio::io_context ioc_;
  asio::ssl::context ssl_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;           // io_context thread only
  std::deque<std::string> outbox_;      // io_context thread only; front is being written
  std::thread thread_;
  std::string fingerprint_;

  std::mutex mu_;  // guards inbox_, closed_, closed_reason_ (io thread writes, main thread reads)
  std::condition_variable cv_;
  std::deque<std::string> inbox_;
  bool closed_ = false;
  std::string closed_reason_;
};

}  // namespace

Result<std::unique_ptr<ServerLink>> ConnectToServer(const ServerAddress& address, Duration timeout) {
  auto link = std::make_unique<WebSocketLink>();
  if (Status s = link->Connect(address, std::chrono::duration_cast<std::chrono::seconds>(timeout)); !s) {
    return s.error();
  }
  return std::unique_ptr<ServerLink>(std::move(link));
}

}  // namespace parley::app
