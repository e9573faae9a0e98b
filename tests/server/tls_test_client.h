// A blocking TLS + HTTP/1.1 + WebSocket client for loopback tests of the web front,
// on raw sockets and OpenSSL (no Beast, so tests compile fast and see exact bytes).
// Every read is bounded by SO_RCVTIMEO; 127.0.0.1 only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::server::testing {

class TlsTestClient {
 public:
  explicit TlsTestClient(int timeout_ms = 5000) : timeout_ms_(timeout_ms) {
    // OpenSSL writes with write(2): a write after the server closed must fail, not kill.
    ::signal(SIGPIPE, SIG_IGN);
  }
  ~TlsTestClient() { Reset(); }
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  // A TCP connection to 127.0.0.1:port, nothing sent.
  bool ConnectTcp(uint16_t port) {
    Reset();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }

  // TLS over the TCP connection, offering `alpn` (empty: no ALPN extension).
  bool Handshake(const std::vector<std::string>& alpn = {"http/1.1"}) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    if (!alpn.empty()) {
      std::string wire;
      for (const auto& p : alpn) wire += static_cast<char>(p.size()) + p;
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    return SSL_connect(ssl_) == 1;
  }

  bool Connect(uint16_t port) { return ConnectTcp(port) && Handshake(); }

  std::string Alpn() const {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl_, &p, &len);
    return std::string(reinterpret_cast<const char*>(p), len);
  }

  // SHA-256 of the server certificate's DER, lower-case hex (what clients pin).
  std::string PeerFingerprint() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    unsigned char digest[32];
    unsigned int digest_len = 0;
    EVP_Digest(der, static_cast<size_t>(len), digest, &digest_len, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    X509_free(cert);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < digest_len; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

  bool Write(std::string_view bytes) {
    if (ssl_ == nullptr) return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) == static_cast<int>(bytes.size());
  }

  // One HTTP response: headers, then Content-Length bytes of body unless head_only.
  // Empty on timeout or close before a full response.
  std::string ReadHttpResponse(bool head_only = false) {
    size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore()) return "";
    }
    size_t total = end + 4;
    const std::string headers = buffered_.substr(0, total);
    const size_t cl = headers.find("Content-Length: ");
    if (!head_only && cl != std::string::npos) total += std::stoul(headers.substr(cl + 16));
    while (buffered_.size() < total) {
      if (!ReadMore()) return "";
    }
    std::string out = buffered_.substr(0, total);
    buffered_.erase(0, total);
    return out;
  }

  // True once the server has closed the connection (EOF, close_notify or reset);
  // false if it is still open when the timeout passes.
  bool WaitClosed() {
    for (;;) {
      const int r = ReadSome();
      if (r == 0) return true;
      if (r < 0) return !timed_out_;
    }
  }

  // RFC 6455 client handshake; returns the server's response head.
  static std::string UpgradeRequest(std::string_view path) {
    return "GET " + std::string(path) +
           " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  }
  std::string WsUpgrade(std::string_view path) {
    if (!Write(UpgradeRequest(path))) return "";
    return ReadHttpResponse(/*head_only=*/true);
  }

  // One masked frame (opcode 1 text, 2 binary, 8 close), FIN set.
  bool WsSend(std::string_view payload, uint8_t opcode = 1) {
    std::string frame;
    frame += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else if (payload.size() < 65536) {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xff);
    } else {
      frame += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i) frame += static_cast<char>((static_cast<uint64_t>(payload.size()) >> (8 * i)) & 0xff);
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask, 4);
    for (size_t i = 0; i < payload.size(); ++i) frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    return Write(frame);
  }

  struct Frame {
    int opcode = 0;
    std::string payload;
    // For close frames: the status code (0 if none).
    int close_code() const {
      return payload.size() >= 2 ? (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]) : 0;
    }
  };

  // The next data or close frame from the server; pings are answered, pongs skipped,
  // a close is answered with a close.
  std::optional<Frame> WsRead() {
    for (;;) {
      while (buffered_.size() < 2) {
        if (!ReadMore()) return std::nullopt;
      }
      const uint8_t b0 = static_cast<uint8_t>(buffered_[0]);
      const uint8_t b1 = static_cast<uint8_t>(buffered_[1]);
      size_t header = 2;
      uint64_t len = b1 & 0x7f;
      if (len == 126) header = 4;
      if (len == 127) header = 10;
      while (buffered_.size() < header) {
        if (!ReadMore()) return std::nullopt;
      }
      if (len >= 126) {
        len = 0;
        for (size_t i = 2; i < header; ++i) len = (len << 8) | static_cast<uint8_t>(buffered_[i]);
      }
      while (buffered_.size() < header + len) {
        if (!ReadMore()) return std::nullopt;
      }
      Frame f{b0 & 0x0f, buffered_.substr(header, len)};
      buffered_.erase(0, header + len);
      if (f.opcode == 9) {
        WsSend(f.payload, 10);
        continue;
      }
      if (f.opcode == 10) continue;
      if (f.opcode == 8) {
        WsSend(f.payload.substr(0, 2), 8);  // RFC 6455 §5.5.1: echo the close
        SSL_shutdown(ssl_);  // and close_notify, which the server's TLS teardown waits for
      }
      return f;
    }
  }

  bool timed_out() const { return timed_out_; }

 private:
  // >0 bytes read, 0 closed, <0 error (timed_out_ says whether it was the timeout).
  int ReadSome() {
    char buf[16384];
    timed_out_ = false;
    if (ssl_ == nullptr) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) buffered_.append(buf, static_cast<size_t>(n));
      if (n < 0) timed_out_ = errno == EAGAIN || errno == EWOULDBLOCK;
      return n < 0 ? -1 : static_cast<int>(n);
    }
    errno = 0;
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      buffered_.append(buf, static_cast<size_t>(n));
      return n;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      timed_out_ = true;
      return -1;
    }
    return err == SSL_ERROR_SYSCALL ? 0 : -1;
  }

  bool ReadMore() { return ReadSome() > 0; }

  void Reset() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    fd_ = -1;
    buffered_.clear();
  }

  int timeout_ms_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffered_;
  bool timed_out_ = false;
};

}  // namespace parley::server::testing
