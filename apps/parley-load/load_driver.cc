// LoadDriver: connection ramp, call pacing, time-outs and reports for parley-load.
#include "load_driver.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "load_placement.h"

namespace parley::load {

struct LoadDriver::Slot {
  std::unique_ptr<LoadClient> client;
  std::shared_ptr<WssConnection> connection;
  size_t server = 0;
  bool connecting = false;  // from the TCP connect until the welcome (or the close)
};

struct LoadDriver::PendingCall {
  size_t caller = 0;
  size_t callee = 0;
  TimePoint started{};
  int relays = 0;
  bool set_up = false;
};

namespace {
TimePoint Now() { return std::chrono::steady_clock::now(); }
constexpr Duration kTick = milliseconds(10);
}  // namespace

LoadDriver::LoadDriver(boost::asio::io_context& io, LoadOptions options)
    : io_(io), options_(std::move(options)), ticker_(io) {
  PARLEY_CHECK(!options_.servers.empty() && options_.clients >= 2);
  for (int i = 0; i < options_.clients; ++i) {
    auto slot = std::make_unique<Slot>();
    char name[64];
    std::snprintf(name, sizeof name, "%s-%06d", options_.user_prefix.c_str(), i);
    slot->client = std::make_unique<LoadClient>(name, "load", keys_);
    slot->server = ServerOfClient(static_cast<size_t>(i), options_.servers.size());
    slots_.push_back(std::move(slot));
  }
}

LoadDriver::~LoadDriver() = default;

std::string LoadDriver::SourceAddress(size_t index) const {
  const std::string& server = options_.servers[slots_[index]->server].address;
  if (options_.clients_per_source <= 0 || server.rfind("127.", 0) != 0) return {};
  // 127.1.0.1, 127.1.0.2, ...: parleyd limits logins and connections per client address.
  uint32_t n = static_cast<uint32_t>(index / static_cast<size_t>(options_.clients_per_source)) + 1;
  uint32_t address = (127u << 24) | (1u << 16) | n;
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
         std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255);
}

void LoadDriver::Connect(size_t index) {
  Slot& slot = *slots_[index];
  slot.client->Reset();
  slot.connecting = true;
  ++connecting_;
  WssCallbacks callbacks;
  callbacks.on_message = [this, index](std::string text) { Handle(index, slots_[index]->client->OnMessage(text)); };
  callbacks.on_closed = [this, index](std::string why) { OnClosed(index, why); };
  slot.connection = WssConnection::Open(io_, options_.servers[slot.server], SourceAddress(index), std::move(callbacks));
}

void LoadDriver::OnClosed(size_t index, const std::string& why) {
  Slot& slot = *slots_[index];
  if (slot.connecting) {
    slot.connecting = false;
    --connecting_;
  }
  slot.connection.reset();
  if (slot.client->logged_in()) --logged_in_;
  slot.client->Reset();
  if (stopping_) return;
  ++report_.disconnects;
  if (report_.disconnects <= 5) std::fprintf(stderr, "parley-load: %s lost its connection: %s\n",
                                             slot.client->user().c_str(), why.c_str());
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.caller == index || it->second.callee == index) {
      if (!it->second.set_up) stats_.Failed("disconnected");
      size_t other = it->second.caller == index ? it->second.callee : it->second.caller;
      Handle(other, slots_[other]->client->EndCall());
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  slot.client->Reset();
  // Reconnect later: parleyd gives each client address about ten logins, then one per 6 s.
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, seconds(7));
  timer->async_wait([this, index, timer](const boost::system::error_code& ec) {
    if (!ec && !stopping_ && !slots_[index]->connection) Connect(index);
  });
}

