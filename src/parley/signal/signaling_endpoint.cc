// Parsing of the server address and certificate pin users copy from parleyd's output.
#include "parley/signal/signaling_endpoint.h"

#include <arpa/inet.h>

#include <cctype>

namespace parley::signal {
namespace {

constexpr std::size_t kMaxHostSize = 253;  // a DNS name's limit
constexpr std::size_t kMaxPathSize = 1024;
constexpr std::string_view kCopyHint = ": copy the whole --server value parleyd printed (HOST:PORT/ws/...).";

bool IsAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// A printable rendering of untrusted input for error messages (no control bytes,
// bounded length), so an error can never garble the user's terminal.
std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 80) out += "...";
  return "'" + out + "'";
}

// Letters, digits, '-' and '.'; labels not starting or ending with '-'; no empty label.
bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > kMaxHostSize) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!IsAsciiAlnum(c) && c != '-') return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return label > 0 && s.back() != '-';
}

bool IsIpv6(const std::string& s) {
  // inet_pton would stop at an embedded NUL and accept what precedes it.
  for (char c : s) {
    if (!IsHex(c) && c != ':' && c != '.') return false;
  }
  in6_addr addr;
  return inet_pton(AF_INET6, s.c_str(), &addr) == 1;
}

// RFC 3986 path characters: unreserved, sub-delims, ':', '@', '/' and %HH escapes.
bool IsPathChar(char c) {
  if (IsAsciiAlnum(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'': case '(': case ')':
    case '*': case '+': case ',': case ';': case '=': case ':': case '@': case '/': case '%':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string SignalingEndpoint::ToString() const {
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown_host + ":" + std::to_string(port) + path;
}

Result<std::string> ParsePin(std::string_view pin) {
  std::string_view rest = pin;
  if (StartsWithNoCase(rest, "sha256:")) rest.remove_prefix(7);
  std::string hex;
  const bool colons = rest.size() == 95;  // AB:CD:...: 32 pairs, 31 colons
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (colons && i % 3 == 2) {
      if (c != ':') break;
      continue;
    }
    if (!IsHex(c)) {
      hex.clear();
      break;
    }
    hex += Lower(c);
  }
  if (hex.size() != 64 || (!colons && rest.size() != 64)) {
    return Error{"the certificate pin " + Shown(pin) +
                 " is not a SHA-256 fingerprint (64 hex digits); copy the --pin value parleyd printed."};
  }
  return hex;
}

Result<SignalingEndpoint> ParseServerAddress(std::string_view server, std::string_view pin) {
  const std::string_view original = server;
  while (!server.empty() && (server.front() == ' ' || server.front() == '\t')) server.remove_prefix(1);
  while (!server.empty() && (server.back() == ' ' || server.back() == '\t')) server.remove_suffix(1);
  if (server.empty()) return Error{"the server address is empty" + std::string(kCopyHint)};
  if (StartsWithNoCase(server, "wss://")) {
    server.remove_prefix(6);
  } else if (const std::size_t scheme = server.find("://");
             scheme != std::string_view::npos && server.find('/') == scheme + 1) {  // "://" in the path is fine
    return Error{"the server address " + Shown(original) + " names another protocol than wss" +
                 std::string(kCopyHint)};
  }

  SignalingEndpoint endpoint;
  std::optional<std::string> pins[2];
  if (const std::size_t hash = server.find('#'); hash != std::string_view::npos) {
    auto parsed = ParsePin(server.substr(hash + 1));
    if (!parsed) return parsed.error();
    pins[0] = *parsed;
    server = server.substr(0, hash);
  }
  if (!pin.empty()) {
    auto parsed = ParsePin(pin);
    if (!parsed) return parsed.error();
    pins[1] = *parsed;
  }
  if (pins[0] && pins[1] && *pins[0] != *pins[1]) {
    return Error{"the server address and --pin name two different certificate pins; give one."};
  }
  endpoint.pin_sha256 = pins[1] ? pins[1] : pins[0];

  // Host: [IPv6] or everything up to ':' or '/'.
  std::string_view rest = server;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return Error{"the server address " + Shown(original) + " opens '[' without closing it" +
                   std::string(kCopyHint)};
    }
    endpoint.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!IsIpv6(endpoint.host)) {
      return Error{"the server address " + Shown(original) + " has no IPv6 address inside [ ]" +
                   std::string(kCopyHint)};
    }
  } else {
    const std::size_t end = rest.find_first_of(":/");
    endpoint.host = std::string(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    if (!IsDnsName(endpoint.host)) {
      return Error{"the server address " + Shown(original) + " does not start with a host name or IP address" +
                   std::string(kCopyHint)};
    }
  }

  // Port: ':' and 1..65535, else 443.
  if (!rest.empty() && rest.front() == ':') {
    rest.remove_prefix(1);
    const std::size_t end = std::min(rest.find('/'), rest.size());
    const std::string_view digits = rest.substr(0, end);
    uint32_t port = 0;
    bool ok = !digits.empty() && digits.size() <= 5;
    for (char c : digits) {
      if (c < '0' || c > '9') ok = false;
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!ok || port == 0 || port > 65535) {
      return Error{"the server address " + Shown(original) + " has a bad port (use 1 to 65535)" +
                   std::string(kCopyHint)};
    }
    endpoint.port = static_cast<uint16_t>(port);
    rest.remove_prefix(end);
  }

  // Path: required, since parleyd serves signaling only at its secret path.
  if (rest.size() <= 1 || rest.front() != '/') {
    return Error{"the server address " + Shown(original) + " has no WebSocket path" + std::string(kCopyHint)};
  }
  if (rest.size() > kMaxPathSize) {
    return Error{"the server address " + Shown(original) + " has a path over " + std::to_string(kMaxPathSize) +
                 " characters" + std::string(kCopyHint)};
  }
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    const bool escape_ok = c != '%' || (i + 2 < rest.size() && IsHex(rest[i + 1]) && IsHex(rest[i + 2]));
    if (!IsPathChar(c) || !escape_ok) {
      return Error{"the server address " + Shown(original) + " has a character its WebSocket path cannot hold" +
                   std::string(kCopyHint)};
    }
  }
  endpoint.path = std::string(rest);
  return endpoint;
}

}  // namespace parley::signal
