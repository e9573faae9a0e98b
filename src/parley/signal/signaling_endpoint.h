// Where a client's signaling connection goes: host, port, WebSocket path and the
// server certificate's pin, and the parser for the one string parleyd prints for users.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::signal {

// A value type; any thread.
struct SignalingEndpoint {
  std::string host;        // DNS name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 443;
  std::string path;        // the secret WebSocket path, "/ws/...": begins with '/'
  // SHA-256 of the server's leaf certificate (DER), 64 lower-case hex digits: the
  // format parleyd prints as certificate_sha256 (server::TlsCertificate). nullopt =
  // not pinned yet: the connection then trusts whatever certificate it is shown (trust
  // on first use) unless SignalingOptions::require_ca_when_unpinned is set.
  std::optional<std::string> pin_sha256;

  // "host:port/path" ("[::1]:8443/ws/..." for IPv6): what ParseServerAddress reads back.
  std::string ToString() const;
  friend bool operator==(const SignalingEndpoint&, const SignalingEndpoint&) = default;
};

// Reads what parleyd's startup summary prints for users,
//   parley init --server HOST:PORT/PATH --pin FINGERPRINT
// i.e. `server` = "HOST:PORT/PATH" and `pin` = the fingerprint (or empty: no pin).
// Also accepted: a "wss://" prefix; no port (443); the pin appended to `server` as
// "#sha256:HEX" or "#HEX"; a pin with a "sha256:" prefix or with colons between byte
// pairs (`openssl x509 -fingerprint -sha256`), in either case. HOST is a DNS name, an
// IPv4 address or a bracketed IPv6 address. Errors are one sentence saying what is
// wrong and what to copy, e.g. "'example.org:8443' has no WebSocket path: copy the
// whole --server value parleyd printed (HOST:PORT/ws/...)."
Result<SignalingEndpoint> ParseServerAddress(std::string_view server, std::string_view pin = {});

// The pin alone, in the forms ParseServerAddress accepts; returns 64 lower-case hex digits.
Result<std::string> ParsePin(std::string_view pin);

}  // namespace parley::signal