void LoadDriver::Handle(size_t index, LoadOutput output) {
  Slot& slot = *slots_[index];
  for (std::string& text : output.send) {
    if (slot.connection) slot.connection->Send(std::move(text));
  }
  for (const LoadEvent& event : output.events) {
    switch (event.kind) {
      case LoadEvent::Kind::kLoggedIn:
        ++logged_in_;
        if (slot.connecting) {
          slot.connecting = false;
          --connecting_;
        }
        break;
      case LoadEvent::Kind::kAuthFailed:
        // Counted, then closed: OnClosed reconnects later (parleyd refills logins per address slowly).
        stats_.Failed("login: " + event.reason);
        if (slot.connection) slot.connection->Close();
        return;
      case LoadEvent::Kind::kRelay: {
        auto it = pending_.find(event.call);
        if (it == pending_.end()) break;
        PendingCall& call = it->second;
        if (++call.relays < 2 || call.set_up) break;
        call.set_up = true;
        stats_.CallSetUp(Now() - call.started);
        size_t caller = call.caller;
        signal::CallId id = event.call;
        auto timer = std::make_shared<boost::asio::steady_timer>(io_, options_.hold);
        timer->async_wait([this, caller, id, timer](const boost::system::error_code& ec) {
          if (ec) return;
          pending_.erase(id);
          LoadClient& client = *slots_[caller]->client;
          if (client.call() == id) Handle(caller, client.EndCall());
        });
        break;
      }
      case LoadEvent::Kind::kCallFailed:
      case LoadEvent::Kind::kEnded: {
        auto it = pending_.find(event.call);
        if (it == pending_.end() || it->second.set_up) break;
        stats_.Failed((event.kind == LoadEvent::Kind::kEnded ? "ended: " : "") + event.reason);
        size_t other = it->second.caller == index ? it->second.callee : it->second.caller;
        if (slots_[other]->client->call() == event.call) Handle(other, slots_[other]->client->EndCall());
        pending_.erase(it);
        break;
      }
    }
  }
}

void LoadDriver::ConnectMore(Duration elapsed) {
  connect_credit_ = std::min(connect_credit_ + options_.connects_per_second * ToSeconds(elapsed), 100.0);
  while (connect_credit_ >= 1 && next_to_connect_ < slots_.size() && connecting_ < options_.max_connecting) {
    connect_credit_ -= 1;
    Connect(next_to_connect_++);
  }
}

void LoadDriver::StartOneCall() {
  size_t pairs = slots_.size() / 2;
  for (size_t tries = 0; tries < pairs; ++tries) {
    size_t pair = next_pair_++ % pairs;
    size_t caller = 2 * pair, callee = 2 * pair + 1;
    if (!slots_[caller]->client->idle() || !slots_[callee]->client->idle()) continue;
    signal::CallId id{};
    keys_.Fill(id);
    pending_[id] = PendingCall{caller, callee, Now(), 0, false};
    stats_.CallStarted();
    if (slots_[caller]->server != slots_[callee]->server) ++report_.calls_across_servers;
    Handle(caller, slots_[caller]->client->StartCall(slots_[callee]->client->user(), id));
    return;
  }
  ++report_.skipped_no_idle_pair;
}

void LoadDriver::Tick() {
  // Credits follow the time that really passed: a loaded machine fires the timer late.
  TimePoint now = Now();
  Duration elapsed = last_tick_ == TimePoint{} ? kTick : now - last_tick_;
  last_tick_ = now;
  ConnectMore(elapsed);
  if (calling_) {
    call_credit_ = std::min(call_credit_ + options_.calls_per_second * ToSeconds(elapsed), 1000.0);
    while (call_credit_ >= 1) {
      call_credit_ -= 1;
      StartOneCall();
    }
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!it->second.set_up && now - it->second.started > options_.call_timeout) {
      stats_.Failed("timeout");
      for (size_t party : {it->second.caller, it->second.callee}) {
        if (slots_[party]->client->call() == it->first) Handle(party, slots_[party]->client->EndCall());
      }
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  if (now - last_report_ >= seconds(5)) Report(false);
}

int LoadDriver::LoggedIn() const { return logged_in_; }

int64_t LoadDriver::ServerRssKb() const {
  int64_t total = 0;
  for (int pid : options_.server_pids) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) total += std::stoll(line.substr(6));
    }
  }
  return total;
}

