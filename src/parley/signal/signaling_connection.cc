// The client's signaling connection: TCP, a browser-like TLS handshake with the leaf
// certificate pinned in OpenSSL's verify step, the WebSocket upgrade, one read loop
// and one write in flight with a queue behind it, all on one io_context thread.
// The only Boost.Beast file of the client: it compiles slowly, so the header is a pimpl.
#include "parley/signal/signaling_connection.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "parley/net/tls_client_hello.h"

namespace parley::signal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What a current desktop Chrome sends; its TLS choices below follow the same browser.
constexpr char kUserAgent[] =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36";
// The close handshake after connecting; also how long the destructor waits for it.
constexpr auto kCloseTimeout = std::chrono::seconds(1);

std::string HostPort(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string SecondsText(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", std::round(ToSeconds(d) * 10) / 10);
  return buf;
}

// RFC 6455 §7.4.1 names, for close reasons a user may read.
std::string CloseCodeText(uint16_t code) {
  switch (code) {
    case 1000: return "1000 normal closure";
    case 1001: return "1001 going away";
    case 1002: return "1002 protocol error";
    case 1003: return "1003 unsupported data";
    case 1007: return "1007 invalid data";
    case 1008: return "1008 policy violation";
    case 1009: return "1009 message too big";
    case 1011: return "1011 server error";
    default: return std::to_string(code);
  }
}

}  // namespace

struct SignalingConnection::Impl {
  Impl(SignalingEndpoint e, SignalingOptions o)
      : endpoint(std::move(e)),
        options(o),
        where(HostPort(endpoint.host, endpoint.port)),
        work(ioc.get_executor()),
        ssl_ctx(ssl::context::tls_client),
        resolver(ioc),
        deadline(ioc) {
    event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~Impl() {
    if (event_fd >= 0) ::close(event_fd);
  }

  Status ConfigureTls();
  static int VerifyCertificate(X509_STORE_CTX* store, void* arg);

  // io thread only, in connection order.
  void Start(Duration timeout);
  void OnResolve(beast::error_code ec, const tcp::resolver::results_type& results);
  void OnTcpConnect(beast::error_code ec);
  void OnTlsHandshake(beast::error_code ec);
  void OnUpgrade(beast::error_code ec);
  void FailConnect(std::string message);
  std::string TimeoutError() const;

  // io thread only, once connected.
  void DoRead();
  void OnRead(beast::error_code ec);
  void Enqueue(std::string text);
  void DoWrite();
  void OnWrite(beast::error_code ec);
  void RequestClose();
  void StartClose();
  void Finish(std::string reason);
  void Teardown();

  // Any thread.
  void Shutdown();
  void SignalEvent();

  const SignalingEndpoint endpoint;
  const SignalingOptions options;
  const std::string where;  // "host:port" for messages
  int event_fd = -1;

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  ssl::context ssl_ctx;
  tcp::resolver resolver;                // io thread only
  asio::steady_timer deadline;           // io thread only: the Connect timeout
  // Made by ConfigureTls, after the context is complete: SSL_new copies the verify
  // mode, cipher, group and signature lists from the context when the stream is built.
  std::optional<websocket::stream<TlsStream>> ws;  // io thread only (once the thread runs)
  websocket::response_type upgrade_response;  // io thread only
  beast::flat_buffer read_buffer;        // io thread only
  std::deque<std::string> write_queue;   // io thread only; front() is being written
  Duration timeout{};                    // io thread only
  const char* phase = "name lookup";     // io thread only: what Connect is doing
  bool timed_out = false;                // io thread only
  bool close_requested = false;          // io thread only: Close() was called
  bool closing = false;                  // io thread only: close frame sent or socket closed
  bool closed_by_us = false;             // io thread only
  bool finished = false;                 // io thread only: Finish ran
  bool pin_mismatch = false;             // io thread only, during the handshake
  std::string ca_error;                  // io thread only, during the handshake
  std::thread thread;
  bool shut_down = false;                // the owning thread only (Shutdown)

  // Written by the io thread before connect_done is published under mu; read-only after.
  std::string seen_fingerprint;
  bool ca_verified = false;

  std::atomic<bool> connected{false};

  mutable std::mutex mu;  // guards everything below
  std::condition_variable cv;
  bool connect_done = false;
  std::string connect_error;  // empty when connected
  std::deque<std::string> inbox;
  bool closed = false;
  std::string close_reason;
};

using Impl = SignalingConnection::Impl;

Status Impl::ConfigureTls() {
  SSL_CTX* ctx = ssl_ctx.native_handle();
  // The ClientHello is the one media over TLS sends too (net/tls_client_hello.h).
  if (auto configured = net::ConfigureBrowserLikeClient(ctx); !configured) return configured.error();
  // The whole chain check is ours: a pin replaces CA validation entirely.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, &Impl::VerifyCertificate, this);
  if (!endpoint.pin_sha256) SSL_CTX_set_default_verify_paths(ctx);  // for ca_verified
  ws.emplace(ioc, ssl_ctx);
  return Ok{};
}

// OpenSSL calls this in place of its chain verification, on the io thread, before the
// client sends its Finished: returning 0 aborts the handshake with an alert, so a
// wrong certificate never sees the upgrade request or any signaling.
int Impl::VerifyCertificate(X509_STORE_CTX* store, void* arg) {
  auto* self = static_cast<Impl*>(arg);
  self->seen_fingerprint = net::CertificateSha256(X509_STORE_CTX_get0_cert(store));
  if (self->seen_fingerprint.empty()) return 0;
  if (self->endpoint.pin_sha256) {
    // The fingerprint is public; no need for a constant-time comparison.
    self->pin_mismatch = self->seen_fingerprint != *self->endpoint.pin_sha256;
    return self->pin_mismatch ? 0 : 1;
  }
  self->ca_verified = X509_verify_cert(store) == 1;
  if (!self->ca_verified) self->ca_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
  if (self->options.require_ca_when_unpinned && !self->ca_verified) return 0;
  X509_STORE_CTX_set_error(store, X509_V_OK);  // trust on first use: the caller pins what it saw
  return 1;
}

std::string Impl::TimeoutError() const {
  return "timed out after " + SecondsText(timeout) + " connecting to " + where + " (during the " + phase +
         "); the server may be down or the network may be blocking it.";
}

void Impl::FailConnect(std::string message) {
  deadline.cancel();
  beast::error_code ignored;
  beast::get_lowest_layer(*ws).socket().close(ignored);
  std::lock_guard lock(mu);
  connect_done = true;
  connect_error = std::move(message);
  cv.notify_all();
}

void Impl::Start(Duration connect_timeout) {
  timeout = connect_timeout;
  deadline.expires_after(timeout);
  deadline.async_wait([this](beast::error_code ec) {
    if (ec) return;  // cancelled: connected or failed first
    timed_out = true;
    resolver.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(*ws).socket().close(ignored);  // the pending step fails with operation_aborted
  });
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                         [this](beast::error_code ec, const tcp::resolver::results_type& results) {
                           OnResolve(ec, results);
                         });
}

