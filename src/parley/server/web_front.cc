// The TLS web front: listener with connection caps, TLS handshake with a timeout,
// HTTP sessions answering from the decoy site, and WebSocket sessions bridged to the
// signaling sink on one hub strand. After Boost.Beast's chat-multi example (listener,
// http_session, websocket_session, shared state; one write in flight, a queue behind).
#include "parley/server/web_front.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "parley/net/tls_frame_queue.h"
#include "parley/net/tls_media_target.h"
#include "parley/server/decoy_site.h"
#include "parley/server/web_app_site.h"
#include "parley/server/web_app_target.h"

namespace parley::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using udp = net::ip::udp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Strand = net::strand<net::io_context::executor_type>;

SinkTime Now() {
  using namespace std::chrono;
  return SinkTime{steady_clock::now(), duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

int64_t UnixSeconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// ALPN (RFC 7301): we speak only http/1.1. A client that offers only h2 gets no ALPN
// answer and falls back to HTTP/1.1, as with an nginx built without http2.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void*) {
  static const unsigned char kOurs[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kOurs, sizeof kOurs, in, in_len) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// The key connection caps count against: the address itself for IPv4 (and IPv4
// mapped into IPv6), the /64 for IPv6, since one host commonly holds a whole /64.
std::string CapKey(const net::ip::address& a) {
  if (a.is_v4()) return a.to_string();
  const net::ip::address_v6 v6 = a.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return net::ip::address_v6(bytes).to_string() + "/64";
}

std::string ClientIp(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

std::string_view Sv(beast::string_view s) { return std::string_view(s.data(), s.size()); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// Something Stop() can close.
class Closable {
 public:
  virtual ~Closable() = default;
  virtual void Close() = 0;
};

class WsSession;

}  // namespace

struct WebFront::Shared : std::enable_shared_from_this<WebFront::Shared> {
  Shared(net::io_context& io, SignalingSink& s, WebFrontOptions o)
      : ioc(io),
        ssl_ctx(ssl::context::tls_server),
        accept_strand(net::make_strand(io)),
        acceptor(accept_strand),
        accept_retry(accept_strand),
        hub_strand(net::make_strand(io)),
        hub_timer(hub_strand),
        sink(s),
        options(std::move(o)) {}

  // A counted connection: released (caps, Stop list) when the last session holding it ends.
  struct Slot {
    std::shared_ptr<Shared> shared;
    std::string cap_key;
    uint64_t serial = 0;
    ~Slot() { shared->Release(*this); }
  };

  std::unique_ptr<Slot> Admit(const std::string& cap_key);
  void Release(const Slot& slot);
  void Track(uint64_t serial, std::weak_ptr<Closable> session);

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  // Hub strand only.
  void Deliver(std::vector<SignalingSend> sends);
  void RearmTimer();

  net::io_context& ioc;
  ssl::context ssl_ctx;
  Strand accept_strand;
  tcp::acceptor acceptor;        // accept_strand only
  net::steady_timer accept_retry;  // accept_strand only
  Strand hub_strand;
  net::steady_timer hub_timer;          // hub_strand only
  std::optional<TimePoint> timer_at;    // hub_strand only: when hub_timer fires
  SignalingSink& sink;                  // hub_strand only
  const WebFrontOptions options;
  const DecoySite site{};
  std::atomic<ConnectionId> next_connection_id{1};
  std::atomic<bool> stopping{false};
  uint16_t port = 0;  // set before the first accept, then read-only

  mutable std::mutex mu;  // guards per_ip, live, websockets, stats, next_serial
  std::unordered_map<std::string, int64_t> per_ip;  // open connections per cap key
  std::map<uint64_t, std::weak_ptr<Closable>> live;  // every open connection, for Stop
  std::unordered_map<ConnectionId, std::weak_ptr<WsSession>> websockets;  // upgraded ones
  WebFrontStats stats;
  uint64_t next_serial = 1;
};

namespace {

using Shared = WebFront::Shared;

// One upgraded connection: text frames to the sink, sends from the sink back out.
// Everything but the constructor runs on the connection's strand.
class WsSession final : public Closable, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(std::shared_ptr<Shared> shared, TlsStream&& stream, std::unique_ptr<Shared::Slot> slot, std::string ip)
      : shared_(std::move(shared)), ws_(std::move(stream)), slot_(std::move(slot)), ip_(std::move(ip)) {}

  ~WsSession() override {
    // The read loop normally reports the disconnect; this covers a session dropped
    // before its read loop ended (io_context destroyed mid-flight).
    if (connected_ && !disconnected_) {
      NotifyDisconnect();
    }
  }

  net::any_io_executor executor() { return ws_.get_executor(); }

  void Run(http::request<http::string_body> request) {
    request_ = std::move(request);
    shared_->Track(slot_->serial, weak_from_this());
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
    const auto& o = shared_->options;
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = o.tls_handshake_timeout;  // also bounds the closing handshake
    timeouts.idle_timeout = o.websocket_idle_timeout;
    timeouts.keep_alive_pings = true;  // a ping at half the idle timeout
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "nginx");
      res.set(http::field::date, DecoySite::HttpDate(UnixSeconds()));
    }));
    ws_.read_message_max(o.max_message_bytes);
    ws_.async_accept(request_, beast::bind_front_handler(&WsSession::OnAccept, shared_from_this()));
  }

  // Queues a message; one write in flight, the rest behind it. `logged_in`: the login
  // deadline no longer applies.
  void Send(std::string text, bool close_after, bool logged_in = false) {
    if (logged_in && !logged_in_) {
      logged_in_ = true;
      login_timer_.cancel();
    }
    if (closing_) return;
    queued_bytes_ += text.size();
    if (queued_bytes_ > shared_->options.max_queued_bytes) {
      // A reader this slow would make us hold unbounded memory for it.
      StartClose(websocket::close_reason(websocket::close_code::policy_error, "reading too slowly"));
      return;
    }
    queue_.push_back(Outgoing{std::move(text), close_after});
    if (queue_.size() == 1) DoWrite();
  }

  void Close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->StartClose(websocket::close_reason(websocket::close_code::going_away));
    });
  }

 private:
  struct Outgoing {
    std::string text;
    bool close_after = false;
  };

  void OnAccept(beast::error_code ec) {
    if (ec) return;  // the session ends; the slot is released
    id_ = shared_->next_connection_id.fetch_add(1);
    {
      std::lock_guard lock(shared_->mu);
      shared_->websockets[id_] = weak_from_this();
      ++shared_->stats.websocket_sessions;
    }
    connected_ = true;
    net::post(shared_->hub_strand, [shared = shared_, id = id_, ip = ip_] {
      shared->Deliver(shared->sink.OnConnect(id, ip, Now()));
    });
    if (shared_->options.login_timeout.count() > 0) {
      login_timer_.expires_after(shared_->options.login_timeout);
      login_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || self->logged_in_) return;  // cancelled by the login, or the session ended
        self->StartClose(websocket::close_reason(websocket::close_code::policy_error, "log in first"));
      });
    }
    if (shared_->stopping) StartClose(websocket::close_reason(websocket::close_code::going_away));
    DoRead();
  }

  void DoRead() { ws_.async_read(read_buffer_, beast::bind_front_handler(&WsSession::OnRead, shared_from_this())); }

  void OnRead(beast::error_code ec, size_t) {
    // Errors include message_too_big, after which Beast has already sent close 1009
    // (RFC 6455 §7.4.1, "message too big") to that client alone.
    if (ec) return NotifyDisconnect();
    if (!ws_.got_text()) {
      // Binary frames are reserved for media over the TLS front (issues #5, #9): the
      // media bridge plugs in here, handing frames of an authenticated connection to
      // the relay's session table. Until then they are refused with 1003.
      read_buffer_.consume(read_buffer_.size());
      StartClose(websocket::close_reason(websocket::close_code::unknown_data, "binary frames are not supported"));
      return DoRead();
    }
    std::string text = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    net::post(shared_->hub_strand, [shared = shared_, id = id_, text = std::move(text)] {
      shared->Deliver(shared->sink.OnMessage(id, text, Now()));
    });
    DoRead();
  }

  void DoWrite() {
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front().text),
                    beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    if (ec) {
      queue_.clear();
      closing_ = true;
      beast::get_lowest_layer(ws_).close();  // the read loop then reports the disconnect
      return;
    }
    const bool close_after = queue_.front().close_after;
    queued_bytes_ -= queue_.front().text.size();
    queue_.pop_front();
    if (close_after) return StartClose(websocket::close_reason(websocket::close_code::normal));
    if (!queue_.empty()) DoWrite();
  }

  // One close handshake per connection; Beast allows it beside a read and a write.
  void StartClose(websocket::close_reason reason) {
    if (closing_ || !connected_) {
      if (!connected_) beast::get_lowest_layer(ws_).close();
      return;
    }
    closing_ = true;
    ws_.async_close(reason, [self = shared_from_this()](beast::error_code) {});
  }

  void NotifyDisconnect() {
    if (!connected_ || disconnected_) return;
    disconnected_ = true;
    login_timer_.cancel();  // it holds this session alive otherwise
    {
      std::lock_guard lock(shared_->mu);
      shared_->websockets.erase(id_);
    }
    net::post(shared_->hub_strand, [shared = shared_, id = id_] {
      shared->Deliver(shared->sink.OnDisconnect(id, Now()));
    });
  }

  std::shared_ptr<Shared> shared_;
  websocket::stream<TlsStream> ws_;
  std::unique_ptr<Shared::Slot> slot_;
  const std::string ip_;
  http::request<http::string_body> request_;  // kept alive for async_accept
  beast::flat_buffer read_buffer_;
  std::deque<Outgoing> queue_;
  size_t queued_bytes_ = 0;
  ConnectionId id_ = 0;
  bool connected_ = false;     // accepted and announced to the sink
  bool disconnected_ = false;  // OnDisconnect posted
  bool closing_ = false;       // close handshake started or socket closed
  bool logged_in_ = false;     // the sink said this connection logged in
  net::steady_timer login_timer_{ws_.get_executor()};  // the login deadline
};

