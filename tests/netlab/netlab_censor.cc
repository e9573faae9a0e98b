// netlab_censor: the censor lab's payload-inspecting router program. Reads packets the
// router's iptables rules send to an NFQUEUE, asks CensorJudge, sets the verdict and
// adds penalties to the nft set `inet netlab penalty`. Runs inside the censor namespace.
// Usage: netlab_censor --mode fully-encrypted|allowlist|signatures --queue N [--seed S]
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

#include "censor_judge.h"
#include "lab_packet.h"

namespace {

using namespace parley::netlab;

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

// nft runs as a child so that the penalty shows up in the same set the router's rules
// match; a penalty is rare (a blocked flow), so a process per penalty is cheap enough.
void AddPenalty(const Penalty& p) {
  const std::string element = "{ " + Ipv4ToString(p.client_ip) + " . " + Ipv4ToString(p.server_ip) + " . " +
                              std::to_string(p.server_port) + " timeout " + std::to_string(p.seconds) + "s }";
  const pid_t child = fork();
  if (child == 0) {
    execlp("nft", "nft", "add", "element", "inet", "netlab", "penalty", element.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "netlab_censor: could not add %s to the penalty set\n", element.c_str());
  }
}

struct Context {
  CensorJudge* judge;
};

int OnPacket(nfq_q_handle* queue, nfgenmsg*, nfq_data* data, void* opaque) {
  auto* context = static_cast<Context*>(opaque);
  const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
  const uint32_t id = header ? ntohl(header->packet_id) : 0;
  unsigned char* bytes = nullptr;
  const int length = nfq_get_payload(data, &bytes);
  CensorVerdict verdict;
  if (length > 0) {
    if (auto packet = ParseLabPacket({bytes, static_cast<size_t>(length)})) verdict = context->judge->Judge(*packet);
  }
  if (verdict.penalty) AddPenalty(*verdict.penalty);
  if (!verdict.reason.empty()) {
    std::printf("%s\n", verdict.reason.c_str());
    std::fflush(stdout);
  }
  return nfq_set_verdict(queue, id, verdict.accept ? NF_ACCEPT : NF_DROP, 0, nullptr);
}

int Usage() {
  std::fprintf(stderr, "usage: netlab_censor --mode fully-encrypted|allowlist|signatures --queue N [--seed S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode_name;
  int queue_number = -1;
  uint64_t seed = std::random_device{}();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--mode") {
      mode_name = argv[i + 1];
    } else if (flag == "--queue") {
      queue_number = std::atoi(argv[i + 1]);
    } else if (flag == "--seed") {
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      return Usage();
    }
  }
  CensorMode mode;
  if (mode_name == "fully-encrypted") {
    mode = CensorMode::kFullyEncrypted;
  } else if (mode_name == "allowlist") {
    mode = CensorMode::kAllowlist;
  } else if (mode_name == "signatures") {
    mode = CensorMode::kSignatures;
  } else {
    return Usage();
  }
  if (queue_number < 0 || queue_number > 65535) return Usage();

  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  CensorJudge judge(mode, [&] { return uniform(rng); });
  Context context{&judge};

  nfq_handle* handle = nfq_open();
  if (!handle) {
    std::fprintf(stderr, "netlab_censor: cannot open netfilter queue (%s); run as root in the censor namespace.\n",
                 std::strerror(errno));
    return 1;
  }
  nfq_q_handle* queue = nfq_create_queue(handle, static_cast<uint16_t>(queue_number), &OnPacket, &context);
  if (!queue || nfq_set_mode(queue, NFQNL_COPY_PACKET, 0xFFFF) < 0) {
    std::fprintf(stderr, "netlab_censor: cannot bind queue %d (%s); is another censor running?\n", queue_number,
                 std::strerror(errno));
    nfq_close(handle);
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::printf("netlab_censor: ready (mode %s, queue %d, seed %llu)\n", mode_name.c_str(), queue_number,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  const int fd = nfq_fd(handle);
  std::vector<char> buffer(1 << 17);
  while (!g_stop) {
    const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) continue;  // the kernel dropped queued packets: keep going
      std::fprintf(stderr, "netlab_censor: queue read failed: %s\n", std::strerror(errno));
      break;
    }
    nfq_handle_packet(handle, buffer.data(), static_cast<int>(n));
  }
  nfq_destroy_queue(queue);
  nfq_close(handle);
  return 0;
}