void LoadDriver::Report(bool final_line) {
  TimePoint now = Now();
  double interval = ToSeconds(now - last_report_);
  uint64_t set_up = stats_.set_up();
  std::fprintf(stderr,
               "parley-load %s t=%.0fs logged_in=%d/%zu started=%lu set_up=%lu (%.1f/s) failed=%lu "
               "p50=%.1fms p99=%.1fms rss=%ldkB\n",
               final_line ? "final" : "     ", ToSeconds(now - started_), LoggedIn(), slots_.size(),
               static_cast<unsigned long>(stats_.started()), static_cast<unsigned long>(set_up),
               interval > 0 ? static_cast<double>(set_up - last_report_set_up_) / interval : 0.0,
               static_cast<unsigned long>(stats_.failed()), stats_.LatencyQuantileMs(0.5),
               stats_.LatencyQuantileMs(0.99), static_cast<long>(ServerRssKb()));
  last_report_ = now;
  last_report_set_up_ = set_up;
}

LoadReport LoadDriver::Run() {
  report_.clients = static_cast<int>(slots_.size());
  report_.server_rss_before_kb = ServerRssKb();
  started_ = last_report_ = Now();
  std::function<void()> schedule;
  schedule = [&] {
    ticker_.expires_after(kTick);
    ticker_.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      Tick();
      schedule();
    });
  };
  auto run_until = [&](auto done) {
    while (!done()) io_.run_one();
  };
  schedule();

  // Login phase: every client connected and logged in (or the limit).
  run_until([&] { return LoggedIn() == static_cast<int>(slots_.size()) || Now() - started_ > options_.login_phase_limit; });
  report_.logged_in = LoggedIn();
  report_.login_phase_seconds = ToSeconds(Now() - started_);
  // Let the server settle (TLS buffers freed, allocator caches) before reading its memory;
  // the bench script also measures what idle clients cost over this phase.
  std::fprintf(stderr, "parley-load: idle phase starts\n");
  const TimePoint idle_started = Now();
  run_until([&] { return Now() - idle_started >= options_.idle; });
  report_.idle_seconds = ToSeconds(Now() - idle_started);
  report_.server_rss_after_kb = ServerRssKb();
  if (report_.logged_in > 0) {
    report_.server_rss_per_client_kb =
        static_cast<double>(report_.server_rss_after_kb - report_.server_rss_before_kb) / report_.logged_in;
  }
  Report(false);

  // Calling phase, then up to call_timeout + hold for the calls under way.
  calling_ = true;
  calling_started_ = Now();
  // scripts/bench_signaling.py reads these two lines to measure each process's CPU time
  // over the calling phase alone.
  std::fprintf(stderr, "parley-load: calling phase starts\n");
  run_until([&] { return Now() - calling_started_ >= options_.duration; });
  calling_ = false;
  report_.calling_seconds = ToSeconds(Now() - calling_started_);
  TimePoint drain_until = Now() + options_.call_timeout + options_.hold + seconds(1);
  run_until([&] { return pending_.empty() || Now() >= drain_until; });
  std::fprintf(stderr, "parley-load: calling phase ends\n");
  Report(true);

  report_.calls_started = stats_.started();
  report_.calls_set_up = stats_.set_up();
  report_.calls_set_up_per_second = static_cast<double>(stats_.set_up()) / report_.calling_seconds;
  report_.setup_median_ms = stats_.LatencyQuantileMs(0.5);
  report_.setup_p99_ms = stats_.LatencyQuantileMs(0.99);
  report_.failures = stats_.failures();

  stopping_ = true;
  ticker_.cancel();
  for (auto& slot : slots_) {
    if (slot->connection) slot->connection->Close();
  }
  io_.restart();
  io_.poll();
  return report_;
}

}  // namespace parley::load
