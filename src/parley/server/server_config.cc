// parleyd's settings. One table of fields drives loading, overriding and printing, so
// the three can never disagree about a key's name, type or bounds.
#include "parley/server/server_config.h"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <variant>
#include <vector>

#include <toml++/toml.h>

#include "parley/server/decoy_site.h"
#include "parley/server/store_factory.h"
#include "parley/server/relay_chooser.h"

namespace parley::server {
namespace {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

using Member = std::variant<std::string ServerConfig::*, uint16_t ServerConfig::*,
                            int64_t ServerConfig::*, bool ServerConfig::*,
                            Seconds ServerConfig::*, Millis ServerConfig::*>;

struct Field {
  std::string_view section;  // "" for top-level keys
  std::string_view name;
  Member member;
  int64_t min = 0;  // integers, ports and durations
  int64_t max = 0;
  std::string_view comment;
};

constexpr int64_t kMaxInt = int64_t{1} << 40;

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {"", "data_dir", &ServerConfig::data_dir, 0, 0,
       "SQLite database, certificate and keys (created with mode 0700)"},
      {"", "log_level", &ServerConfig::log_level, 0, 0, "trace, debug, info, warn, error or off"},
      {"", "store", &ServerConfig::store, 0, 0,
       "sqlite:///path/parley.db or postgres://user@host:port/database; empty = SQLite in data_dir"},
      {"", "bus", &ServerConfig::bus_url, 0, 0,
       "redis://HOST:PORT shared by several nodes; empty = this node alone (in-process bus)"},
      {"", "role", &ServerConfig::role, 0, 0,
       "node (signaling, web front and relay) or relay (only the UDP relay, announced on the bus)"},
      {"node", "id", &ServerConfig::node_id, 0, 0,
       "this node's name on the bus, 1..64 of A-Z a-z 0-9 _ . -; empty = a random id at start"},
      {"listen", "host", &ServerConfig::listen_host, 0, 0, "IPv4 or IPv6 address to listen on"},
      {"listen", "tcp_port", &ServerConfig::tcp_port, 0, 65535,
       "TLS web front (decoy site and WebSocket signaling); 0 = any free port"},
      {"listen", "udp_port", &ServerConfig::udp_port, 0, 65535, "UDP relay; 0 = any free port"},
      {"tls", "server_name", &ServerConfig::server_name, 0, 0,
       "the name clients connect to; subject of a generated certificate"},
      {"tls", "certificate", &ServerConfig::certificate_file, 0, 0,
       "PEM certificate chain; empty = self-signed, generated in data_dir on first start"},
      {"tls", "key", &ServerConfig::key_file, 0, 0, "PEM private key of the certificate"},
      {"signaling", "websocket_path", &ServerConfig::websocket_path, 0, 0,
       "where WebSocket signaling is; empty = random, generated in data_dir on first start"},
      {"signaling", "ring_timeout_s", &ServerConfig::ring_timeout, 1, 3600,
       "an unanswered call stops ringing after this long"},
      {"signaling", "max_message_bytes", &ServerConfig::max_message_bytes, 256, 16 << 20,
       "a larger WebSocket message closes its connection (code 1009)"},
      {"signaling", "idle_timeout_s", &ServerConfig::websocket_idle_timeout, 2, 3600,
       "a WebSocket silent this long is closed; pinged at half of it"},
      {"relay", "public_host", &ServerConfig::relay_public_host, 0, 0,
       "relay address given to clients; empty = tls.server_name"},
      {"relay", "public_port", &ServerConfig::relay_public_port, 0, 65535,
       "relay port given to clients; 0 = listen.udp_port"},
      {"relay", "allow_loopback", &ServerConfig::allow_loopback, 0, 0,
       "relay to loopback addresses (tests and demos only)"},
      {"relay", "ticket_key_file", &ServerConfig::relay_ticket_key_file, 0, 0,
       "ticket key shared by every node and relay (32 bytes, raw or base64); empty = data_dir's own"},
      {"relay", "alternates", &ServerConfig::relay_alternates, 0, 0,
       "\"HOST:PORT, ...\": up to 3 relays (same ticket key) a call moves to if its relay dies"},
      {"relay", "first", &ServerConfig::relay_first, 0, 0,
       "HOST:PORT of a relay clients get before this node's own; empty = this node's relay first"},
      {"relay", "id", &ServerConfig::relay_id, 0, 0, "a relay's name on the node bus; empty = its HOST:PORT"},
      {"relay", "offer_own", &ServerConfig::relay_offer_own, 0, 0,
       "with a bus: also give calls this node's own relay (false = only relays announced on the bus)"},
      {"web", "app_dir", &ServerConfig::web_app_dir, 0, 0,
       "the built web app (make web writes build/web), served at invite paths; empty = none"},
      {"web", "public_port", &ServerConfig::web_public_port, 0, 65535,
       "the port invite links name (a port forward to listen.tcp_port); 0 = listen.tcp_port"},
      {"limits", "max_connections", &ServerConfig::max_connections, 1, 1000000,
       "TCP connections to the web front in total"},
      {"limits", "max_connections_per_ip", &ServerConfig::max_connections_per_ip, 1, 1000000,
       "TCP connections to the web front from one IP address"},
      {"limits", "tls_handshake_timeout_ms", &ServerConfig::tls_handshake_timeout, 100, 600000,
       "a connection that has not finished its TLS handshake by then is closed"},
      {"limits", "http_keepalive_timeout_s", &ServerConfig::http_keepalive_timeout, 1, 3600,
       "an idle HTTP keep-alive connection is closed after this long"},
      {"limits", "login_timeout_s", &ServerConfig::login_timeout, 1, 3600,
       "a signaling WebSocket that has not logged in or registered this long after connecting is closed"},
      {"limits", "store_busy_timeout_ms", &ServerConfig::store_busy_timeout, 0, 60000,
       "a store write waits this long for another process's database lock (all signaling waits with it)"},
      {"limits", "invites_per_minute", &ServerConfig::invites_per_minute, 1, 100000,
       "calls one account may start per minute (a burst of this many, then evenly spread)"},
      {"limits", "app_invites_per_day", &ServerConfig::app_invites_per_day, 0, 100000,
       "web app invites one account may make per day (0 = only the operator makes them)"},
      {"limits", "relay_max_calls", &ServerConfig::relay_max_calls, 1, kMaxInt,
       "calls the UDP relay carries at once"},
  };
  return fields;
}