void Impl::OnResolve(beast::error_code ec, const tcp::resolver::results_type& results) {
  if (timed_out) return FailConnect(TimeoutError());
  if (ec) {
    return FailConnect("cannot resolve " + endpoint.host + " (" + ec.message() +
                       "); check the server address and the network.");
  }
  phase = "TCP connect";
  beast::get_lowest_layer(*ws).async_connect(
      results, [this](beast::error_code connect_ec, const tcp::endpoint&) { OnTcpConnect(connect_ec); });
}

void Impl::OnTcpConnect(beast::error_code ec) {
  if (timed_out) return FailConnect(TimeoutError());
  if (ec == asio::error::connection_refused) {
    return FailConnect("cannot reach " + where +
                       ": connection refused (is parleyd running, and is this its port?).");
  }
  if (ec) return FailConnect("cannot reach " + where + ": " + ec.message() + "; check the address and the network.");

  SSL* ssl_handle = ws->next_layer().native_handle();
  const bool ip = net::IsIpLiteral(endpoint.host);
  if (auto prepared = net::PrepareBrowserLikeHello(ssl_handle, endpoint.host); !prepared) {
    return FailConnect(prepared.error().message);
  }
  if (!endpoint.pin_sha256) {
    // For ca_verified (and require_ca_when_unpinned): the name the chain must cover.
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), endpoint.host.c_str());
    } else {
      SSL_set1_host(ssl_handle, endpoint.host.c_str());
    }
  }
  phase = "TLS handshake";
  ws->next_layer().async_handshake(ssl::stream_base::client,
                                  [this](beast::error_code tls_ec) { OnTlsHandshake(tls_ec); });
}

