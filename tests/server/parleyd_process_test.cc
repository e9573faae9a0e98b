// Runs the real parleyd binary on 127.0.0.1 with a temporary data directory and free
// ports: readiness, the decoy site over TLS, signaling reaching the hub, a clean exit
// on SIGTERM, and the same certificate pin and WebSocket path after a restart.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/server/server_config.h"
#include "tls_test_client.h"

namespace parley::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TlsTestClient;

// A child process with stdout and stderr on pipes; killed if the test forgets it.
class Process {
 public:
  explicit Process(std::vector<std::string> args) {
    int out[2], err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }

  // The next line of stdout, or nullopt at EOF or after `timeout`.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const size_t nl = stdout_.find('\n');
      if (nl != std::string::npos) {
        std::string line = stdout_.substr(0, nl);
        stdout_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[4096];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      stdout_.append(buf, static_cast<size_t>(n));
    }
  }

  // Everything left on stderr (call after exit).
  std::string Stderr() {
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err_, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
    return all;
  }
  std::string Stdout() {
    std::string all = stdout_;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out_, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
    return all;
  }

  void Signal(int sig) { ::kill(pid_, sig); }

  // The exit status (as waitpid gives it), or nullopt if still running after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool exited_ = false;
  std::string stdout_;
};

class ParleydProcessTest : public ::testing::Test {
 protected:
  ParleydProcessTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parleyd_test_XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
    data_ = root_ + "/data";
  }
  ~ParleydProcessTest() override { std::filesystem::remove_all(root_); }

  Process Start() {
    return Process({PARLEYD_PATH, "--data", data_, "--host", "127.0.0.1", "--port", "0", "--server-name",
                    "localhost", "--allow-loopback", "--log-level", "warn"});
  }

  // The summary lines ("  key: value ...") printed once parleyd is ready.
  std::map<std::string, std::string> ReadSummary(Process& p) {
    std::map<std::string, std::string> out;
    auto first = p.ReadLine();
    EXPECT_EQ(first.value_or("<none>"), "parleyd: ready") << p.Stderr();
    while (auto line = p.ReadLine()) {
      static const std::regex kLine("^  ([a-z_0-9]+): (\\S+).*$");
      std::smatch m;
      if (std::regex_match(*line, m, kLine)) out[m[1]] = m[2];
      if (line->rfind("  data:", 0) == 0) break;
    }
    return out;
  }

  std::string root_, data_;
};

uint16_t PortOf(const std::string& host_port) {
  return static_cast<uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
}

TEST_F(ParleydProcessTest, ServesDecoyAndSignalingStopsCleanlyKeepsPinAcrossRestarts) {
  std::string fingerprint, websocket;
  for (int run = 0; run < 2; ++run) {
    Process p = Start();
    auto summary = ReadSummary(p);
    ASSERT_TRUE(summary.count("web_front") && summary.count("certificate_sha256") && summary.count("websocket"))
        << p.Stderr();
    const uint16_t port = PortOf(summary["web_front"]);
    ASSERT_NE(port, 0);

    TlsTestClient client;
    ASSERT_TRUE(client.Connect(port));
    EXPECT_EQ(client.PeerFingerprint(), summary["certificate_sha256"]);
    ASSERT_TRUE(client.Write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const std::string page = client.ReadHttpResponse();
    EXPECT_THAT(page, StartsWith("HTTP/1.1 200 OK\r\nServer: nginx\r\n"));
    EXPECT_THAT(page, HasSubstr("Hollis Bindery"));

    // wss://localhost:PORT/ws/...: the upgrade reaches the hub, which says hello.
    const std::string path = summary["websocket"].substr(summary["websocket"].find('/', 6));
    TlsTestClient ws;
    ASSERT_TRUE(ws.Connect(port));
    ASSERT_THAT(ws.WsUpgrade(path), StartsWith("HTTP/1.1 101"));
    auto hello = ws.WsRead();
    ASSERT_TRUE(hello.has_value());
    EXPECT_THAT(hello->payload, HasSubstr("hello"));

    if (run == 0) {
      fingerprint = summary["certificate_sha256"];
      websocket = path;
    } else {
      EXPECT_EQ(summary["certificate_sha256"], fingerprint);  // the pin survives a restart
      EXPECT_EQ(path, websocket);
    }

    p.Signal(SIGTERM);
    // The open WebSocket is told the server is going away.
    auto close = ws.WsRead();
    ASSERT_TRUE(close.has_value());
    EXPECT_EQ(close->close_code(), 1001);
    auto status = p.Wait();
    ASSERT_TRUE(status.has_value()) << "parleyd did not exit after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status)) << "status " << *status;
    EXPECT_EQ(WEXITSTATUS(*status), 0) << p.Stderr();
  }
  EXPECT_TRUE(std::filesystem::exists(data_ + "/parley.db"));
  EXPECT_EQ(std::filesystem::status(data_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
}

TEST_F(ParleydProcessTest, PrintConfigShowsEffectiveSettings) {
  Process p({PARLEYD_PATH, "--data", data_, "--port", "9443", "--set", "limits.max_connections=77",
             "--print-config"});
  auto status = p.Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  auto config = ParseServerConfig(p.Stdout(), "stdout");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->data_dir, data_);
  EXPECT_EQ(config->tcp_port, 9443);
  EXPECT_EQ(config->udp_port, 9443);
  EXPECT_EQ(config->max_connections, 77);
  EXPECT_FALSE(std::filesystem::exists(data_));  // printing touches nothing
}

TEST_F(ParleydProcessTest, BadSettingsExitWithAClearError) {
  Process unknown({PARLEYD_PATH, "--data", data_, "--set", "listen.prot=1"});
  auto status = unknown.Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_THAT(unknown.Stderr(), HasSubstr("unknown setting 'listen.prot'"));

  Process no_data({PARLEYD_PATH});
  status = no_data.Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_THAT(no_data.Stderr(), HasSubstr("--data DIR"));
}

}  // namespace
}  // namespace parley::server
