// Media over TLS, client side: one io thread dials the web front (browser-like
// ClientHello, certificate pinned in OpenSSL's verify step), upgrades at the media
// target, then runs one read loop and one write in flight behind a drop-oldest queue;
// a connection that fails or dies is redialled with exponential backoff.
// The only Beast file of parley_net: it compiles slowly, so the header is a pimpl.
#include "parley/net/tls_media_channel.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
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
#include "parley/net/tls_frame_queue.h"
#include "parley/net/tls_media_target.h"

namespace parley::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using WsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// The same browser User-Agent the signaling connection sends.
constexpr char kUserAgent[] =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36";

std::string HostPort(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// One connection attempt and, if it upgrades, its life. Handlers hold it by
// shared_ptr so a dead attempt's late completions find their objects alive.
struct Attempt {
  Attempt(asio::io_context& ioc, ssl::context& ctx) : resolver(ioc), deadline(ioc), ws(ioc, ctx) {}
  tcp::resolver resolver;
  asio::steady_timer deadline;
  WsStream ws;
  websocket::response_type response;
  beast::flat_buffer read_buffer;
  std::vector<uint8_t> in_flight;
  bool upgraded = false;
  bool dead = false;
  bool writing = false;
};

}  // namespace

struct TlsMediaChannel::Impl {
  Impl(TlsMediaEndpoint e, TlsMediaChannelOptions o)
      : endpoint(std::move(e)),
        options(o),
        where(HostPort(endpoint.host, endpoint.port)),
        target(MediaUpgradeTarget(endpoint.signaling_path, endpoint.ticket, endpoint.relay)),
        host_header(endpoint.port == 443 ? (endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]"
                                                                                          : endpoint.host)
                                         : where),
        work(ioc.get_executor()),
        ssl_ctx(ssl::context::tls_client),
        retry_timer(ioc),
        to_send(o.max_queued_frames, o.max_queued_bytes),
        retry_delay(o.first_retry),
        inbox(o.max_queued_frames, o.max_queued_bytes) {
    event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~Impl() {
    if (event_fd >= 0) ::close(event_fd);
  }

  Status ConfigureTls();
  static int VerifyCertificate(X509_STORE_CTX* store, void* arg);

  // io thread only.
  void Dial();
  void OnResolve(const std::shared_ptr<Attempt>& a, beast::error_code ec, const tcp::resolver::results_type& r);
  void OnTcpConnect(const std::shared_ptr<Attempt>& a, beast::error_code ec);
  void OnTlsHandshake(const std::shared_ptr<Attempt>& a, beast::error_code ec);
  void OnUpgrade(const std::shared_ptr<Attempt>& a, beast::error_code ec);
  void DoRead(const std::shared_ptr<Attempt>& a);
  void OnRead(const std::shared_ptr<Attempt>& a, beast::error_code ec);
  void Enqueue(std::vector<uint8_t> frame);
  void DoWrite(const std::shared_ptr<Attempt>& a);
  void OnWrite(const std::shared_ptr<Attempt>& a, beast::error_code ec);
  // Ends the attempt; `permanent` stops redialling.
  void Fail(const std::shared_ptr<Attempt>& a, std::string reason, bool permanent = false);
  void Teardown();

  void SetError(std::string reason);
  void SignalEvent();

  const TlsMediaEndpoint endpoint;
  const TlsMediaChannelOptions options;
  const std::string where;        // "host:port" for messages
  const std::string target;       // the media upgrade target (carries the ticket)
  const std::string host_header;  // Host and Origin as a browser writes them
  int event_fd = -1;

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  ssl::context ssl_ctx;
  asio::steady_timer retry_timer;    // io thread only
  std::shared_ptr<Attempt> current;  // io thread only
  TlsFrameQueue to_send;             // io thread only
  Duration retry_delay;              // io thread only
  bool stopping = false;             // io thread only
  bool pin_mismatch = false;         // io thread only, during a handshake
  std::string seen_fingerprint;      // io thread only, during a handshake
  std::thread thread;

  std::atomic<bool> upgraded{false};
  std::atomic<bool> alive{true};
  std::atomic<uint64_t> frames_sent{0}, bytes_sent{0}, frames_dropped{0}, frames_received{0}, bytes_received{0},
      upgrades{0}, failed_attempts{0};

  mutable std::mutex mu;  // guards inbox and last_error
  TlsFrameQueue inbox;
  std::string last_error;
};