// One media WebSocket (docs/protocol.md, "Media over TLS"): its ticket verified before
// the upgrade; each binary frame goes out as one datagram from this connection's own
// UDP socket to the relay the route names (this node's relay's bridge socket on
// loopback, or another known relay's public UDP port), and each datagram arriving from
// there comes back as one binary frame. Everything but the constructor runs on the
// connection's strand; the UDP socket closes with the session.
class MediaSession final : public Closable, public std::enable_shared_from_this<MediaSession> {
 public:
  MediaSession(std::shared_ptr<Shared> shared, TlsStream&& stream, std::unique_ptr<Shared::Slot> slot,
               MediaRelayRoute route)
      : shared_(std::move(shared)),
        ws_(std::move(stream)),
        udp_(ws_.get_executor()),
        resolver_(ws_.get_executor()),
        slot_(std::move(slot)),
        route_(std::move(route)),
        to_client_(shared_->options.max_media_queue_frames, shared_->options.max_media_queue_bytes),
        receive_buffer_(shared_->options.max_media_frame_bytes + 1) {}

  void Run(http::request<http::string_body> request) {
    request_ = std::move(request);
    shared_->Track(slot_->serial, weak_from_this());
    if (route_.kind == MediaRelayRoute::Kind::kOwnBridge) {
      return OpenBridge(udp::endpoint(net::ip::address_v4::loopback(), shared_->options.relay_bridge_port));
    }
    // A relay the community knows (MediaRelayRoutes), by the name clients are told.
    resolver_.async_resolve(route_.host, std::to_string(route_.port), udp::resolver::numeric_service,
                            beast::bind_front_handler(&MediaSession::OnResolve, shared_from_this()));
  }

