// Load generator of the relay benchmark (scripts/bench-relay): N calls x 2 participants
// on loopback, each sending 100-byte packets at 50 packets/s through a relay for a fixed
// time; counts what comes back and samples the relay process's CPU time
// (/proc/PID/stat utime+stime) over the measurement window. One thread; prints JSON.
//   --mode parley: obfuscated binds with tickets (key shared with bench/relay_server),
//                  then the 100-byte sealed-packet stand-ins themselves as data, as
//                  docs/protocol.md "Relay (obfuscated UDP)" says.
//   --mode floor:  plain 100-byte datagrams from fixed ports base+2i, base+2i+1 to
//                  bench/udp_floor_forwarder, which flips the port's lowest bit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sodium.h>

#include "parley/net/relay_framing.h"
#include "parley/server/relay_ticket.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode = "parley";
  int port = 0;
  std::string key_hex;
  int calls = 1000;
  double seconds = 15;
  double warmup = 2;
  int relay_pid = 0;
  double rate = 50;
  int size = 100;
  int base_port = 20000;
};

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "relay_load: %s\nusage: relay_load --mode parley|floor --port P --relay-pid PID [--key HEX64]\n"
               "  [--calls N=1000] [--seconds S=15] [--warmup S=2] [--rate PPS=50] [--size BYTES=100]\n"
               "  [--base-port B=20000 (floor: even; ports B..B+2N-1 must be free)]\n",
               message);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("missing value for " + flag).c_str());
    const std::string value = argv[++i];
    if (flag == "--mode") o.mode = value;
    else if (flag == "--port") o.port = std::stoi(value);
    else if (flag == "--key") o.key_hex = value;
    else if (flag == "--calls") o.calls = std::stoi(value);
    else if (flag == "--seconds") o.seconds = std::stod(value);
    else if (flag == "--warmup") o.warmup = std::stod(value);
    else if (flag == "--relay-pid") o.relay_pid = std::stoi(value);
    else if (flag == "--rate") o.rate = std::stod(value);
    else if (flag == "--size") o.size = std::stoi(value);
    else if (flag == "--base-port") o.base_port = std::stoi(value);
    else Usage(("unknown flag " + flag).c_str());
  }
  if (o.mode != "parley" && o.mode != "floor") Usage("--mode is parley or floor");
  if (o.port <= 0 || o.relay_pid <= 0) Usage("--port and --relay-pid are required");
  if (o.mode == "parley" && o.key_hex.size() != 64) Usage("--key must be 64 hex digits in parley mode");
  if (o.base_port % 2 != 0) Usage("--base-port must be even");
  if (o.size < 25 || o.size > 1200) Usage("--size must be 25..1200");
  return o;
}