using Impl = TlsMediaChannel::Impl;

Status Impl::ConfigureTls() {
  SSL_CTX* ctx = ssl_ctx.native_handle();
  if (auto configured = ConfigureBrowserLikeClient(ctx); !configured) return configured.error();
  // The pin is the whole check: the certificate the signaling connection accepted.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, &Impl::VerifyCertificate, this);
  return Ok{};
}

// Called by OpenSSL on the io thread in place of chain verification; 0 aborts the
// handshake with an alert, so a wrong certificate never sees the ticket.
int Impl::VerifyCertificate(X509_STORE_CTX* store, void* arg) {
  auto* self = static_cast<Impl*>(arg);
  self->seen_fingerprint = CertificateSha256(X509_STORE_CTX_get0_cert(store));
  self->pin_mismatch = self->seen_fingerprint.empty() || self->seen_fingerprint != self->endpoint.pin_sha256;
  if (self->pin_mismatch) return 0;
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

void Impl::SetError(std::string reason) {
  std::lock_guard lock(mu);
  last_error = std::move(reason);
}

void Impl::SignalEvent() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(event_fd, &one, sizeof one);
}

void Impl::Dial() {
  if (stopping || !alive) return;
  auto a = std::make_shared<Attempt>(ioc, ssl_ctx);
  current = a;
  a->deadline.expires_after(options.connect_timeout);
  a->deadline.async_wait([this, a](beast::error_code ec) {
    if (ec || a->dead || a->upgraded) return;
    Fail(a, "timed out connecting to " + where + " for media over TLS.");
  });
  a->resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                            [this, a](beast::error_code ec, const tcp::resolver::results_type& r) {
                              OnResolve(a, ec, r);
                            });
}

void Impl::OnResolve(const std::shared_ptr<Attempt>& a, beast::error_code ec,
                     const tcp::resolver::results_type& results) {
  if (a->dead) return;
  if (ec) return Fail(a, "cannot resolve " + endpoint.host + " (" + ec.message() + ").");
  beast::get_lowest_layer(a->ws).async_connect(
      results, [this, a](beast::error_code connect_ec, const tcp::endpoint&) { OnTcpConnect(a, connect_ec); });
}

void Impl::OnTcpConnect(const std::shared_ptr<Attempt>& a, beast::error_code ec) {
  if (a->dead) return;
  if (ec) return Fail(a, "cannot reach " + where + " (" + ec.message() + ").");
  beast::error_code ignored;
  beast::get_lowest_layer(a->ws).socket().set_option(tcp::no_delay(true), ignored);  // audio, not bulk
  if (auto prepared = PrepareBrowserLikeHello(a->ws.next_layer().native_handle(), endpoint.host); !prepared) {
    return Fail(a, prepared.error().message, /*permanent=*/true);
  }
  a->ws.next_layer().async_handshake(ssl::stream_base::client,
                                     [this, a](beast::error_code tls_ec) { OnTlsHandshake(a, tls_ec); });
}

void Impl::OnTlsHandshake(const std::shared_ptr<Attempt>& a, beast::error_code ec) {
  if (a->dead) return;
  if (pin_mismatch) {
    return Fail(a,
                "the certificate of " + where + " for media over TLS is not the one signaling saw (expected " +
                    endpoint.pin_sha256 + ", got " + seen_fingerprint + "); someone may be intercepting the connection.",
                /*permanent=*/true);
  }
  if (ec) return Fail(a, "the TLS handshake with " + where + " failed (" + ec.message() + ").");
  if (auto alpn = CheckAlpnIsHttp11(a->ws.next_layer().native_handle(), where); !alpn) {
    return Fail(a, alpn.error().message, /*permanent=*/true);
  }
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.connect_timeout;
  timeouts.idle_timeout = options.idle_timeout;
  timeouts.keep_alive_pings = true;  // a ping at half the idle timeout keeps the front's idle timer fed
  a->ws.set_option(timeouts);
  a->ws.set_option(websocket::stream_base::decorator([origin = "https://" + host_header](websocket::request_type& r) {
    r.set(http::field::pragma, "no-cache");
    r.set(http::field::cache_control, "no-cache");
    r.set(http::field::user_agent, kUserAgent);
    r.set(http::field::origin, origin);
    r.set(http::field::accept_language, "en-US,en;q=0.9");
  }));
  a->ws.read_message_max(options.max_frame_bytes);
  a->ws.binary(true);
  a->ws.async_handshake(a->response, host_header, target, [this, a](beast::error_code ws_ec) { OnUpgrade(a, ws_ec); });
}