  void Close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->StartClose(websocket::close_reason(websocket::close_code::going_away));
    });
  }

 private:
  void OnResolve(beast::error_code ec, const udp::resolver::results_type& results) {
    // A relay name that does not resolve: the connection closes, the client redials.
    if (ec || results.empty() || closing_) return;
    OpenBridge(results.begin()->endpoint());
  }

  void OpenBridge(const udp::endpoint& relay) {
    const auto& o = shared_->options;
    // The bridge socket first: if the system is out of sockets the client gets the same
    // 404 as a bad ticket rather than an upgrade that carries nothing.
    beast::error_code ec;
    udp_.open(relay.protocol(), ec);
    const bool own = route_.kind == MediaRelayRoute::Kind::kOwnBridge;
    // The own relay's bridge socket trusts loopback sources; any other relay sees an
    // ordinary participant at this host's address (its refusal rules apply).
    if (!ec && own) udp_.bind(udp::endpoint(net::ip::address_v4::loopback(), 0), ec);
    if (!ec) udp_.connect(relay, ec);
    if (!ec) udp_.non_blocking(true, ec);
    if (ec) return;  // the session ends and the TLS connection closes (like an nginx out of fds)
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = o.tls_handshake_timeout;  // also bounds the closing handshake
    timeouts.idle_timeout = o.media_idle_timeout;
    timeouts.keep_alive_pings = false;  // the client keeps its path alive; silence ends it
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "nginx");
      res.set(http::field::date, DecoySite::HttpDate(UnixSeconds()));
    }));
    ws_.read_message_max(o.max_media_frame_bytes);
    ws_.binary(true);
    ws_.async_accept(request_, beast::bind_front_handler(&MediaSession::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec) {
    if (ec) return;
    accepted_ = true;
    {
      std::lock_guard lock(shared_->mu);
      ++shared_->stats.media_sessions;
    }
    if (shared_->stopping) return StartClose(websocket::close_reason(websocket::close_code::going_away));
    DoRead();
    DoReceiveDatagram();
  }

  void DoRead() { ws_.async_read(read_buffer_, beast::bind_front_handler(&MediaSession::OnRead, shared_from_this())); }

  void OnRead(beast::error_code ec, size_t) {
    // Errors include message_too_big, after which Beast has already sent close 1009.
    if (ec) return End();
    if (ws_.got_text()) {
      read_buffer_.consume(read_buffer_.size());
      return StartClose(websocket::close_reason(websocket::close_code::unknown_data, "binary frames only"));
    }
    // One frame, one datagram, unchanged. A full socket buffer drops it: loss is the
    // call's business, and the relay is on this host.
    beast::error_code send_ec;
    udp_.send(read_buffer_.data(), 0, send_ec);
    read_buffer_.consume(read_buffer_.size());
    DoRead();
  }

  void DoReceiveDatagram() {
    udp_.async_receive(net::buffer(receive_buffer_),
                       beast::bind_front_handler(&MediaSession::OnDatagram, shared_from_this()));
  }

  void OnDatagram(beast::error_code ec, size_t size) {
    if (closing_) return;
    if (ec == net::error::operation_aborted) return;
    // ICMP port unreachable (relay restarting) and the like: keep listening.
    if (!ec && size > 0 && size <= shared_->options.max_media_frame_bytes) {
      const uint64_t before = to_client_.dropped();
      to_client_.Push(std::vector<uint8_t>(receive_buffer_.begin(), receive_buffer_.begin() + size));
      if (to_client_.dropped() != before) {
        std::lock_guard lock(shared_->mu);
        shared_->stats.media_frames_dropped += static_cast<int64_t>(to_client_.dropped() - before);
      }
      if (!writing_) DoWrite();
    }
    DoReceiveDatagram();
  }

  // One write in flight; datagrams that arrive meanwhile wait in the drop-oldest queue.
  void DoWrite() {
    if (to_client_.empty() || closing_) return;
    writing_ = true;
    in_flight_ = *to_client_.Pop();
    ws_.binary(true);
    ws_.async_write(net::buffer(in_flight_), beast::bind_front_handler(&MediaSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    writing_ = false;
    if (ec) return End();
    DoWrite();
  }

  void StartClose(websocket::close_reason reason) {
    if (closing_) return;
    closing_ = true;
    CloseBridge();
    if (!accepted_) {
      beast::get_lowest_layer(ws_).close();
      return;
    }
    ws_.async_close(reason, [self = shared_from_this()](beast::error_code) {});
  }

  void End() {
    closing_ = true;
    CloseBridge();
  }

  void CloseBridge() {
    beast::error_code ignored;
    resolver_.cancel();
    udp_.close(ignored);
    to_client_.Clear();
  }

  std::shared_ptr<Shared> shared_;
  websocket::stream<TlsStream> ws_;
  udp::socket udp_;  // connected to the route's relay
  udp::resolver resolver_;  // the route's relay name, kUdp only
  std::unique_ptr<Shared::Slot> slot_;
  const MediaRelayRoute route_;
  http::request<http::string_body> request_;  // kept alive for async_accept
  beast::flat_buffer read_buffer_;
  parley::net::TlsFrameQueue to_client_;
  std::vector<uint8_t> receive_buffer_;  // one byte over the cap, to see oversized datagrams
  std::vector<uint8_t> in_flight_;       // the frame being written
  bool accepted_ = false;
  bool writing_ = false;
  bool closing_ = false;
};

// One TLS connection serving HTTP/1.1 (keep-alive) from the decoy site until it is
// closed or becomes a WebSocket. Everything runs on the connection's strand.
class HttpSession final : public Closable, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<Shared> shared, tcp::socket&& socket, std::unique_ptr<Shared::Slot> slot, std::string ip)
      : shared_(std::move(shared)), stream_(std::move(socket), shared_->ssl_ctx), slot_(std::move(slot)),
        ip_(std::move(ip)) {}

  void Start() {
    shared_->Track(slot_->serial, weak_from_this());
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::DoHandshake, shared_from_this()));
  }

  void Close() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->upgraded_) beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  void DoHandshake() {
    // A client that never sends a ClientHello (or sends it slowly) is dropped here,
    // so half-open connections cannot pile up (they also count against the caps).
    beast::get_lowest_layer(stream_).expires_after(shared_->options.tls_handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&HttpSession::OnHandshake, shared_from_this()));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      std::lock_guard lock(shared_->mu);
      ++shared_->stats.handshake_failures;
      return;  // the socket closes with the session
    }
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_request_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(shared_->options.http_keepalive_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream) return DoShutdown();
    if (ec == http::error::partial_message) return;  // the client went away mid-request
    if (ec == http::error::body_limit) return Respond(shared_->site.PayloadTooLarge(UnixSeconds()));
    if (ec && IsParseError(ec)) return Respond(shared_->site.BadRequest(UnixSeconds()));
    if (ec) return;  // timeout, reset, TLS error: close silently, as nginx does
    http::request<http::string_body> request = parser_->release();
    if (websocket::is_upgrade(request) && !IsSameOriginOrNative(request)) {
      // A page of another site driving this visitor's browser: it gets what any
      // stranger gets (see IsSameOriginOrNative).
      std::lock_guard lock(shared_->mu);
      ++shared_->stats.foreign_origin_refused;
    } else if (IsSignalingUpgrade(request)) {
      upgraded_ = true;
      auto ws = std::make_shared<WsSession>(shared_, std::move(stream_), std::move(slot_), ip_);
      ws->Run(std::move(request));
      return;
    } else if (auto media = AuthenticMediaUpgrade(request)) {
      if (!media->relay) return StartMedia(std::move(request), MediaRelayRoute{});  // this node's relay
      return RouteMedia(std::move(request), std::move(*media->relay));
    }
    RespondOrdinary(request);
  }

  // The web app's or the decoy site's answer: what every request that is not an
  // accepted upgrade gets.
  void RespondOrdinary(const http::request<http::string_body>& request) {
    if (auto app = AnswerFromWebApp(request)) return Respond(std::move(*app));
    DecoyRequest decoy;
    decoy.method = Sv(request.method_string());
    decoy.target = Sv(request.target());
    decoy.keep_alive = request.keep_alive();
    decoy.if_none_match = Sv(request[http::field::if_none_match]);
    decoy.if_modified_since = Sv(request[http::field::if_modified_since]);
    Respond(shared_->site.Respond(decoy, UnixSeconds()));
  }

  // RFC 6455 §4.2.1 item 8 / §10.2: browsers send Origin on every WebSocket upgrade;
  // the native client sends none. The hub authenticates by device signatures, not
  // cookies, so another site cannot act as the visitor; but it could still use the
  // visitor's browser to reach the hub (register names, or confirm to a censor's page
  // that this host runs Parley once the path has leaked). So an upgrade that carries
  // an Origin must come from this very host: "https://" + its Host header.
  static bool IsSameOriginOrNative(const http::request<http::string_body>& request) {
    const auto origin = request.find(http::field::origin);
    if (origin == request.end()) return true;
    const std::string host = Lower(Sv(request[http::field::host]));
    return !host.empty() && Lower(Sv(origin->value())) == "https://" + host;
  }

  // GET/HEAD under a live invite, answered by the web app; nothing for everything else
  // (then the decoy answers, byte for byte as for any missing page). The invite is
  // looked up by its hash, so no comparison of secrets leaks timing.
  std::optional<DecoyResponse> AnswerFromWebApp(const http::request<http::string_body>& request) const {
    const WebFrontOptions& o = shared_->options;
    if (o.web_app == nullptr || o.invites == nullptr) return std::nullopt;
    const std::optional<WebAppTarget> target = WebAppTarget::Parse(Sv(request.target()));
    if (!target) return std::nullopt;
    auto invite = InviteCode::Parse(target->invite);
    if (!invite.ok() || !o.invites->IsLive(*invite)) return std::nullopt;
    WebAppRequest app;
    app.method = Sv(request.method_string());
    app.target = &*target;
    app.keep_alive = request.keep_alive();
    app.if_none_match = Sv(request[http::field::if_none_match]);
    app.if_modified_since = Sv(request[http::field::if_modified_since]);
    std::optional<DecoyResponse> response = o.web_app->Respond(app, UnixSeconds());
    if (response) {
      std::lock_guard lock(shared_->mu);
      ++shared_->stats.app_responses;
    }
    return response;
  }

  // Only a complete RFC 6455 §4.2.1 upgrade on the exact signaling path; anything
  // less is an ordinary request and gets the decoy site's answer (404 on that path),
  // never Beast's own error responses.
  bool IsSignalingUpgrade(const http::request<http::string_body>& request) const {
    if (!websocket::is_upgrade(request)) return false;
    if (request[http::field::sec_websocket_version] != "13") return false;
    if (request[http::field::sec_websocket_key].size() != 24) return false;
    const std::string& path = shared_->options.websocket_path;
    const beast::string_view target = request.target();
    return !path.empty() && target.size() == path.size() &&
           CRYPTO_memcmp(target.data(), path.data(), path.size()) == 0;
  }

  // A complete upgrade whose target carries a ticket that verifies now. Everything
  // else (no ticket, forged, expired, media disabled) falls through to the decoy site,
  // which answers the target's 404 exactly as for any missing page; the check costs
  // microseconds, far below network jitter, so timing tells a prober nothing either.
  std::optional<parley::net::ParsedMediaTarget> AuthenticMediaUpgrade(
      const http::request<http::string_body>& request) const {
    const WebFrontOptions& o = shared_->options;
    if (o.media_tickets == nullptr || o.relay_bridge_port == 0) return std::nullopt;
    if (!websocket::is_upgrade(request)) return std::nullopt;
    if (request[http::field::sec_websocket_version] != "13") return std::nullopt;
    if (request[http::field::sec_websocket_key].size() != 24) return std::nullopt;
    auto target = parley::net::ParseMediaUpgradeTarget(o.websocket_path, Sv(request.target()));
    if (target && o.media_tickets->Verify(target->ticket, UnixSeconds()).ok()) return std::move(*target);
    std::lock_guard lock(shared_->mu);
    ++shared_->stats.media_refused;
    return std::nullopt;
  }

  // A media upgrade with a valid ticket that names a relay: bridged only to a relay the
  // community knows (options.media_relay_route, asked on the hub strand since it may
  // ask the node bus); any other name gets the decoy's answer, as a bad ticket does.
  // Only ticket holders (users) get this far, so the bus is never asked for a prober.
  void RouteMedia(http::request<http::string_body> request, parley::net::MediaTargetRelay relay) {
    if (!shared_->options.media_relay_route) return RefuseMediaRelay(request);
    net::post(shared_->hub_strand, [self = shared_from_this(), request = std::move(request),
                                    relay = std::move(relay)]() mutable {
      std::optional<MediaRelayRoute> route = self->shared_->options.media_relay_route(relay.host, relay.port);
      net::post(self->stream_.get_executor(),
                [self, request = std::move(request), route = std::move(route)]() mutable {
                  if (!route) return self->RefuseMediaRelay(request);
                  self->StartMedia(std::move(request), std::move(*route));
                });
    });
  }

  void RefuseMediaRelay(const http::request<http::string_body>& request) {
    {
      std::lock_guard lock(shared_->mu);
      ++shared_->stats.media_relay_refused;
    }
    RespondOrdinary(request);
  }

  void StartMedia(http::request<http::string_body> request, MediaRelayRoute route) {
    upgraded_ = true;
    auto media = std::make_shared<MediaSession>(shared_, std::move(stream_), std::move(slot_), std::move(route));
    media->Run(std::move(request));
  }

  void Respond(DecoyResponse response) {
    out_ = std::move(response.bytes);
    close_after_ = response.close;
    beast::get_lowest_layer(stream_).expires_after(shared_->options.http_keepalive_timeout);
    net::async_write(stream_, net::buffer(out_), beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    if (ec) return;
    if (close_after_) return DoShutdown();
    DoRead();
  }

  void DoShutdown() {
    // close_notify, then close; a peer that never answers gets a second at most.
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::get_lowest_layer(self->stream_).close();
    });
  }

  std::shared_ptr<Shared> shared_;
  TlsStream stream_;
  std::unique_ptr<Shared::Slot> slot_;
  const std::string ip_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;  // the response being written
  bool close_after_ = false;
  bool upgraded_ = false;  // stream_ moved into a WsSession
};

}  // namespace