// CPU seconds (user + system, all threads) the process has used so far.
double CpuSeconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After the command: state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && (fields >> field); ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Participant {
  int fd = -1;
  std::vector<std::vector<uint8_t>> binds;  // parley mode: one per round, elapsed_ms growing
  std::vector<uint8_t> data;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);

  sockaddr_in relay{};
  relay.sin_family = AF_INET;
  relay.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  relay.sin_port = htons(static_cast<uint16_t>(o.port));

  std::array<uint8_t, 32> key{};
  if (o.mode == "parley") {
    for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(std::stoi(o.key_hex.substr(2 * i, 2), nullptr, 16));
  }
  const parley::server::RelayTicketIssuer issuer{std::span<const uint8_t, 32>(key)};
  const int64_t now_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t expires = now_unix_ms / 1000 + 3600;
  const parley::net::RelayBindKeys bind_keys{std::span<const uint8_t, 32>(issuer.bind_key())};

  const int count = 2 * o.calls;
  std::vector<Participant> participants(count);
  std::vector<uint8_t> payload(static_cast<std::size_t>(o.size));
  for (int k = 0; k < count; ++k) {
    Participant& p = participants[k];
    p.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p.fd < 0) {
      std::perror("socket (raise the open-file limit)");
      return 1;
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    local.sin_port = htons(o.mode == "floor" ? static_cast<uint16_t>(o.base_port + k) : 0);
    if (::bind(p.fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      std::fprintf(stderr, "relay_load: cannot bind 127.0.0.1:%d: %s\n", ntohs(local.sin_port), std::strerror(errno));
      return 1;
    }
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(k * 7 + i);
    // A sealed packet's first byte is 01xxxxxx (docs/protocol.md, "Sealed packet").
    if (!payload.empty()) payload[0] = static_cast<uint8_t>(0x40 | (k & 0x3F));
    if (o.mode == "parley") {
      parley::server::RelayTicketClaims claims{};
      const int call = k / 2;
      std::memcpy(claims.call_id.data(), &call, sizeof(call));
      claims.participant = static_cast<uint8_t>(k % 2);
      claims.expires_unix_s = expires;
      claims.issued_unix_ms = now_unix_ms;
      const auto ticket = issuer.Issue(claims);
      const auto hop_key = issuer.HopKey(ticket);
      for (uint64_t elapsed_ms : {1, 2}) {
        std::array<uint8_t, parley::net::kRelayNonceSize> nonce;
        randombytes_buf(nonce.data(), nonce.size());
        std::vector<uint8_t> bind(parley::net::RelayBindSize(0));
        parley::net::WriteRelayBind(bind_keys, std::span<const uint8_t, parley::net::kRelayTicketSize>(ticket.data(), ticket.size()),
                                    hop_key, nonce, elapsed_ms, {}, bind);
        p.binds.push_back(std::move(bind));
      }
      p.data = payload;
    } else {
      p.data = payload;
    }
  }

  auto send = [&](int k, const std::vector<uint8_t>& datagram) {
    return ::sendto(participants[k].fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&relay),
                    sizeof(relay)) == static_cast<ssize_t>(datagram.size());
  };
  constexpr int kBatch = 16;
  static std::array<std::array<uint8_t, 2048>, kBatch> buffers;
  std::array<iovec, kBatch> iov;
  std::array<mmsghdr, kBatch> messages;
  uint64_t received = 0, wrong_size = 0;
  auto drain = [&](int k) {
    for (;;) {
      for (int i = 0; i < kBatch; ++i) {
        iov[i] = {buffers[i].data(), buffers[i].size()};
        messages[i].msg_hdr = {};
        messages[i].msg_hdr.msg_iov = &iov[i];
        messages[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = ::recvmmsg(participants[k].fd, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) {
        if (messages[i].msg_len == static_cast<unsigned>(o.size)) ++received; else ++wrong_size;
      }
      if (n < kBatch) return;
    }
  };

  if (o.mode == "parley") {
    // Twice, in case a bind is lost; then forget anything that came back.
    for (int round = 0; round < 2; ++round) {
      for (int k = 0; k < count; ++k) send(k, participants[k].binds[static_cast<std::size_t>(round)]);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    for (int k = 0; k < count; ++k) drain(k);
    received = wrong_size = 0;
  }

  // Participant k sends at phase k/count of each period, in 1 ms ticks; every socket
  // is read every 50 ms (its queue holds a few packets, read in one recvmmsg).
  const double period_s = 1.0 / o.rate;
  const double slot_s = period_s / count;
  const auto tick = std::chrono::milliseconds(1);
  constexpr double kReadEvery_s = 0.05;
  uint64_t reads_done = 0;
  const auto start = Clock::now();
  const auto window_start = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto window_end = window_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  const auto drain_end = window_end + std::chrono::milliseconds(500);
  uint64_t slot = 0, sent = 0, send_failed = 0, received_at_window_start = 0, sent_at_window_start = 0;
  double cpu_start = 0, cpu_end = 0;
  bool in_window = false, window_done = false;
  for (auto next = start;; next += tick) {
    std::this_thread::sleep_until(next);
    const auto now = Clock::now();
    if (!in_window && !window_done && now >= window_start) {
      in_window = true;
      cpu_start = CpuSeconds(o.relay_pid);
      received_at_window_start = received;
      sent_at_window_start = sent;
    }
    if (in_window && now >= window_end) {
      in_window = false;
      window_done = true;
      cpu_end = CpuSeconds(o.relay_pid);
      const uint64_t window_received = received - received_at_window_start;
      // Kept aside: what the window saw, before the drain adds the tail.
      received_at_window_start = window_received;
      sent_at_window_start = sent - sent_at_window_start;
    }
    if (now >= drain_end) break;
    if (now < window_end) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      for (; static_cast<double>(slot) * slot_s <= elapsed; ++slot) {
        if (send(static_cast<int>(slot % count), participants[slot % count].data)) ++sent; else ++send_failed;
      }
    }
    // Reads keep pace with time, not with ticks, so a late tick reads more sockets.
    const auto reads_due = static_cast<uint64_t>(std::chrono::duration<double>(now - start).count() / kReadEvery_s *
                                                 static_cast<double>(count));
    for (; reads_done < reads_due; ++reads_done) {
      drain(static_cast<int>(reads_done % static_cast<uint64_t>(count)));
    }
  }
  for (int k = 0; k < count; ++k) drain(k);

  const double window_cpu = cpu_end - cpu_start;
  const uint64_t window_received = received_at_window_start;
  const double loss = sent == 0 ? 1.0 : 1.0 - static_cast<double>(received) / static_cast<double>(sent);
  std::printf("{\"mode\": \"%s\", \"calls\": %d, \"rate\": %g, \"size\": %d, \"sent\": %llu, \"received\": %llu, "
              "\"send_failed\": %llu, \"wrong_size\": %llu, \"loss\": %.6f, \"window_s\": %g, "
              "\"window_relayed\": %llu, \"window_offered\": %llu, \"relay_cpu_s\": %.3f, \"pps_per_cpu_s\": %.0f}\n",
              o.mode.c_str(), o.calls, o.rate, o.size, static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(received), static_cast<unsigned long long>(send_failed),
              static_cast<unsigned long long>(wrong_size), loss, o.seconds,
              static_cast<unsigned long long>(window_received), static_cast<unsigned long long>(sent_at_window_start),
              window_cpu, window_cpu > 0 ? static_cast<double>(window_received) / window_cpu : 0.0);
  for (Participant& p : participants) ::close(p.fd);
  return 0;
}