void Impl::OnUpgrade(const std::shared_ptr<Attempt>& a, beast::error_code ec) {
  if (a->dead) return;
  if (ec == websocket::error::upgrade_declined) {
    // The front answers a ticket it does not accept exactly like a missing page.
    return Fail(a,
                where + " refused media over TLS (HTTP " + std::to_string(a->response.result_int()) +
                    "): the relay ticket is not valid there; the call must get a new one.",
                /*permanent=*/true);
  }
  if (ec) return Fail(a, "the media upgrade at " + where + " failed (" + ec.message() + ").");
  a->deadline.cancel();
  a->upgraded = true;
  upgraded = true;
  ++upgrades;
  retry_delay = options.first_retry;
  to_send.Clear();  // anything queued before this connection is stale by now
  DoRead(a);
}

void Impl::DoRead(const std::shared_ptr<Attempt>& a) {
  a->ws.async_read(a->read_buffer, [this, a](beast::error_code ec, std::size_t) { OnRead(a, ec); });
}

void Impl::OnRead(const std::shared_ptr<Attempt>& a, beast::error_code ec) {
  if (a->dead) return;
  if (ec) {
    std::string why = ec == websocket::error::closed ? "the server closed the media connection"
                                                     : "the media connection to " + where + " ended (" + ec.message() + ")";
    return Fail(a, why + "; reconnecting.");
  }
  if (a->ws.got_binary() && a->read_buffer.size() > 0) {
    const auto data = a->read_buffer.data();
    std::vector<uint8_t> frame(asio::buffer_size(data));
    asio::buffer_copy(asio::buffer(frame), data);
    ++frames_received;
    bytes_received += frame.size();
    {
      std::lock_guard lock(mu);
      const uint64_t before = inbox.dropped();
      inbox.Push(std::move(frame));
      frames_dropped += inbox.dropped() - before;
    }
    SignalEvent();
  }
  a->read_buffer.consume(a->read_buffer.size());
  DoRead(a);
}

void Impl::Enqueue(std::vector<uint8_t> frame) {
  const std::shared_ptr<Attempt>& a = current;
  if (!a || !a->upgraded || a->dead) {
    ++frames_dropped;
    return;
  }
  const uint64_t before = to_send.dropped();
  to_send.Push(std::move(frame));
  frames_dropped += to_send.dropped() - before;
  if (!a->writing) DoWrite(a);
}

void Impl::DoWrite(const std::shared_ptr<Attempt>& a) {
  if (to_send.empty() || a->dead) return;
  a->writing = true;
  a->in_flight = *to_send.Pop();
  a->ws.async_write(asio::buffer(a->in_flight), [this, a](beast::error_code ec, std::size_t) { OnWrite(a, ec); });
}

void Impl::OnWrite(const std::shared_ptr<Attempt>& a, beast::error_code ec) {
  a->writing = false;
  if (a->dead) return;
  if (ec) return Fail(a, "writing to " + where + " failed (" + ec.message() + "); reconnecting.");
  ++frames_sent;
  bytes_sent += a->in_flight.size();
  DoWrite(a);
}

void Impl::Fail(const std::shared_ptr<Attempt>& a, std::string reason, bool permanent) {
  if (a->dead) return;
  a->dead = true;
  a->deadline.cancel();
  a->resolver.cancel();
  beast::error_code ignored;
  beast::get_lowest_layer(a->ws).socket().close(ignored);  // pending operations end with operation_aborted
  if (a == current) {
    upgraded = false;
    to_send.Clear();
  }
  ++failed_attempts;
  SetError(std::move(reason));
  if (stopping) return;
  if (permanent) {
    alive = false;
    SignalEvent();  // poll loops wake up and see open() == false
    return;
  }
  retry_timer.expires_after(retry_delay);
  retry_delay = std::min<Duration>(retry_delay * 2, options.max_retry);
  retry_timer.async_wait([this](beast::error_code wait_ec) {
    if (!wait_ec) Dial();
  });
}

