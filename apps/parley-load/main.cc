// parley-load: a signaling load generator for parleyd (issue #8). Argument parsing,
// RLIMIT_NOFILE and the JSON report; LoadDriver does the work.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "load_driver.h"

namespace {

// "host:port/path" or "[v6]:port/path" -> a target; false with a sentence on error.
bool ParseServer(const std::string& text, const std::string& server_name, parley::load::WssTarget& target,
                 std::string& error) {
  auto slash = text.find('/');
  if (slash == std::string::npos) {
    error = "--server '" + text + "' has no path: write it as ADDRESS:PORT/websocket_path.";
    return false;
  }
  std::string authority = text.substr(0, slash);
  target.path = text.substr(slash);
  auto colon = authority.rfind(':');
  if (colon == std::string::npos || colon + 1 == authority.size()) {
    error = "--server '" + text + "' has no port: write it as ADDRESS:PORT/websocket_path.";
    return false;
  }
  target.address = authority.substr(0, colon);
  if (target.address.size() > 2 && target.address.front() == '[') {
    target.address = target.address.substr(1, target.address.size() - 2);
  }
  try {
    int port = std::stoi(authority.substr(colon + 1));
    if (port < 1 || port > 65535) throw std::out_of_range("port");
    target.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    error = "--server '" + text + "' has a port that is not 1-65535.";
    return false;
  }
  target.server_name = server_name;
  return true;
}

// Each connection is a descriptor; the default soft limit (1024) would stop at ~1000 clients.
void RaiseFileLimit(int clients) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < static_cast<rlim_t>(clients) + 64) {
    std::fprintf(stderr, "parley-load: the file limit is %lu, too low for %d clients: raise it (ulimit -n).\n",
                 static_cast<unsigned long>(limit.rlim_cur), clients);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-load: keeps N simulated clients logged in to parleyd and places calls at a steady rate"};
  std::vector<std::string> servers;
  std::string server_name = "localhost";
  parley::load::LoadOptions options;
  double duration_s = 30, hold_ms = 1000, call_timeout_s = 15, login_limit_s = 300, idle_s = 2;
  std::string json_path;
  app.add_option("--server", servers, "ADDRESS:PORT/websocket_path of a parleyd; repeat for several (each pair's caller and callee on different ones)")
      ->required();
  app.add_option("--server-name", server_name, "TLS server name (SNI and Host)");
  app.add_option("--clients", options.clients, "simulated clients (even; client 2k calls 2k+1)")
      ->check(CLI::Range(2, 1000000));
  app.add_option("--user-prefix", options.user_prefix, "account names are PREFIX-000000, ...");
  app.add_option("--rate", options.calls_per_second, "calls started per second")->check(CLI::Range(0.0, 100000.0));
  app.add_option("--duration", duration_s, "seconds of calling");
  app.add_option("--idle-seconds", idle_s, "seconds logged in without calls between the login and the calling phase")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--hold-ms", hold_ms, "how long a set-up call lasts before the caller hangs up");
  app.add_option("--call-timeout", call_timeout_s, "seconds from invite to both relays before a call counts as failed");
  app.add_option("--connect-rate", options.connects_per_second, "new connections per second");
  app.add_option("--max-connecting", options.max_connecting, "clients connecting or logging in at once, at most");
  app.add_option("--clients-per-source", options.clients_per_source,
                 "on loopback, clients per source address 127.1.x.y (parleyd allows ~10 logins per address, and a first run registers after a refused login); 0 = no bind");
  app.add_option("--login-limit", login_limit_s, "seconds the login phase may take at most");
  app.add_option("--server-pid", options.server_pids, "parleyd process ids whose memory to report; repeatable");
  app.add_option("--json", json_path, "write the figures as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  if (options.clients % 2 != 0) ++options.clients;
  for (const std::string& text : servers) {
    parley::load::WssTarget target;
    std::string error;
    if (!ParseServer(text, server_name, target, error)) {
      std::cerr << "parley-load: " << error << "\n";
      return 2;
    }
    options.servers.push_back(target);
  }
  options.duration = parley::FromMillis(duration_s * 1000);
  options.hold = parley::FromMillis(hold_ms);
  options.idle = parley::FromMillis(idle_s * 1000);
  options.call_timeout = parley::FromMillis(call_timeout_s * 1000);
  options.login_phase_limit = parley::FromMillis(login_limit_s * 1000);
  RaiseFileLimit(options.clients);

  boost::asio::io_context io(1);
  parley::load::LoadDriver driver(io, options);
  parley::load::LoadReport report = driver.Run();

  nlohmann::json json = {
      {"clients", report.clients},
      {"logged_in", report.logged_in},
      {"login_phase_seconds", report.login_phase_seconds},
      {"idle_seconds", report.idle_seconds},
      {"calling_seconds", report.calling_seconds},
      {"calls_started", report.calls_started},
      {"calls_set_up", report.calls_set_up},
      {"calls_across_servers", report.calls_across_servers},
      {"calls_set_up_per_second", report.calls_set_up_per_second},
      {"setup_median_ms", report.setup_median_ms},
      {"setup_p99_ms", report.setup_p99_ms},
      {"failures", report.failures},
      {"skipped_no_idle_pair", report.skipped_no_idle_pair},
      {"disconnects", report.disconnects},
      {"server_rss_before_kb", report.server_rss_before_kb},
      {"server_rss_after_kb", report.server_rss_after_kb},
      {"server_rss_per_client_kb", report.server_rss_per_client_kb},
  };
  std::cout << json.dump(2) << "\n";
  if (!json_path.empty()) std::ofstream(json_path) << json.dump(2) << "\n";
  return report.logged_in == report.clients ? 0 : 1;
}
