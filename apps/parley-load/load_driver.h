// Runs the signaling load: keeps N simulated clients logged in across parleyd servers
// (round robin) and has pairs place and end calls at a steady rate. The I/O adapter
// around LoadClient: it owns the connections and timers on one io_context.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "load_client.h"
#include "load_stats.h"
#include "wss_connection.h"

namespace parley::load {

struct LoadOptions {
  std::vector<WssTarget> servers;  // clients are spread by ServerOfClient (pairs across servers)
  int clients = 1000;              // even: client 2k calls client 2k+1
  std::string user_prefix = "load";
  double calls_per_second = 10;
  Duration duration = seconds(30);       // of the calling phase
  Duration hold = milliseconds(1000);    // a set-up call lasts this long before hangup
  Duration call_timeout = seconds(15);   // invite to both relays, else a failure
  double connects_per_second = 500;      // ramp of new connections
  // Clients between connect and welcome at most: the ramp follows the server's login rate
  // instead of piling up connections that parleyd closes after limits.login_timeout_s.
  int max_connecting = 200;
  int clients_per_source = 4;            // loopback servers: source 127.1.x.y per this many clients; 0 = no bind
  Duration login_phase_limit = seconds(300);
  Duration idle = seconds(2);            // logged in, no calls, before the calling phase
  std::vector<int> server_pids;          // for RSS per connected client
};

// The figures of one run (LoadDriver::Run).
struct LoadReport {
  int clients = 0;
  int logged_in = 0;            // at the end of the login phase
  double login_phase_seconds = 0;
  double idle_seconds = 0;      // between the login and the calling phase
  double calling_seconds = 0;
  uint64_t calls_started = 0;
  uint64_t calls_set_up = 0;
  uint64_t calls_across_servers = 0;  // started with caller and callee on different servers
  double calls_set_up_per_second = 0;
  double setup_median_ms = 0;
  double setup_p99_ms = 0;
  std::map<std::string, uint64_t> failures;  // reason -> count
  uint64_t skipped_no_idle_pair = 0;         // ticks when every pair was still busy
  uint64_t disconnects = 0;
  int64_t server_rss_before_kb = 0;  // summed over server_pids, before the first connection
  int64_t server_rss_after_kb = 0;   // after the login phase
  double server_rss_per_client_kb = 0;  // (after - before) / logged_in
};

// Not thread-safe: Run() drives everything on the io_context given, which must have no
// other work, on the calling thread.
class LoadDriver {
 public:
  LoadDriver(boost::asio::io_context& io, LoadOptions options);
  ~LoadDriver();
  LoadReport Run();

 private:
  struct Slot;
  struct PendingCall;

  void ConnectMore(Duration elapsed);
  void Connect(size_t index);
  void OnClosed(size_t index, const std::string& why);
  void Handle(size_t index, LoadOutput output);
  void Tick();  // every 10 ms: start calls at the rate, time out stuck ones
  void StartOneCall();
  void Report(bool final_line);
  int LoggedIn() const;
  int64_t ServerRssKb() const;
  std::string SourceAddress(size_t index) const;

  boost::asio::io_context& io_;
  LoadOptions options_;
  crypto::SystemKeySource keys_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::map<signal::CallId, PendingCall> pending_;
  LoadStats stats_;
  LoadReport report_;
  boost::asio::steady_timer ticker_;
  size_t next_to_connect_ = 0;
  int connecting_ = 0;
  int logged_in_ = 0;  // clients whose connection has had its welcome
  double connect_credit_ = 0;
  double call_credit_ = 0;
  size_t next_pair_ = 0;
  bool calling_ = false;
  bool stopping_ = false;
  TimePoint started_{};
  TimePoint calling_started_{};
  TimePoint last_report_{};
  TimePoint last_tick_{};
  uint64_t last_report_set_up_ = 0;
};

}  // namespace parley::load