std::unique_ptr<Shared::Slot> Shared::Admit(const std::string& cap_key) {
  std::lock_guard lock(mu);
  int64_t& from_ip = per_ip[cap_key];
  if (stats.open_connections >= options.max_connections || from_ip >= options.max_connections_per_ip) {
    if (from_ip == 0) per_ip.erase(cap_key);
    ++stats.refused_over_cap;
    return nullptr;
  }
  ++from_ip;
  ++stats.open_connections;
  auto slot = std::make_unique<Slot>();
  slot->shared = shared_from_this();
  slot->cap_key = cap_key;
  slot->serial = next_serial++;
  return slot;
}

void Shared::Release(const Slot& slot) {
  std::lock_guard lock(mu);
  auto it = per_ip.find(slot.cap_key);
  if (it != per_ip.end() && --it->second <= 0) per_ip.erase(it);
  --stats.open_connections;
  live.erase(slot.serial);
}

void Shared::Track(uint64_t serial, std::weak_ptr<Closable> session) {
  std::lock_guard lock(mu);
  live[serial] = std::move(session);
}

void Shared::DoAccept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    self->OnAccept(ec, std::move(socket));
  });
}

void Shared::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors and the like: retry shortly instead of spinning.
    accept_retry.expires_after(std::chrono::milliseconds(50));
    accept_retry.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && !self->stopping) self->DoAccept();
    });
    return;
  }
  beast::error_code peer_ec;
  const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
  // Signaling is small messages that answer each other: without this, a reply written
  // while the previous one is unacknowledged waits for the client's delayed ACK (a
  // ~45 ms floor under every call set-up in the signaling load bench). nginx, whose
  // behaviour the front copies, also sets it by default (tcp_nodelay on).
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (!peer_ec) {
    if (auto slot = Admit(CapKey(peer.address()))) {
      std::make_shared<HttpSession>(shared_from_this(), std::move(socket), std::move(slot), ClientIp(peer.address()))
          ->Start();
    }
  }
  // A refused socket is closed as it goes out of scope.
  DoAccept();
}

