// The client side of every Parley TLS connection (signaling and media over TLS): one
// place that makes OpenSSL's ClientHello as ordinary as it allows (docs/protocol.md,
// "The client's ClientHello"), and the checks both connections make after it.
#pragma once

#include <openssl/types.h>

#include <string>

#include "parley/base/result.h"

namespace parley::net {

// Sets up a client SSL_CTX like a desktop Chrome as far as OpenSSL 3.0 can: TLS
// 1.2-1.3; Chrome's cipher suite order (TLS 1.3 suites first), groups X25519, P-256,
// P-384 and signature algorithm order; session tickets; status_request (OCSP) and
// signed_certificate_timestamp extensions (asked for, never required); extended master
// secret; no compression, renegotiation or encrypt-then-mac.
// Call before any SSL is made from ctx (SSL_new copies these lists). Certificate
// checking is the caller's (each connection pins). Error: one sentence.
Status ConfigureBrowserLikeClient(SSL_CTX* ctx);

// Per connection, before the handshake: SNI = host unless host is an IP literal (a
// browser never sends an IP as SNI), and ALPN "h2","http/1.1" as a browser offers it.
Status PrepareBrowserLikeHello(SSL* ssl, const std::string& host);

// After the handshake: Parley speaks HTTP/1.1 only, so a server (or a CDN in front of
// it) that chose h2 cannot carry our WebSocket. `where` names the server in the error.
Status CheckAlpnIsHttp11(const SSL* ssl, const std::string& where);

// True for a numeric IPv4 or IPv6 address.
bool IsIpLiteral(const std::string& host);

// SHA-256 of a certificate's DER in the pin format (64 lower-case hex digits); empty
// if it cannot be computed.
std::string CertificateSha256(X509* certificate);

}  // namespace parley::net
