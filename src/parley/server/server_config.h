// parleyd's settings: defaults, loading from a TOML file, command-line overrides and
// printing the effective settings as TOML (`parleyd --print-config`).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::server {

// Everything an operator can set. The TOML layout (section.key) is given beside each
// field; docs/parleyd.example.toml shows a production file. Units are in the names.
// Invariant after Validate(): every field is within the bounds ServerConfig's loader
// enforces and the cross-field rules hold (see Validate).
struct ServerConfig {
  std::string data_dir;                // data_dir: SQLite, certificate, keys (created 0700)
  std::string log_level = "info";      // log_level: trace, debug, info, warn, error, off
  // store: where accounts, contacts and the call log live, as a URL (store_factory.h):
  // "sqlite:///path/parley.db" or "postgres://user@host:port/database?..."; empty =
  // SQLite in data_dir (parley.db). Several nodes share one PostgreSQL database.
  std::string store;
  // bus: "redis://HOST:PORT" when several nodes share a community; empty = one node
  // alone on an in-process bus. node.id: this node's name on the bus (1..64 of
  // [A-Za-z0-9_.-]); empty = a random id at each start.
  std::string bus_url;
  std::string node_id;

  std::string listen_host = "0.0.0.0";  // listen.host: an IPv4 or IPv6 address
  uint16_t tcp_port = 8443;             // listen.tcp_port: the TLS web front; 0 = any free port
  uint16_t udp_port = 8443;             // listen.udp_port: the UDP relay; 0 = any free port

  // tls.server_name: the name clients connect to; the generated certificate's subject
  // and SAN (beside localhost and 127.0.0.1).
  std::string server_name = "localhost";
  std::string certificate_file;  // tls.certificate: PEM chain; empty = generate self-signed
  std::string key_file;          // tls.key: PEM private key; set exactly when certificate is

  // signaling.websocket_path: the only path where a WebSocket upgrade reaches the
  // signaling hub; everywhere else (and a plain GET here) is the decoy site. Empty =
  // generated on first start as /ws/<22 random base64url chars> and kept in the data dir.
  std::string websocket_path;
  std::chrono::seconds ring_timeout{45};  // signaling.ring_timeout_s: unanswered invites end
  int64_t max_message_bytes = 64 * 1024;  // signaling.max_message_bytes: larger closes (1009)
  std::chrono::seconds websocket_idle_timeout{60};  // signaling.idle_timeout_s: ping at half

  std::string relay_public_host;  // relay.public_host: given to clients; empty = server_name
  uint16_t relay_public_port = 0;  // relay.public_port: given to clients; 0 = udp_port
  bool allow_loopback = false;     // relay.allow_loopback: relay to 127.0.0.0/8 (tests, demo)
  // relay.ticket_key_file: the key tickets are issued and checked with, shared by every
  // signaling node and relay of a community (32 bytes, raw or as base64/base64url text);
  // empty = the data directory's own key (one node with its own relay).
  std::string relay_ticket_key_file;
  // relay.alternates: "HOST:PORT, ..." (at most 3): relays sharing the ticket key that
  // a call moves to if the one it uses dies; without a bus, after this node's relay.
  std::string relay_alternates;
  // relay.first: "HOST:PORT" of a relay clients are given first, before this node's own
  // (then relay.alternates); empty = this node's relay first. Without a bus only.
  std::string relay_first;
  // role: "node" (signaling, web front and relay) or "relay" (only the UDP relay:
  // `parleyd --role relay`, no web front, no store).
  std::string role = "node";
  std::string relay_id;  // relay.id: how a relay names itself on the bus; empty = HOST:PORT
  // relay.offer_own: with a bus, whether this node's own relay is among the relays calls
  // are given (by load, beside the announced ones); false = only relays announced on the
  // bus, the node's own relay then serving only when none is live. Without a bus, unused.
  bool relay_offer_own = true;

  // web.app_dir: the built web app (`make web` writes build/web), served at each live
  // invite's path; empty = no web app (invite paths then look like any missing page).
  std::string web_app_dir;
  uint16_t web_public_port = 0;  // web.public_port: the port invite links name; 0 = tcp_port
  int64_t app_invites_per_day = 5;  // limits.app_invites_per_day: invites one account may make

  int64_t max_connections = 1024;       // limits.max_connections: TCP connections in total
  int64_t max_connections_per_ip = 32;  // limits.max_connections_per_ip
  std::chrono::milliseconds tls_handshake_timeout{10000};  // limits.tls_handshake_timeout_ms
  std::chrono::seconds http_keepalive_timeout{75};  // limits.http_keepalive_timeout_s (nginx's)
  std::chrono::seconds login_timeout{30};  // limits.login_timeout_s: a WebSocket not logged in by then is closed
  // limits.store_busy_timeout_ms: how long a store write waits for another process's
  // SQLite lock. It waits on the hub's strand, so every user's signaling waits with it:
  // short (a `parleyd invite` holds the lock only briefly).
  std::chrono::milliseconds store_busy_timeout{1000};
  int64_t invites_per_minute = 5;     // limits.invites_per_minute: per caller account
  int64_t relay_max_calls = 200000;  // limits.relay_max_calls: calls relayed at once

  friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
};

// Parses a TOML document into a config that starts from the defaults. `source_name`
// (usually the file's path) prefixes errors, which are one sentence naming the key
// and line: "parleyd.toml:7: unknown key 'listen.prot' ...". Unknown keys and
// sections, wrong types and out-of-range values are errors. Cross-field rules are
// checked by Validate, after overrides.
Result<ServerConfig> ParseServerConfig(std::string_view toml_text, std::string_view source_name);

// Reads and parses a file; a missing or unreadable file is a clear error.
Result<ServerConfig> LoadServerConfigFile(const std::string& path);

// Sets one setting by its TOML name ("listen.tcp_port", "data_dir") from command-line
// text: strings as given, integers in decimal, booleans as true/false. Errors name the
// key and say what values it takes.
Status ApplyServerConfigOverride(ServerConfig& config, std::string_view key, std::string_view value);

// Cross-field rules: data_dir set; certificate and key set together; listen.host an IP
// address; websocket_path (when set) a path of URL-safe characters that is not one of
// the decoy site's pages; per-IP cap not above the total cap.
Status ValidateServerConfig(const ServerConfig& config);

// The effective settings as a TOML document with a comment per key, which
// ParseServerConfig reads back to an equal config.
std::string PrintServerConfig(const ServerConfig& config);

}  // namespace parley::server