void Shared::Deliver(std::vector<SignalingSend> sends) {
  for (SignalingSend& send : sends) {
    std::shared_ptr<WsSession> target;
    {
      std::lock_guard lock(mu);
      auto it = websockets.find(send.connection);
      if (it != websockets.end()) target = it->second.lock();
    }
    if (!target) continue;  // gone: the sink learns of it by OnDisconnect
    net::post(target->executor(), [target, text = std::move(send.text), close = send.close_after,
                                   logged_in = send.logged_in]() mutable {
      target->Send(std::move(text), close, logged_in);
    });
  }
  RearmTimer();
}

void Shared::RearmTimer() {
  const std::optional<TimePoint> next = stopping ? std::nullopt : sink.NextTimerAt();
  if (next == timer_at) return;
  timer_at = next;
  if (!next) {
    hub_timer.cancel();
    return;
  }
  hub_timer.expires_at(*next);  // cancels a pending wait, whose handler then sees operation_aborted
  hub_timer.async_wait([self = shared_from_this(), at = *next](beast::error_code ec) {
    if (ec || self->timer_at != at) return;
    self->timer_at.reset();
    self->Deliver(self->sink.OnTimer(Now()));
  });
}

WebFront::WebFront(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

WebFront::~WebFront() { Stop(); }

Result<std::unique_ptr<WebFront>> WebFront::Start(net::io_context& ioc, const TlsCertificate& certificate,
                                                  SignalingSink& sink, WebFrontOptions options) {
  auto shared = std::make_shared<Shared>(ioc, sink, std::move(options));
  const WebFrontOptions& o = shared->options;
  beast::error_code ec;
  SSL_CTX* ctx = shared->ssl_ctx.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);  // nginx's default protocols: TLSv1.2 TLSv1.3
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  shared->ssl_ctx.use_certificate_chain(net::buffer(certificate.chain_pem()), ec);
  if (!ec) shared->ssl_ctx.use_private_key(net::buffer(certificate.key_pem()), ssl::context::pem, ec);
  if (ec) return Error{"the TLS certificate cannot be used (" + ec.message() + "); check tls.certificate and tls.key."};

  const net::ip::address address = net::ip::make_address(o.host, ec);
  if (ec) return Error{"'" + o.host + "' is not an IP address to listen on; set listen.host to one."};
  const tcp::endpoint endpoint(address, o.port);
  const std::string where = (address.is_v6() ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
  shared->acceptor.open(endpoint.protocol(), ec);
  if (!ec) shared->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) shared->acceptor.bind(endpoint, ec);
  if (!ec) shared->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{"cannot listen on TCP " + where + " (" + ec.message() +
                 "); is another program using the port, or does binding it need privileges?"};
  }
  shared->port = shared->acceptor.local_endpoint().port();
  net::post(shared->accept_strand, [shared] { shared->DoAccept(); });
  return std::unique_ptr<WebFront>(new WebFront(shared));
}

uint16_t WebFront::bound_port() const { return shared_->port; }

void WebFront::Stop() {
  if (shared_->stopping.exchange(true)) return;
  net::post(shared_->accept_strand, [shared = shared_] {
    beast::error_code ignored;
    shared->acceptor.close(ignored);
    shared->accept_retry.cancel();
  });
  std::vector<std::shared_ptr<Closable>> open;
  {
    std::lock_guard lock(shared_->mu);
    for (auto& [serial, weak] : shared_->live) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->Close();
  net::post(shared_->hub_strand, [shared = shared_] { shared->RearmTimer(); });
}

void WebFront::PostToHub(NodeEnvelope envelope) {
  net::post(shared_->hub_strand, [shared = shared_, envelope = std::move(envelope)] {
    if (!shared->stopping) shared->Deliver(shared->sink.OnEnvelope(envelope, Now()));
  });
}

WebFrontStats WebFront::stats() const {
  std::lock_guard lock(shared_->mu);
  return shared_->stats;
}

}  // namespace parley::server
