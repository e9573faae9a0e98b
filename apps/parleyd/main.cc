// parleyd: the Parley server in one binary. Argument parsing and wiring only: config,
// data directory, store, certificate, UDP relay thread, TLS web front, signals.
#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "parley/crypto/key_source.h"
#include "parley/server/data_directory.h"
#include "parley/server/hub_signaling_sink.h"
#include "parley/server/invite_admin.h"
#include "parley/server/media_relay_routes.h"
#include "parley/server/redis_node_bus.h"
#include "parley/net/own_addresses.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/server_config.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/community_migration.h"
#include "parley/server/sqlite_store.h"
#include "parley/server/store_factory.h"
#include "parley/server/store_validation.h"
#include "parley/server/store_invite_directory.h"
#include "parley/server/tls_certificate.h"
#include "parley/server/udp_relay.h"
#include "parley/server/web_app_site.h"
#include "parley/server/web_front.h"
#include "relay_role.h"

namespace {

using namespace parley;
using namespace parley::server;

constexpr int kExitRuntime = 1;  // could not start (port in use, unreadable file, ...)
constexpr int kExitConfig = 2;   // bad command line or config

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "parleyd: %s\n", message.c_str());
  return code;
}

std::string HostPort(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Overrides from the command line, in the order they are applied (later wins).
struct Flags {
  std::string config_file;
  bool print_config = false;
  std::vector<std::pair<std::string, std::string>> settings;
};

int64_t NowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// `parleyd invite`: makes a web app invite in the data directory's store and prints its
// link (the server may be running: SQLite serialises the two processes), or lists or
// revokes invites. Takes effect at the running server's next request.
struct InviteCommand {
  bool list = false;
  std::string revoke;
};

int RunInvite(const ServerConfig& config, const InviteCommand& command) {
  auto dir = DataDirectory::Open(config.data_dir);
  if (!dir) return Fail(kExitRuntime, dir.error().message);
  auto store = OpenStore(config.store, *dir);
  if (!store) return Fail(kExitRuntime, store.error().message);
  InviteAdmin admin(**store);
  if (command.list) {
    auto text = admin.List();
    if (!text) return Fail(kExitRuntime, text.error().message);
    std::fputs(text->empty() ? "no invites yet: `parleyd invite` makes one\n" : text->c_str(), stdout);
    return 0;
  }
  if (!command.revoke.empty()) {
    auto revoked = admin.Revoke(command.revoke, NowUnixMs());
    if (!revoked) return Fail(kExitRuntime, revoked.error().message);
    std::printf("revoked invite %s: its link now shows the decoy site\n",
                InviteCode::ShortId(revoked->hash).c_str());
    return 0;
  }
  crypto::SystemKeySource random;
  auto invite = admin.Create(random, "", NowUnixMs());
  if (!invite) return Fail(kExitRuntime, invite.error().message);
  const uint16_t port = config.web_public_port != 0 ? config.web_public_port : config.tcp_port;
  if (port == 0) {
    std::fprintf(stderr,
                 "parleyd: listen.tcp_port is 0 (any free port), so the link's port is unknown: set "
                 "web.public_port, or replace PORT below with the port parleyd reports\n");
    std::printf("https://%s:PORT/%s/\n", config.server_name.c_str(), invite->text().c_str());
  } else {
    std::printf("%s\n", invite->Link(config.server_name, port).c_str());
  }
  if (config.web_app_dir.empty()) {
    std::fprintf(stderr,
                 "parleyd: note: web.app_dir is not set, so the link shows the decoy site until parleyd "
                 "runs with --web-app DIR (make web builds the app into build/web)\n");
  } else if (!DataDirectory::Exists(config.web_app_dir + "/index.html")) {
    std::fprintf(stderr,
                 "parleyd: note: %s has no index.html, so the link shows the decoy site until the app is "
                 "built there (make web writes build/web)\n",
                 config.web_app_dir.c_str());
  }
  return 0;
}

// `parleyd migrate --from URL --to URL`: copies a community into a new, empty store,
// all or nothing, and prints what it copied (docs/operating.md).
int RunMigrate(const std::string& from_url, const std::string& to_url) {
  if (from_url == to_url) return Fail(kExitConfig, "--from and --to name the same store: give the new store as --to.");
  auto from_location = ParseStoreUrl(from_url);
  if (!from_location) return Fail(kExitConfig, "--from: " + from_location.error().message);
  if (auto to_location = ParseStoreUrl(to_url); !to_location) {
    return Fail(kExitConfig, "--to: " + to_location.error().message);
  }
  if (from_location->kind == StoreLocation::Kind::kSqlite && !DataDirectory::Exists(from_location->sqlite_path)) {
    return Fail(kExitConfig, "--from: " + from_location->sqlite_path +
                                 " does not exist: give the parley.db of the community to move.");
  }
  auto from = OpenStoreUrl(from_url);
  if (!from) return Fail(kExitRuntime, from.error().message);
  auto to = OpenStoreUrl(to_url);
  if (!to) return Fail(kExitRuntime, to.error().message);
  auto counts = MigrateCommunity(**from, **to);
  if (!counts) return Fail(kExitRuntime, counts.error().message);
  std::printf("copied %s\n  from %s\n  to   %s\n", DescribeCounts(*counts).c_str(), RedactStoreUrl(from_url).c_str(),
              RedactStoreUrl(to_url).c_str());
  return 0;
}

int Run(const ServerConfig& config_in) {
  ServerConfig config = config_in;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  crypto::SystemKeySource random;

  auto dir = DataDirectory::Open(config.data_dir);
  if (!dir) return Fail(kExitRuntime, dir.error().message);
  if (config.websocket_path.empty()) {
    auto path = dir->LoadOrCreateWebsocketPath(random);
    if (!path) return Fail(kExitRuntime, path.error().message);
    config.websocket_path = *path;
    if (auto valid = ValidateServerConfig(config); !valid) return Fail(kExitRuntime, valid.error().message);
  }
  auto certificate = config.certificate_file.empty()
                         ? TlsCertificate::LoadOrGenerate(dir->File("tls_certificate.pem"), dir->File("tls_key.pem"),
                                                          config.server_name)
                         : TlsCertificate::Load(config.certificate_file, config.key_file);
  if (!certificate) return Fail(kExitRuntime, certificate.error().message);
  auto ticket_key = parleyd::LoadTicketKey(config, *dir, random);
  if (!ticket_key) return Fail(kExitRuntime, ticket_key.error().message);
  // The hub's store: its writes wait for another process's lock on the hub strand.
  auto store = OpenStore(config.store, *dir, config.store_busy_timeout);
  if (!store) return Fail(kExitRuntime, store.error().message);
  // One node alone runs on the hub's own in-process bus (bus empty); several nodes
  // share a Redis bus (docs/protocol.md, "Several nodes"). Envelopes that come before
  // the front is up wait in the bus.
  std::unique_ptr<NodeBus> bus;
  if (!config.bus_url.empty()) {
    const std::string node_id = config.node_id.empty() ? parleyd::RandomBusId(random, "node-") : config.node_id;
    auto redis = RedisNodeBus::Connect(config.bus_url, node_id);
    if (!redis) return Fail(kExitRuntime, "bus: " + redis.error().message);
    bus = std::move(*redis);
    spdlog::info("node {} on bus {}", node_id, config.bus_url);
  }

  RelayConfig relay_config;
  relay_config.bind_host = config.listen_host;
  relay_config.port = config.udp_port;
  std::copy(ticket_key->data(), ticket_key->data() + 32, relay_config.ticket_key.begin());
  relay_config.max_calls = static_cast<size_t>(config.relay_max_calls);
  relay_config.allow_loopback = config.allow_loopback;
  // Never relay to or from this server itself: its listen address (or, on a wildcard,
  // every interface) and what its public relay host resolves to.
  relay_config.own_addresses = net::CombineOwnAddresses(
      config.listen_host,
      net::ResolveHostAddresses(config.relay_public_host.empty() ? config.server_name : config.relay_public_host),
      net::InterfaceAddresses());
  // The TLS front bridges media-over-TLS clients to the relay through this loopback
  // socket, so a call still connects where UDP is blocked (docs/protocol.md, "Media over TLS").
  relay_config.bridge = true;
  UdpRelay relay(relay_config);
  if (auto started = relay.Start(); !started) return Fail(kExitRuntime, started.error().message);

  RelayTicketIssuer tickets(std::span<const uint8_t, 32>(ticket_key->data(), 32));
  HubConfig hub_config;
  hub_config.server_name = config.server_name;
  hub_config.relay_host = config.relay_public_host.empty() ? config.server_name : config.relay_public_host;
  hub_config.relay_port = config.relay_public_port != 0 ? config.relay_public_port : relay.bound_port();
  const signal::RelayAddress own_relay{hub_config.relay_host, hub_config.relay_port};  // before relay.first
  if (auto relays = parleyd::ConfigureHubRelays(config, bus.get(), &relay, hub_config); !relays) {
    relay.Stop();
    return Fail(kExitConfig, relays.error().message);
  }
  hub_config.ring_timeout = config.ring_timeout;
  hub_config.invites_per_caller =
      RateLimit{static_cast<int>(config.invites_per_minute),
                Duration(std::chrono::minutes(1)) / config.invites_per_minute};
  hub_config.app_invites_per_day = config.app_invites_per_day;
  std::array<uint8_t, 32> challenge_seed{};
  random.Fill(challenge_seed);
  SignalingHub hub(**store, tickets, hub_config, challenge_seed, bus.get());
  HubSignalingSink sink(hub);

  boost::asio::io_context ioc;
  WebFrontOptions options;
  options.host = config.listen_host;
  options.port = config.tcp_port;
  options.websocket_path = config.websocket_path;
  options.tls_handshake_timeout = config.tls_handshake_timeout;
  options.http_keepalive_timeout = config.http_keepalive_timeout;
  options.websocket_idle_timeout = config.websocket_idle_timeout;
  options.login_timeout = config.login_timeout;
  options.max_message_bytes = static_cast<size_t>(config.max_message_bytes);
  options.max_connections = config.max_connections;
  options.max_connections_per_ip = config.max_connections_per_ip;
  // Media over TLS: tickets verify under the same key the relay checks them with.
  options.media_tickets = &tickets;
  options.relay_bridge_port = relay.bridge_port();
  // A media upgrade names the call's relay; the front bridges only to relays this
  // community knows: this node's own (through the bridge socket), relay.first and
  // relay.alternates, and relays live on the bus (docs/protocol.md, "Media over TLS").
  std::vector<signal::RelayAddress> configured_relays = hub_config.relay_alternates;
  configured_relays.push_back({hub_config.relay_host, hub_config.relay_port});
  const MediaRelayRoutes media_routes(own_relay, std::move(configured_relays));
  options.media_relay_route = [&media_routes, bus = bus.get()](const std::string& host,
                                                               uint16_t port) -> std::optional<MediaRelayRoute> {
    if (auto route = media_routes.Route(host, port)) return route;
    if (bus == nullptr) return std::nullopt;
    auto live = bus->LiveRelays();
    if (!live) {
      spdlog::warn("The node bus did not list the live relays ({}); a media-over-TLS client naming {}:{} was refused.",
                   live.error().message, host, port);
      return std::nullopt;
    }
    return media_routes.Route(host, port, *live);
  };
  // The web app at live invites' paths (docs/protocol.md, "Web app and invites"). The
  // front looks invites up through a store connection of its own, so `parleyd invite`
  // run beside this process takes effect at once. A missing app is a warning, not a
  // failure: native clients still work, and invite paths look like any missing page.
  std::optional<WebAppSite> web_app;
  std::unique_ptr<StoreInviteDirectory> invite_directory;
  std::string web_app_status = "off (set web.app_dir or --web-app to the built app, e.g. build/web)";
  if (!config.web_app_dir.empty()) {
    auto files = WebAppFiles::Load(config.web_app_dir);
    auto invite_store = OpenStore(config.store, *dir);
    if (!files) {
      std::fprintf(stderr, "parleyd: warning: %s; the web app is off until then.\n", files.error().message.c_str());
      web_app_status = "off (" + config.web_app_dir + " is not a built app)";
    } else if (!invite_store) {
      relay.Stop();
      return Fail(kExitRuntime, invite_store.error().message);
    } else {
      web_app_status = config.web_app_dir + " (" + std::to_string(files->file_count()) + " files)";
      web_app.emplace(std::move(*files), WebAppSite::Config{config.server_name, config.websocket_path});
      invite_directory = std::make_unique<StoreInviteDirectory>(std::move(*invite_store));
      options.web_app = &*web_app;
      options.invites = invite_directory.get();
    }
  }
  auto front = WebFront::Start(ioc, *certificate, sink, options);
  if (!front) {
    relay.Stop();
    return Fail(kExitRuntime, front.error().message);
  }
  // Envelopes from other nodes join the hub's strand (the bus holds early ones).
  if (bus) bus->SetReceiver([web_front = front->get()](NodeEnvelope e) { web_front->PostToHub(std::move(e)); });

  // SIGTERM/SIGINT: stop accepting, close every connection (WebSockets with 1001),
  // stop the relay; whatever has not finished 3 s later is cut off.
  // The cut-off is a watchdog thread, not a timer, so that it does not itself keep
  // io_context::run() from returning as soon as the last connection has closed.
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  std::mutex stop_mu;  // guards finished
  std::condition_variable stop_cv;
  bool finished = false;
  std::optional<std::thread> watchdog;
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", signal_number);
    (*front)->Stop();
    relay.Stop();
    watchdog.emplace([&] {
      std::unique_lock lock(stop_mu);
      if (!stop_cv.wait_for(lock, std::chrono::seconds(3), [&] { return finished; })) ioc.stop();
    });
  });

  const uint16_t port = (*front)->bound_port();
  if (web_app) {
    const uint16_t link_port = config.web_public_port != 0 ? config.web_public_port : port;
    web_app_status += " at https://" + HostPort(config.server_name, link_port) +
                      "/<invite>/ (`parleyd invite` makes an invite)";
  }
  const std::string relay_host = hub_config.relay_host;
  // What a user gives `parley init` (signal::ParseServerAddress reads it). A pin only
  // for a self-signed certificate: a CA-issued one changes at every renewal.
  const std::string join = "parley init --server " + HostPort(config.server_name, port) + config.websocket_path +
                           (config.certificate_file.empty() ? " --pin " + certificate->fingerprint_sha256() : "") +
                           " --name YOUR_NAME";
  std::printf(
      "parleyd: ready\n"
      "  web_front: %s (TLS; the decoy site for browsers)\n"
      "  websocket: wss://%s%s\n"
      "  relay: udp %s (clients are told %s)\n"
      "  media_over_tls: on the web front (bridged to the relay at 127.0.0.1:%u)\n"
      "  web_app: %s\n"
      "  certificate_sha256: %s (%s)\n"
      "  join: %s\n"
      "  data: %s\n",
      HostPort(config.listen_host, port).c_str(), HostPort(config.server_name, port).c_str(),
      config.websocket_path.c_str(), HostPort(config.listen_host, relay.bound_port()).c_str(),
      HostPort(relay_host, hub_config.relay_port).c_str(), static_cast<unsigned>(relay.bridge_port()),
      web_app_status.c_str(), certificate->fingerprint_sha256().c_str(),
      certificate->generated()          ? "self-signed, generated now: clients pin this"
      : config.certificate_file.empty() ? "self-signed, from the data directory: clients pin this"
                                        : config.certificate_file.c_str(),
      join.c_str(), dir->path().c_str());
  std::fflush(stdout);

  // The hub and store are serialised by the front's hub strand; a second thread keeps
  // TLS handshakes and the decoy site going while the hub waits on an fsync.
  std::thread helper([&ioc] { ioc.run(); });
  ioc.run();
  helper.join();
  {
    std::lock_guard lock(stop_mu);
    finished = true;
  }
  stop_cv.notify_all();
  if (watchdog) watchdog->join();
  bus.reset();  // stops its receiving thread before the front it posts to goes
  relay.Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parleyd: the Parley server (accounts, signaling, relay, TLS web front)"};
  Flags flags;
  std::string data_dir, host, server_name, cert, key, ws_path, log_level, role;
  int port = -1, tcp_port = -1, udp_port = -1;
  bool allow_loopback = false;
  std::vector<std::string> sets;
  app.add_option("--data", data_dir, "data directory (created 0700): database, certificate, keys");
  app.add_option("--config", flags.config_file, "TOML config file (see docs/parleyd.example.toml)");
  app.add_flag("--print-config", flags.print_config, "print the effective settings as TOML and exit");
  app.add_option("--host", host, "address to listen on (listen.host)");
  app.add_option("--port", port, "TCP and UDP port (listen.tcp_port and listen.udp_port; 0 = any free)");
  app.add_option("--tcp-port", tcp_port, "TLS web front port (listen.tcp_port)");
  app.add_option("--udp-port", udp_port, "UDP relay port (listen.udp_port)");
  app.add_option("--server-name", server_name, "name clients connect to (tls.server_name)");
  app.add_option("--cert", cert, "PEM certificate chain (tls.certificate)");
  app.add_option("--key", key, "PEM private key (tls.key)");
  app.add_option("--websocket-path", ws_path, "signaling path (signaling.websocket_path)");
  app.add_flag("--allow-loopback", allow_loopback, "let the relay use loopback addresses (tests, demo)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
  app.add_option("--role", role, "node (default) or relay: only the UDP relay (role)");
  app.add_option("--set", sets, "any setting as KEY=VALUE, e.g. --set limits.max_connections=200");
  std::string web_app;
  app.add_option("--web-app", web_app, "built web app directory served at invite paths (web.app_dir)");
  InviteCommand invite_command;
  CLI::App* invite = app.add_subcommand(
      "invite", "make a web app invite and print its link https://HOST:PORT/<invite>/ (or --list, --revoke)");
  invite->fallthrough();  // parleyd invite --data DIR --port 8443 reads the server's options
  invite->add_flag("--list", invite_command.list, "list invites (id, created, by whom, live or revoked)");
  invite->add_option("--revoke", invite_command.revoke, "revoke an invite: its link, its 22 characters or its id");
  std::string migrate_from, migrate_to;
  CLI::App* migrate = app.add_subcommand(
      "migrate", "copy a community (accounts, contacts, call log, invites) into a new, empty store");
  migrate->add_option("--from", migrate_from, "store URL to copy from, e.g. sqlite:///var/lib/parley/parley.db")
      ->required();
  migrate->add_option("--to", migrate_to, "empty store URL to copy into, e.g. postgres://parley@db:5432/parley")
      ->required();
  CLI11_PARSE(app, argc, argv);
  if (migrate->parsed()) return RunMigrate(migrate_from, migrate_to);

  ServerConfig config;
  if (!flags.config_file.empty()) {
    auto loaded = LoadServerConfigFile(flags.config_file);
    if (!loaded) return Fail(kExitConfig, loaded.error().message);
    config = *loaded;
  }
  // --set first, then the named flags, so a named flag wins over a --set of the same key.
  for (const std::string& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos) return Fail(kExitConfig, "--set " + s + ": write it as KEY=VALUE.");
    flags.settings.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  auto named = [&](const char* key, const std::string& value) {
    if (!value.empty()) flags.settings.emplace_back(key, value);
  };
  named("data_dir", data_dir);
  named("listen.host", host);
  if (port >= 0) {
    named("listen.tcp_port", std::to_string(port));
    named("listen.udp_port", std::to_string(port));
  }
  if (tcp_port >= 0) named("listen.tcp_port", std::to_string(tcp_port));
  if (udp_port >= 0) named("listen.udp_port", std::to_string(udp_port));
  named("tls.server_name", server_name);
  named("tls.certificate", cert);
  named("tls.key", key);
  named("signaling.websocket_path", ws_path);
  if (allow_loopback) named("relay.allow_loopback", "true");
  named("log_level", log_level);
  named("role", role);
  named("web.app_dir", web_app);
  for (const auto& [k, v] : flags.settings) {
    if (auto applied = ApplyServerConfigOverride(config, k, v); !applied) {
      return Fail(kExitConfig, applied.error().message);
    }
  }

  if (flags.print_config) {
    std::fputs(PrintServerConfig(config).c_str(), stdout);
    return 0;
  }
  if (auto valid = ValidateServerConfig(config); !valid) return Fail(kExitConfig, valid.error().message);
  if (invite->parsed()) return RunInvite(config, invite_command);
  if (config.role == "relay") return parleyd::RunRelayRole(config, nullptr);
  // A client that vanishes mid-write must not kill the server.
  ::signal(SIGPIPE, SIG_IGN);
  return Run(config);
}