std::string FullName(const Field& f) {
  return f.section.empty() ? std::string(f.name) : std::string(f.section) + "." + std::string(f.name);
}

const Field* FindField(std::string_view section, std::string_view name) {
  for (const Field& f : Fields()) {
    if (f.section == section && f.name == name) return &f;
  }
  return nullptr;
}

bool IsSection(std::string_view name) {
  for (const Field& f : Fields()) {
    if (!f.section.empty() && f.section == name) return true;
  }
  return false;
}

std::string KnownKeys(std::string_view section) {
  std::string out;
  for (const Field& f : Fields()) {
    if (f.section != section) continue;
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

std::string KnownSections() {
  std::string out;
  std::string_view last;
  for (const Field& f : Fields()) {
    if (f.section.empty() || f.section == last) continue;
    if (!out.empty()) out += ", ";
    out += "[" + std::string(f.section) + "]";
    last = f.section;
  }
  return out;
}

// What a field accepts, for error messages.
std::string Expected(const Field& f) {
  struct Visitor {
    const Field& f;
    std::string operator()(std::string ServerConfig::*) const { return "a string"; }
    std::string operator()(bool ServerConfig::*) const { return "true or false"; }
    std::string operator()(uint16_t ServerConfig::*) const { return Range(); }
    std::string operator()(int64_t ServerConfig::*) const { return Range(); }
    std::string operator()(Seconds ServerConfig::*) const { return Range(); }
    std::string operator()(Millis ServerConfig::*) const { return Range(); }
    std::string Range() const {
      return "an integer from " + std::to_string(f.min) + " to " + std::to_string(f.max);
    }
  };
  return std::visit(Visitor{f}, f.member);
}

bool IsIntegerField(const Field& f) {
  return !std::holds_alternative<std::string ServerConfig::*>(f.member) &&
         !std::holds_alternative<bool ServerConfig::*>(f.member);
}

void SetInteger(ServerConfig& c, const Field& f, int64_t v) {
  if (auto m = std::get_if<uint16_t ServerConfig::*>(&f.member)) c.**m = static_cast<uint16_t>(v);
  if (auto m = std::get_if<int64_t ServerConfig::*>(&f.member)) c.**m = v;
  if (auto m = std::get_if<Seconds ServerConfig::*>(&f.member)) c.**m = Seconds(v);
  if (auto m = std::get_if<Millis ServerConfig::*>(&f.member)) c.**m = Millis(v);
}

int64_t GetInteger(const ServerConfig& c, const Field& f) {
  if (auto m = std::get_if<uint16_t ServerConfig::*>(&f.member)) return c.**m;
  if (auto m = std::get_if<int64_t ServerConfig::*>(&f.member)) return c.**m;
  if (auto m = std::get_if<Seconds ServerConfig::*>(&f.member)) return (c.**m).count();
  if (auto m = std::get_if<Millis ServerConfig::*>(&f.member)) return (c.**m).count();
  return 0;
}

// Strings end up in logs and in generated TOML; control characters would make both
// unreadable, and a NUL would cut a path short.
bool HasControlCharacters(std::string_view s) {
  for (unsigned char ch : s) {
    if (ch < 0x20 || ch == 0x7f) return true;
  }
  return false;
}

// Sets a field from a TOML node; an error is the sentence after "KEY: ".
Status SetFromNode(ServerConfig& c, const Field& f, const toml::node& node) {
  if (auto m = std::get_if<std::string ServerConfig::*>(&f.member)) {
    const auto* s = node.as_string();
    if (s == nullptr) return Error{"must be " + Expected(f) + " in quotes"};
    if (HasControlCharacters(s->get())) return Error{"must not contain control characters"};
    c.**m = s->get();
    return Ok{};
  }
  if (auto m = std::get_if<bool ServerConfig::*>(&f.member)) {
    const auto* b = node.as_boolean();
    if (b == nullptr) return Error{"must be " + Expected(f)};
    c.**m = b->get();
    return Ok{};
  }
  const auto* i = node.as_integer();
  if (i == nullptr || i->get() < f.min || i->get() > f.max) {
    return Error{"must be " + Expected(f)};
  }
  SetInteger(c, f, i->get());
  return Ok{};
}

std::string Where(std::string_view source, const toml::source_region& region) {
  return std::string(source) + ":" + std::to_string(region.begin.line);
}

// Quotes a string as a TOML basic string.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

Result<ServerConfig> ParseTable(const toml::table& root, std::string_view source) {
  ServerConfig config;
  for (auto&& [key, node] : root) {
    const std::string_view name = key.str();
    if (const Field* f = FindField("", name)) {
      if (auto s = SetFromNode(config, *f, node); !s) {
        return Error{Where(source, key.source()) + ": " + FullName(*f) + " " + s.error().message + "."};
      }
      continue;
    }
    if (!IsSection(name)) {
      return Error{Where(source, key.source()) + ": unknown key '" + std::string(name) +
                   "'; the top level takes " + KnownKeys("") + " and the sections " +
                   KnownSections() + "."};
    }
    const auto* table = node.as_table();
    if (table == nullptr) {
      return Error{Where(source, key.source()) + ": '" + std::string(name) +
                   "' must be a section ([" + std::string(name) + "]), not a value."};
    }
    for (auto&& [sub_key, sub_node] : *table) {
      const Field* f = FindField(name, sub_key.str());
      if (f == nullptr) {
        return Error{Where(source, sub_key.source()) + ": unknown key '" + std::string(name) + "." +
                     std::string(sub_key.str()) + "'; [" + std::string(name) + "] takes " +
                     KnownKeys(name) + "."};
      }
      if (auto s = SetFromNode(config, *f, sub_node); !s) {
        return Error{Where(source, sub_key.source()) + ": " + FullName(*f) + " " +
                     s.error().message + "."};
      }
    }
  }
  return config;
}

}  // namespace

Result<ServerConfig> ParseServerConfig(std::string_view toml_text, std::string_view source_name) {
  try {
    toml::table root = toml::parse(toml_text, source_name);
    return ParseTable(root, source_name);
  } catch (const toml::parse_error& e) {
    return Error{Where(source_name, e.source()) + ": this is not valid TOML (" +
                 std::string(e.description()) + "); fix the file and start again."};
  }
}

Result<ServerConfig> LoadServerConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read the config file " + path + "; check the path and its permissions."};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{"cannot read the config file " + path + "; check the path and its permissions."};
  return ParseServerConfig(text.str(), path);
}

