// A private PostgreSQL 15 server for one test binary: initdb and postgres from
// Debian's /usr/lib/postgresql/15/bin in a temporary directory, listening only on
// 127.0.0.1:<free port>, run as "nobody" when the tests run as root (PostgreSQL
// refuses root), removed at exit. Never the system service, never port 5432.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "parley/base/check.h"
#include "parley/base/result.h"

namespace parley::server::testing_postgres {

inline constexpr const char* kPostgresBinDir = "/usr/lib/postgresql/15/bin";

// Not thread-safe: used from the test's main thread. Process lifetime: the server
// is a child of this process and gets SIGKILL if the test binary dies first.
class PostgresServer {
 public:
  // Starts a new cluster; an error says what is missing and what to run.
  static Result<std::unique_ptr<PostgresServer>> Start() {
    const std::string bin = kPostgresBinDir;
    if (access((bin + "/initdb").c_str(), X_OK) != 0 || access((bin + "/postgres").c_str(), X_OK) != 0) {
      return Error{std::string("PostgreSQL 15 is not installed (no ") + bin +
                   "/initdb or postgres): run scripts/install-deps, which installs Debian's postgresql"};
    }
    std::unique_ptr<PostgresServer> server(new PostgresServer());
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/parley-pg-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return Error{"cannot make a temporary directory for PostgreSQL"};
    server->dir_ = tmpl;
    if (geteuid() == 0) {
      const passwd* nobody = getpwnam("nobody");
      if (nobody == nullptr) return Error{"there is no user \"nobody\" to run PostgreSQL as (it refuses root)"};
      server->uid_ = nobody->pw_uid;
      server->gid_ = nobody->pw_gid;
      if (chown(server->dir_.c_str(), server->uid_, server->gid_) != 0) {
        return Error{"cannot hand " + server->dir_ + " to the user nobody"};
      }
      chmod(server->dir_.c_str(), 0700);
    }
    const int rc = server->RunAndWait({bin + "/initdb", "-D", server->data_dir(), "-U", "parley", "--auth=trust",
                                       "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8"});
    if (rc != 0) {
      return Error{"initdb failed with status " + std::to_string(rc) + ": see " + server->log_file()};
    }
    server->port_ = FreePort();
    if (auto started = server->Launch(); !started.ok()) return started.error();
    return server;
  }

