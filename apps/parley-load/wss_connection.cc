// WssConnection over Boost.Beast: TCP connect (from a chosen source address), TLS,
// WebSocket handshake, a read loop and a write queue (as Beast's chat-multi example).
#include "wss_connection.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>

namespace parley::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

ssl::context& ClientTlsContext() {
  static ssl::context context = [] {
    ssl::context tls(ssl::context::tls_client);
    tls.set_verify_mode(ssl::verify_none);
    // Resumed sessions would make reconnects cheaper, but a fresh client has none: keep
    // every handshake full, as 10,000 phones coming online would.
    return tls;
  }();
  return context;
}

class BeastConnection final : public WssConnection, public std::enable_shared_from_this<BeastConnection> {
 public:
  BeastConnection(asio::io_context& io, WssTarget target, WssCallbacks callbacks)
      : target_(std::move(target)), callbacks_(std::move(callbacks)), ws_(io, ClientTlsContext()) {}

  void Start(const std::string& local_address) {
    beast::error_code ec;
    auto address = asio::ip::make_address(target_.address, ec);
    if (ec) return Fail("bad server address " + target_.address);
    tcp::socket& socket = beast::get_lowest_layer(ws_).socket();
    socket.open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (ec) return Fail("socket: " + ec.message());
    if (!local_address.empty()) {
      socket.bind(tcp::endpoint(asio::ip::make_address(local_address, ec), 0), ec);
      if (ec) return Fail("bind " + local_address + ": " + ec.message());
    }
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(ws_).async_connect(
        tcp::endpoint(address, target_.port),
        [self = shared_from_this()](beast::error_code ec) { self->OnConnect(ec); });
  }

  void Send(std::string text) override {
    if (closed_) return;
    queue_.push_back(std::move(text));
    if (queue_.size() == 1 && open_) WriteNext();
  }

  void Close() override {
    if (closed_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    Fail("closed by the load generator");
  }

 private:
  void OnConnect(beast::error_code ec) {
    if (ec) return Fail("connect: " + ec.message());
    if (!SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), target_.server_name.c_str())) {
      return Fail("SNI could not be set");
    }
    ws_.next_layer().async_handshake(ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
      self->OnTlsHandshake(ec);
    });
  }

  void OnTlsHandshake(beast::error_code ec) {
    if (ec) return Fail("tls: " + ec.message());
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.async_handshake(target_.server_name, target_.path,
                        [self = shared_from_this()](beast::error_code ec) { self->OnWsHandshake(ec); });
  }

  void OnWsHandshake(beast::error_code ec) {
    if (ec) return Fail("websocket: " + ec.message());
    ws_.text(true);
    open_ = true;
    if (callbacks_.on_open) callbacks_.on_open();
    Read();
    if (!queue_.empty() && !closed_) WriteNext();
  }

  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Fail("read: " + ec.message());
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (callbacks_.on_message) callbacks_.on_message(std::move(text));
    if (!closed_) Read();
  }

  void WriteNext() {
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return Fail("write: " + ec.message());
    queue_.pop_front();
    if (!queue_.empty() && !closed_) WriteNext();
  }

  void Fail(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    open_ = false;
    auto on_closed = std::move(callbacks_.on_closed);
    callbacks_ = {};
    if (on_closed) on_closed(why);
  }

  WssTarget target_;
  WssCallbacks callbacks_;
  websocket::stream<ssl::stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;  // front is in flight while open_
  bool open_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<WssConnection> WssConnection::Open(asio::io_context& io, const WssTarget& target,
                                                   const std::string& local_address, WssCallbacks callbacks) {
  auto connection = std::make_shared<BeastConnection>(io, target, std::move(callbacks));
  connection->Start(local_address);
  return connection;
}

}  // namespace parley::load