void Impl::Teardown() {
  stopping = true;
  retry_timer.cancel();
  if (current && !current->dead) {
    current->dead = true;
    current->deadline.cancel();
    current->resolver.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(current->ws).socket().close(ignored);
  }
  upgraded = false;
}

TlsMediaChannel::TlsMediaChannel(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsMediaChannel::~TlsMediaChannel() {
  Impl* raw = impl_.get();
  asio::post(raw->ioc, [raw] {
    raw->Teardown();
    raw->ioc.stop();
  });
  raw->work.reset();
  raw->thread.join();
}

Result<std::unique_ptr<TlsMediaChannel>> TlsMediaChannel::Open(TlsMediaEndpoint endpoint,
                                                               TlsMediaChannelOptions options) {
  if (endpoint.host.empty() || endpoint.port == 0 || endpoint.signaling_path.empty() ||
      endpoint.signaling_path[0] != '/') {
    return Error{"the server address for media over TLS is incomplete; run parley init with the --server value "
                 "parleyd printed."};
  }
  if (endpoint.pin_sha256.size() != 64) {
    return Error{"media over TLS needs the server certificate's fingerprint from the signaling connection."};
  }
  if (endpoint.ticket.empty() || endpoint.ticket.size() > kMaxMediaTargetTicketBytes) {
    return Error{"the relay ticket has a wrong size for media over TLS; the server sent a bad relay message."};
  }
  if (endpoint.relay && !IsValidMediaTargetRelay(*endpoint.relay)) {
    return Error{"the relay's address cannot be named to the TLS front; the server sent a bad relay message."};
  }
  auto impl = std::make_shared<Impl>(std::move(endpoint), options);
  if (impl->event_fd < 0) return Error{"cannot create an eventfd; the process is out of file descriptors."};
  if (auto configured = impl->ConfigureTls(); !configured) return configured.error();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc.run(); });
  asio::post(impl->ioc, [raw] { raw->Dial(); });
  return std::unique_ptr<TlsMediaChannel>(new TlsMediaChannel(std::move(impl)));
}

bool TlsMediaChannel::Send(std::span<const uint8_t> datagram) {
  if (datagram.empty() || datagram.size() > impl_->options.max_frame_bytes || !impl_->upgraded) {
    ++impl_->frames_dropped;
    return false;
  }
  Impl* raw = impl_.get();
  asio::post(impl_->ioc, [raw, frame = std::vector<uint8_t>(datagram.begin(), datagram.end())]() mutable {
    raw->Enqueue(std::move(frame));
  });
  return true;
}

std::optional<std::vector<uint8_t>> TlsMediaChannel::Receive() {
  std::lock_guard lock(impl_->mu);
  auto frame = impl_->inbox.Pop();
  if (impl_->inbox.empty()) {
    uint64_t count;
    [[maybe_unused]] const ssize_t n = ::read(impl_->event_fd, &count, sizeof count);  // not readable any more
    if (!impl_->alive) impl_->SignalEvent();  // a dead channel stays readable, like a closed socket
  }
  return frame;
}

int TlsMediaChannel::fd() const { return impl_->event_fd; }
bool TlsMediaChannel::upgraded() const { return impl_->upgraded; }
uint64_t TlsMediaChannel::upgrades() const { return impl_->upgrades; }
bool TlsMediaChannel::open() const { return impl_->alive; }

std::string TlsMediaChannel::last_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_error;
}

TlsMediaChannelStats TlsMediaChannel::stats() const {
  TlsMediaChannelStats s;
  s.frames_sent = impl_->frames_sent;
  s.bytes_sent = impl_->bytes_sent;
  s.frames_dropped = impl_->frames_dropped;
  s.frames_received = impl_->frames_received;
  s.bytes_received = impl_->bytes_received;
  s.upgrades = impl_->upgrades;
  s.failed_attempts = impl_->failed_attempts;
  return s;
}

std::string TlsMediaChannel::description() const { return "relay-tls " + impl_->where; }

}  // namespace parley::net