Status ApplyServerConfigOverride(ServerConfig& config, std::string_view key, std::string_view value) {
  const size_t dot = key.find('.');
  const std::string_view section = dot == std::string_view::npos ? std::string_view() : key.substr(0, dot);
  const std::string_view name = dot == std::string_view::npos ? key : key.substr(dot + 1);
  const Field* f = FindField(section, name);
  if (f == nullptr) {
    std::string known;
    for (const Field& field : Fields()) known += (known.empty() ? "" : ", ") + FullName(field);
    return Error{"unknown setting '" + std::string(key) + "'; the settings are " + known + "."};
  }
  const std::string what = "setting " + FullName(*f) + " to '" + std::string(value) + "' failed: it must be ";
  if (auto m = std::get_if<std::string ServerConfig::*>(&f->member)) {
    if (HasControlCharacters(value)) return Error{what + "text without control characters."};
    config.**m = std::string(value);
    return Ok{};
  }
  if (auto m = std::get_if<bool ServerConfig::*>(&f->member)) {
    if (value != "true" && value != "false") return Error{what + Expected(*f) + "."};
    config.**m = value == "true";
    return Ok{};
  }
  int64_t v = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, v);
  if (value.empty() || ec != std::errc() || ptr != end || v < f->min || v > f->max) {
    return Error{what + Expected(*f) + "."};
  }
  SetInteger(config, *f, v);
  return Ok{};
}

