// The kernel's floor for the relay benchmark: the least a UDP forwarder can do — one
// socket, recvmmsg/sendmmsg batches of 64, each packet sent back out to the source's
// IP with the port's lowest bit flipped (the load generator's fixed pairs). No
// parsing, no table, no checks. Runs until SIGINT/SIGTERM; prints the forwarded count.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
constexpr int kBatch = 64;
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: udp_floor_forwarder PORT\n");
    return 2;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int buffer_bytes = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    std::perror("bind");
    return 1;
  }
  socklen_t size = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  std::printf("%u\n", ntohs(address.sin_port));
  std::fflush(stdout);
  // No SA_RESTART: a signal interrupts the blocking recvmmsg.
  struct sigaction action{};
  action.sa_handler = OnSignal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  static std::array<std::array<uint8_t, 2048>, kBatch> buffers;
  std::array<sockaddr_in, kBatch> peers;
  std::array<iovec, kBatch> iov;
  std::array<mmsghdr, kBatch> messages;
  unsigned long long forwarded = 0;
  while (!g_stop) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {buffers[i].data(), buffers[i].size()};
      messages[i].msg_hdr = {};
      messages[i].msg_hdr.msg_name = &peers[i];
      messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(fd, messages.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    for (int i = 0; i < n; ++i) {
      peers[i].sin_port = htons(static_cast<uint16_t>(ntohs(peers[i].sin_port) ^ 1));
      iov[i].iov_len = messages[i].msg_len;
    }
    int sent = 0;
    while (sent < n) {
      const int r = ::sendmmsg(fd, messages.data() + sent, n - sent, 0);
      if (r > 0) {
        sent += r;
        forwarded += static_cast<unsigned long long>(r);
      } else if (!(r < 0 && errno == EINTR)) {
        ++sent;
      } else if (g_stop) {
        break;
      }
    }
  }
  std::printf("{\"forwarded\": %llu}\n", forwarded);
  return 0;
}