  ~PostgresServer() {
    Stop();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  std::string Url(const std::string& database) const {
    return "postgres://parley@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

  // A new empty database; its URL.
  std::string CreateDatabase() {
    const std::string name = "t" + std::to_string(++databases_);
    Exec("postgres", "CREATE DATABASE " + name);
    return Url(name);
  }

  // Runs SQL outside any transaction as the superuser; aborts the test on failure.
  void Exec(const std::string& database, const std::string& sql) {
    pqxx::connection connection(Url(database));
    pqxx::nontransaction tx(connection);
    tx.exec(sql);
  }

  // kill -9 of the postmaster and its backends, as a crash or an OOM kill of the whole
  // server would do it. The backends go too and are waited for: an orphaned backend
  // may otherwise still run a transaction sent on its connection (it notices its
  // postmaster's death only when it next waits), which made tests racy.
  void Kill9() {
    if (pid_ <= 0) return;
    const std::vector<pid_t> backends = Backends();
    kill(pid_, SIGKILL);
    for (pid_t pid : backends) kill(pid, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (pid_t pid : backends) {
      while (ProcessState(pid) != 'Z' && ProcessState(pid) != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }

  // SIGSTOP (stop = true) or SIGCONT of the postmaster and every process it started
  // (its backends): a server that is there but answers nothing, as when it is swapped
  // out or its machine hangs. Connections are still accepted by the kernel.
  void Signal(bool stop) {
    if (pid_ <= 0) return;
    std::vector<pid_t> pids = Backends();
    pids.push_back(pid_);
    for (pid_t pid : pids) kill(pid, stop ? SIGSTOP : SIGCONT);
  }

  // Starts the server again on the same directory and port (after Kill9 its old
  // backends may take a moment to notice and exit; PostgreSQL refuses to start until
  // they have, so this retries for a few seconds).
  Status Restart() {
    Status last = Error{"not started"};
    for (int attempt = 0; attempt < 50; ++attempt) {
      last = Launch();
      if (last.ok()) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return last;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGQUIT);  // immediate shutdown: nothing here needs to survive
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Kill9();
  }

 private:
  PostgresServer() = default;

  std::string data_dir() const { return dir_ + "/data"; }

  // "pid (comm) state ppid ..." of /proc/<pid>/stat; comm may hold spaces, so the
  // fields are read after the last ')'. State 0 and ppid -1 if there is no such process.
  static std::pair<char, int> StateAndParent(pid_t pid) {
    FILE* stat = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (stat == nullptr) return {0, -1};
    char line[512] = {};
    const size_t n = std::fread(line, 1, sizeof line - 1, stat);
    std::fclose(stat);
    const std::string text(line, n);
    const size_t close = text.rfind(')');
    char state = 0;
    int ppid = -1;
    if (close == std::string::npos || std::sscanf(text.c_str() + close + 1, " %c %d", &state, &ppid) != 2) {
      return {0, -1};
    }
    return {state, ppid};
  }
  static char ProcessState(pid_t pid) { return StateAndParent(pid).first; }

  // The processes the postmaster started (backends, background workers).
  std::vector<pid_t> Backends() const {
    std::vector<pid_t> pids;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const auto pid = static_cast<pid_t>(std::stol(name));
      if (StateAndParent(pid).second == pid_) pids.push_back(pid);
    }
    return pids;
  }
  std::string log_file() const { return dir_ + "/log"; }

  static uint16_t FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    PARLEY_CHECK(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PARLEY_CHECK(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    PARLEY_CHECK(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
  }

  // Forks a child that drops to nobody (if root), dies with this process, sends its
  // output to the log file and execs `argv`.
  pid_t Spawn(const std::vector<std::string>& argv) {
    const pid_t pid = fork();
    PARLEY_CHECK(pid >= 0);
    if (pid != 0) return pid;
    const int log = open(log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    if (geteuid() == 0) {
      if (fchown(log, uid_, gid_) != 0 || setgroups(0, nullptr) != 0 || setgid(gid_) != 0 || setuid(uid_) != 0) {
        _exit(126);
      }
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setuid, which clears it
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }

  int RunAndWait(const std::vector<std::string>& argv) {
    const pid_t pid = Spawn(argv);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // fsync=off: the tests never outlive the machine's page cache; synchronous_commit
  // stays on, so a commit has reached the kernel before it is acknowledged and
  // survives a kill -9 of the server (Kill9).
  Status Launch() {
    pid_ = Spawn({std::string(kPostgresBinDir) + "/postgres", "-D", data_dir(), "-p", std::to_string(port_),
                  "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_, "-c", "fsync=off",
                  "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
                  "-c", "max_connections=40", "-c", "log_min_messages=warning"});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return Error{"postgres exited during startup: see " + log_file()};
      }
      try {
        pqxx::connection probe(Url("postgres"));
        return Ok{};
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
    }
    Stop();
    return Error{"postgres did not accept connections within 20 s: see " + log_file()};
  }

  std::string dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

// The binary's one server, started at first use; nullptr and `error` set if it
// could not start (the caller fails the test with that sentence).
inline PostgresServer* SharedPostgres(std::string* error) {
  static std::string start_error;
  static std::unique_ptr<PostgresServer> server = [] {
    auto started = PostgresServer::Start();
    if (!started.ok()) {
      start_error = started.error().message;
      return std::unique_ptr<PostgresServer>();
    }
    return std::move(*started);
  }();
  if (!server && error != nullptr) *error = start_error;
  return server.get();
}

}  // namespace parley::server::testing_postgres