Status ValidateServerConfig(const ServerConfig& c) {
  if (c.data_dir.empty()) {
    return Error{"no data directory is set; pass --data DIR or set data_dir in the config file."};
  }
  if (!c.store.empty()) {
    if (auto location = ParseStoreUrl(c.store); !location) return Error{"store: " + location.error().message + "."};
  }
  if (!c.node_id.empty() &&
      (c.node_id.size() > 64 || c.node_id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                            "0123456789_.-") != std::string::npos)) {
    return Error{"node.id '" + c.node_id + "' is not 1..64 letters, digits, '_', '.' or '-'; choose such a name."};
  }
  if (c.relay_id.size() > 64) {
    return Error{"relay.id is " + std::to_string(c.relay_id.size()) +
                 " bytes long; a relay's id on the node bus holds at most 64: choose a shorter one."};
  }
  if (!c.bus_url.empty() && c.bus_url.rfind("redis://", 0) != 0) {
    return Error{"bus '" + c.bus_url + "' is not a redis:// URL; set bus = \"redis://HOST:PORT\" or leave it empty."};
  }
  if (c.role != "node" && c.role != "relay") {
    return Error{"role '" + c.role + "' is not node or relay; use relay for a process that only relays media."};
  }
  if (auto alternates = ParseRelayAddressList(c.relay_alternates); !alternates) return alternates.error();
  if (auto first = ParseRelayAddressList(c.relay_first); !first) {
    return Error{"relay.first '" + c.relay_first + "' is not one HOST:PORT such as relay1.example.org:3478."};
  } else if (first->size() > 1) {
    return Error{"relay.first names more than one relay; put the others in relay.alternates."};
  }
  static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok = level_ok || c.log_level == l;
  if (!level_ok) {
    return Error{"log_level '" + c.log_level + "' is not one of trace, debug, info, warn, error, off."};
  }
  in6_addr addr6{};
  in_addr addr4{};
  if (inet_pton(AF_INET, c.listen_host.c_str(), &addr4) != 1 &&
      inet_pton(AF_INET6, c.listen_host.c_str(), &addr6) != 1) {
    return Error{"listen.host '" + c.listen_host +
                 "' is not an IP address; use e.g. 0.0.0.0 (all IPv4), :: (all) or 127.0.0.1."};
  }
  bool name_ok = !c.server_name.empty() && c.server_name.size() <= 253;
  for (char ch : c.server_name) {
    name_ok = name_ok && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          ch == '-' || ch == '.' || ch == ':');
  }
  if (!name_ok) {
    return Error{"tls.server_name '" + c.server_name +
                 "' is not a host name or IP address; set it to the name clients connect to."};
  }
  if (c.certificate_file.empty() != c.key_file.empty()) {
    return Error{"tls.certificate and tls.key must be set together (or both left empty for a "
                 "self-signed certificate)."};
  }
  if (!c.websocket_path.empty()) {
    const std::string& p = c.websocket_path;
    bool chars_ok = p.size() >= 2 && p.size() <= 200 && p[0] == '/';
    for (char ch : p) {
      const bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/';
      chars_ok = chars_ok && safe;
    }
    if (!chars_ok) {
      return Error{"signaling.websocket_path '" + p +
                   "' must start with / and use only letters, digits and - _ . ~ / (2 to 200 "
                   "characters); leave it empty to have one generated."};
    }
    if (DecoySite::IsPage(p)) {
      return Error{"signaling.websocket_path '" + p +
                   "' is a page of the decoy website; choose another path or leave it empty."};
    }
  }
  if (c.max_connections_per_ip > c.max_connections) {
    return Error{"limits.max_connections_per_ip (" + std::to_string(c.max_connections_per_ip) +
                 ") is larger than limits.max_connections (" + std::to_string(c.max_connections) +
                 "); lower it or raise the total."};
  }
  return Ok{};
}

std::string PrintServerConfig(const ServerConfig& c) {
  std::ostringstream out;
  out << "# parleyd effective settings (parleyd --print-config)\n";
  std::string_view section = "";
  for (const Field& f : Fields()) {
    if (f.section != section) {
      section = f.section;
      out << "\n[" << section << "]\n";
    }
    out << "# " << f.comment << "\n" << f.name << " = ";
    if (auto m = std::get_if<std::string ServerConfig::*>(&f.member)) {
      out << Quote(c.**m);
    } else if (auto b = std::get_if<bool ServerConfig::*>(&f.member)) {
      out << (c.**b ? "true" : "false");
    } else if (IsIntegerField(f)) {
      out << GetInteger(c, f);
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace parley::server