void Impl::OnTlsHandshake(beast::error_code ec) {
  if (timed_out) return FailConnect(TimeoutError());
  if (pin_mismatch) {
    return FailConnect("the server's certificate changed: expected " + *endpoint.pin_sha256 + ", got " +
                       seen_fingerprint +
                       " — if the operator replaced it, run parley init again; otherwise someone may be "
                       "intercepting the connection.");
  }
  if (ec && options.require_ca_when_unpinned && !ca_error.empty()) {
    return FailConnect("the certificate of " + where + " is not trusted by this system (" + ca_error +
                       "); ask the operator for its pin (certificate_sha256) and give it with --pin.");
  }
  if (ec) {
    return FailConnect("the TLS handshake with " + where + " failed (" + ec.message() +
                       "); is this the address and port of a Parley server?");
  }
  if (auto alpn = net::CheckAlpnIsHttp11(ws->next_layer().native_handle(), where); !alpn) {
    return FailConnect(alpn.error().message);
  }

  // Host (and Origin) as a browser writes them: the port only when it is not 443.
  const std::string host_header = endpoint.port == 443 ? where.substr(0, where.rfind(':')) : where;
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout =
      std::max<Duration>(deadline.expiry() - std::chrono::steady_clock::now(), milliseconds(1));
  timeouts.idle_timeout = options.idle_timeout;
  timeouts.keep_alive_pings = true;  // a ping after half the idle timeout (RFC 6455 §5.5.2)
  ws->set_option(timeouts);
  ws->set_option(websocket::stream_base::decorator([host_header](websocket::request_type& request) {
    request.set(http::field::pragma, "no-cache");
    request.set(http::field::cache_control, "no-cache");
    request.set(http::field::user_agent, kUserAgent);
    request.set(http::field::origin, "https://" + host_header);
    request.set(http::field::accept_language, "en-US,en;q=0.9");
  }));
  ws->read_message_max(options.max_message_bytes);
  phase = "WebSocket upgrade";
  ws->async_handshake(upgrade_response, host_header, endpoint.path,
                     [this](beast::error_code ws_ec) { OnUpgrade(ws_ec); });
}

void Impl::OnUpgrade(beast::error_code ec) {
  if (timed_out) return FailConnect(TimeoutError());
  if (ec == websocket::error::upgrade_declined) {
    return FailConnect(where + " does not serve Parley at this path (got HTTP " +
                       std::to_string(upgrade_response.result_int()) +
                       "); check the --server value parleyd printed, path included.");
  }
  if (ec) return FailConnect("the WebSocket upgrade at " + where + " failed (" + ec.message() + ").");
  deadline.cancel();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = kCloseTimeout;  // from now on: the closing handshake
  timeouts.idle_timeout = options.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws->set_option(timeouts);
  connected = true;
  {
    std::lock_guard lock(mu);
    connect_done = true;
    cv.notify_all();
  }
  DoRead();
}

void Impl::DoRead() {
  ws->async_read(read_buffer, [this](beast::error_code ec, std::size_t) { OnRead(ec); });
}

void Impl::OnRead(beast::error_code ec) {
  if (ec) {
    if (closed_by_us) return Finish("this client closed the connection.");
    if (ec == websocket::error::closed) {
      const websocket::close_reason& r = ws->reason();
      std::string text = "the server closed the connection (" + CloseCodeText(r.code);
      if (!r.reason.empty()) text += ": " + std::string(r.reason.data(), r.reason.size());
      return Finish(text + ").");
    }
    if (ec == beast::error::timeout) {
      return Finish("the server stopped answering (nothing for " + SecondsText(options.idle_timeout) +
                    "); check the network.");
    }
    if (ec == websocket::error::message_too_big) {
      return Finish("the server sent a message over " + std::to_string(options.max_message_bytes) +
                    " bytes; the connection was closed.");
    }
    return Finish("the connection to " + where + " was lost (" + ec.message() + ").");
  }
  // Binary frames are reserved for media over the TLS front (issues #5, #9).
  if (ws->got_text()) {
    std::string text = beast::buffers_to_string(read_buffer.data());
    std::lock_guard lock(mu);
    inbox.push_back(std::move(text));
    SignalEvent();
    cv.notify_all();
  }
  read_buffer.consume(read_buffer.size());
  DoRead();
}

void Impl::Enqueue(std::string text) {
  if (finished || closing || close_requested) return;
  write_queue.push_back(std::move(text));
  if (write_queue.size() == 1) DoWrite();
}

void Impl::DoWrite() {
  ws->text(true);
  ws->async_write(asio::buffer(write_queue.front()), [this](beast::error_code ec, std::size_t) { OnWrite(ec); });
}

void Impl::OnWrite(beast::error_code ec) {
  if (ec) {
    write_queue.clear();
    return;  // the read loop reports why the connection ended
  }
  write_queue.pop_front();
  if (!write_queue.empty()) return DoWrite();
  if (close_requested) StartClose();
}

void Impl::RequestClose() {
  if (close_requested || finished) return;
  close_requested = true;
  if (write_queue.empty()) StartClose();  // else once the queue has gone out
}

