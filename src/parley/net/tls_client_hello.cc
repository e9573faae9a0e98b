// The browser-like client TLS setup shared by signaling and media over TLS. OpenSSL
// cannot send GREASE, permute extensions, offer ALPS, certificate compression or the
// post-quantum hybrid group: docs/protocol.md records what remains different.
#include "parley/net/tls_client_hello.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace parley::net {
namespace {

// Chrome's preference order (Chrome 100-131 on desktop; JA3 cipher field
// 4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53).
constexpr char kTls13Suites[] = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA";
// Chrome's classical groups (it puts X25519MLKEM768 and GREASE before them).
constexpr char kGroups[] = "X25519:P-256:P-384";
constexpr char kSigalgs[] =
    "ECDSA+SHA256:rsa_pss_rsae_sha256:RSA+SHA256:ECDSA+SHA384:rsa_pss_rsae_sha384:RSA+SHA384:"
    "rsa_pss_rsae_sha512:RSA+SHA512";
// RFC 7301 wire form of "h2","http/1.1".
constexpr unsigned char kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// Asks for SCTs like a browser; certificate transparency is not what authenticates
// the server (the pin is), so any answer, or none, is fine.
int AcceptAnySct(const CT_POLICY_EVAL_CTX*, const STACK_OF(SCT)*, void*) { return 1; }

}  // namespace

Status ConfigureBrowserLikeClient(SSL_CTX* ctx) {
  bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1;
  ok = ok && SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1;
  // No padding extension: Chrome's hello, with its post-quantum key share, is over 512
  // bytes and never carries one.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_ENCRYPT_THEN_MAC);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);  // session_ticket extension, as Chrome sends
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  ok = ok && SSL_CTX_set_ciphersuites(ctx, kTls13Suites) == 1;
  ok = ok && SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) == 1;
  ok = ok && SSL_CTX_set1_groups_list(ctx, kGroups) == 1;
  ok = ok && SSL_CTX_set1_sigalgs_list(ctx, kSigalgs) == 1;
  ok = ok && SSL_CTX_set_tlsext_status_type(ctx, TLSEXT_STATUSTYPE_ocsp) == 1;  // status_request
  ok = ok && SSL_CTX_set_ct_validation_callback(ctx, AcceptAnySct, nullptr) == 1;  // signed_certificate_timestamp
  if (!ok) return Error{"this system's OpenSSL refuses the TLS settings Parley needs; update OpenSSL."};
  return Ok{};
}

Status PrepareBrowserLikeHello(SSL* ssl, const std::string& host) {
  // SNI (RFC 6066) names the host, as a browser does; never an IP address.
  if (!IsIpLiteral(host) && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return Error{"the server name '" + host + "' cannot be sent in TLS; check the server address."};
  }
  if (SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn) != 0) {
    return Error{"this system's OpenSSL refuses the TLS settings Parley needs; update OpenSSL."};
  }
  return Ok{};
}

Status CheckAlpnIsHttp11(const SSL* ssl, const std::string& where) {
  const unsigned char* selected = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl, &selected, &size);
  if (size == 0 || std::string_view(reinterpret_cast<const char*>(selected), size) == "http/1.1") return Ok{};
  return Error{where + " chose HTTP/2 for this connection, which Parley cannot use; if a proxy or CDN sits in "
               "front of parleyd, allow HTTP/1.1 WebSocket upgrades through it."};
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string CertificateSha256(X509* certificate) {
  static constexpr char kDigits[] = "0123456789abcdef";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest, &size) != 1) return "";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 15];
  }
  return out;
}

}  // namespace parley::net