void Impl::StartClose() {
  if (closing || finished) return;
  closing = true;
  closed_by_us = true;
  ws->async_close(websocket::close_code::normal, [this](beast::error_code ec) {
    // On success the read loop ends with `closed` once the server's close frame is in.
    if (ec) {
      beast::error_code ignored;
      beast::get_lowest_layer(*ws).socket().close(ignored);
    }
  });
}

void Impl::Finish(std::string reason) {
  if (finished) return;
  finished = true;
  connected = false;
  write_queue.clear();
  beast::error_code ignored;
  beast::get_lowest_layer(*ws).socket().close(ignored);
  std::lock_guard lock(mu);
  closed = true;
  close_reason = std::move(reason);
  SignalEvent();
  cv.notify_all();
}

void Impl::Teardown() {
  deadline.cancel();
  resolver.cancel();
  if (connected) closed_by_us = true;
  Finish("this client closed the connection.");
}

void Impl::SignalEvent() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(event_fd, &one, sizeof one);  // at worst already readable
}

void Impl::Shutdown() {
  if (shut_down) return;
  shut_down = true;
  if (!thread.joinable()) return;
  asio::post(ioc, [this] { RequestClose(); });
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, kCloseTimeout + std::chrono::milliseconds(200),
                [this] { return closed || !connect_error.empty(); });
  }
  // Whatever is still pending is cut off; its handlers are destroyed with the
  // io_context, never run.
  asio::post(ioc, [this] {
    Teardown();
    ioc.stop();
  });
  work.reset();
  thread.join();
}

SignalingConnection::SignalingConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

SignalingConnection::~SignalingConnection() { impl_->Shutdown(); }

Result<std::unique_ptr<SignalingConnection>> SignalingConnection::Connect(const SignalingEndpoint& endpoint,
                                                                          Duration timeout,
                                                                          SignalingOptions options) {
  if (endpoint.host.empty() || endpoint.port == 0 || endpoint.path.empty() || endpoint.path[0] != '/') {
    return Error{"the server address '" + endpoint.ToString() + "' is incomplete; run parley init with the --server "
                 "value parleyd printed."};
  }
  auto impl = std::make_shared<Impl>(endpoint, options);
  if (impl->event_fd < 0) return Error{"cannot create an eventfd; the process is out of file descriptors."};
  if (auto configured = impl->ConfigureTls(); !configured) return configured.error();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc.run(); });
  asio::post(impl->ioc, [raw, timeout] { raw->Start(timeout); });
  std::string error;
  {
    std::unique_lock lock(impl->mu);
    // The deadline timer ends every step; the extra second only guards against a bug.
    if (!impl->cv.wait_for(lock, timeout + seconds(1), [&] { return impl->connect_done; })) {
      error = "timed out after " + SecondsText(timeout) + " connecting to " + impl->where + ".";
    } else {
      error = impl->connect_error;
    }
  }
  if (!error.empty()) {
    impl->Shutdown();
    return Error{std::move(error)};
  }
  return std::unique_ptr<SignalingConnection>(new SignalingConnection(std::move(impl)));
}

bool SignalingConnection::Send(std::string text) {
  if (!impl_->connected) return false;
  Impl* raw = impl_.get();
  asio::post(impl_->ioc, [raw, text = std::move(text)]() mutable { raw->Enqueue(std::move(text)); });
  return true;
}

std::optional<std::string> SignalingConnection::Receive(Duration wait) {
  // Far-future waits are clamped so the deadline arithmetic cannot overflow.
  wait = std::clamp<Duration>(wait, Duration::zero(), std::chrono::hours(24 * 365));
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, wait, [this] { return !impl_->inbox.empty() || impl_->closed; });
  if (impl_->inbox.empty()) return std::nullopt;
  std::string text = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  if (impl_->inbox.empty() && !impl_->closed) {
    uint64_t count;
    [[maybe_unused]] const ssize_t n = ::read(impl_->event_fd, &count, sizeof count);  // not readable any more
  }
  return text;
}

int SignalingConnection::event_fd() const { return impl_->event_fd; }

bool SignalingConnection::connected() const { return impl_->connected; }

std::string SignalingConnection::close_reason() const {
  std::lock_guard lock(impl_->mu);
  return impl_->close_reason;
}

void SignalingConnection::Close() {
  Impl* raw = impl_.get();
  asio::post(impl_->ioc, [raw] { raw->RequestClose(); });
}

const std::string& SignalingConnection::peer_fingerprint_sha256() const { return impl_->seen_fingerprint; }

bool SignalingConnection::pinned() const { return impl_->endpoint.pin_sha256.has_value(); }

bool SignalingConnection::ca_verified() const { return impl_->ca_verified; }

}  // namespace parley::signal
