// The impairment proxy's socket loop: one thread, ppoll with a timeout at the next
// simulated delivery, NetsimLinks deciding what arrives when.
#include "parley/net/udp_impairment_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "parley/net/netsim_link.h"

namespace parley::net {
namespace {

constexpr size_t kMaxDatagram = 65536;
constexpr int kReadsPerWakeup = 256;     // per socket, so one busy client cannot starve others
constexpr int kSocketBufferBytes = 1 << 20;
constexpr Duration kIdleSweep = seconds(1);

TimePoint Now() { return std::chrono::steady_clock::now(); }

std::string Errno() { return std::strerror(errno); }

void Close(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int UdpSocket(int family) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    // Bigger buffers absorb bursts while the thread is busy; the kernel caps them.
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  }
  return fd;
}

}  // namespace

// Relaxed atomics: written by the loop thread, read as a snapshot by stats().
struct UdpImpairmentProxy::Counters {
  struct Direction {
    std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> forwarded{0};
    std::atomic<uint64_t> lost{0};
    std::atomic<uint64_t> overflow{0};
    std::atomic<uint64_t> send_errors{0};
    UdpImpairmentDirectionStats Snapshot() const {
      return {.received = received.load(std::memory_order_relaxed),
              .forwarded = forwarded.load(std::memory_order_relaxed),
              .lost = lost.load(std::memory_order_relaxed),
              .overflow = overflow.load(std::memory_order_relaxed),
              .send_errors = send_errors.load(std::memory_order_relaxed)};
    }
  };
  Direction forward;
  Direction reverse;
  std::atomic<uint64_t> clients{0};
  std::atomic<uint64_t> active_clients{0};
};

// Everything the thread owns. Only Run (on the thread) touches the sockets and links;
// RequestStop and counters are the cross-thread parts.
class UdpImpairmentProxy::Loop {
 public:
  Loop(UdpImpairmentProxyOptions options, int listen_fd, int wake_fd, Counters& counters)
      : options_(std::move(options)), listen_fd_(listen_fd), wake_fd_(wake_fd), counters_(counters) {}
  ~Loop() {
    for (auto& [address, client] : clients_) Close(client.fd);
    Close(listen_fd_);
    Close(wake_fd_);
  }

  // Any thread: makes Run return soon.
  void RequestStop() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }

  void Run() {
    std::vector<uint8_t> buffer(kMaxDatagram);
    std::vector<pollfd> fds;
    std::vector<UdpEndpoint> fd_clients;  // fds[i + 2] belongs to fd_clients[i]
    TimePoint next_sweep = Now() + kIdleSweep;
    for (;;) {
      TimePoint now = Now();
      std::optional<TimePoint> next = Deliver(now);
      if (now >= next_sweep) {
        SweepIdle(now);
        next_sweep = now + kIdleSweep;
      }
      const TimePoint wake = next ? std::min(*next, next_sweep) : next_sweep;

      fds.clear();
      fd_clients.clear();
      fds.push_back({.fd = wake_fd_, .events = POLLIN, .revents = 0});
      fds.push_back({.fd = listen_fd_, .events = POLLIN, .revents = 0});
      for (const auto& [address, client] : clients_) {
        fds.push_back({.fd = client.fd, .events = POLLIN, .revents = 0});
        fd_clients.push_back(address);
      }
      const Duration wait = std::max(Duration{0}, wake - Now());
      const timespec timeout{.tv_sec = static_cast<time_t>(wait.count() / 1'000'000'000),
                             .tv_nsec = static_cast<long>(wait.count() % 1'000'000'000)};
      const int ready = ::ppoll(fds.data(), fds.size(), &timeout, nullptr);
      if (ready < 0 && errno != EINTR) return;  // cannot happen with valid fds
      if (ready <= 0) continue;
      if (fds[0].revents != 0) return;  // Stop
      now = Now();
      if (fds[1].revents != 0) ReadFromClients(buffer, now);
      for (size_t i = 0; i < fd_clients.size(); ++i) {
        if (fds[i + 2].revents != 0) ReadFromUpstream(fd_clients[i], buffer, now);
      }
    }
  }

 private:
  struct Client {
    int fd = -1;  // connected to upstream
    NetsimLink forward;
    NetsimLink reverse;
    TimePoint last_active;
    uint64_t lost_forward_seen = 0;  // link loss already added to the counters
    uint64_t lost_reverse_seen = 0;
  };

  void ReadFromClients(std::vector<uint8_t>& buffer, TimePoint now) {
    for (int i = 0; i < kReadsPerWakeup; ++i) {
      sockaddr_storage from{};
      socklen_t from_size = sizeof(from);
      const ssize_t n = ::recvfrom(listen_fd_, buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_size);
      if (n < 0) return;  // EAGAIN, or an ICMP error for an earlier reply: nothing to read
      counters_.forward.received.fetch_add(1, std::memory_order_relaxed);
      const UdpEndpoint address = UdpEndpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&from), from_size);
      Client* client = FindOrAdd(address, now);
      if (client == nullptr || client->forward.in_flight() >= options_.max_in_flight) {
        counters_.forward.overflow.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      client->last_active = now;
      client->forward.Send(std::vector<uint8_t>(buffer.begin(), buffer.begin() + n), now);
      CountLoss(*client);
    }
  }

  void ReadFromUpstream(const UdpEndpoint& address, std::vector<uint8_t>& buffer, TimePoint now) {
    auto it = clients_.find(address);
    if (it == clients_.end()) return;
    Client& client = it->second;
    for (int i = 0; i < kReadsPerWakeup; ++i) {
      const ssize_t n = ::recv(client.fd, buffer.data(), buffer.size(), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        continue;  // ECONNREFUSED from an earlier send: upstream not listening (yet)
      }
      counters_.reverse.received.fetch_add(1, std::memory_order_relaxed);
      if (client.reverse.in_flight() >= options_.max_in_flight) {
        counters_.reverse.overflow.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      client.last_active = now;
      client.reverse.Send(std::vector<uint8_t>(buffer.begin(), buffer.begin() + n), now);
      CountLoss(client);
    }
  }

  Client* FindOrAdd(const UdpEndpoint& address, TimePoint now) {
    auto it = clients_.find(address);
    if (it != clients_.end()) return &it->second;
    if (clients_.size() >= options_.max_clients) return nullptr;
    const int fd = UdpSocket(options_.upstream.family());
    if (fd < 0) return nullptr;
    const sockaddr_storage upstream = options_.upstream.ToSockaddr();
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&upstream), options_.upstream.sockaddr_size()) != 0) {
      ::close(fd);
      return nullptr;
    }
    const uint64_t n = next_client_++;
    auto [inserted, ok] = clients_.emplace(
        address, Client{.fd = fd,
                        .forward = NetsimLink(options_.forward, NetsimDeriveSeed(options_.seed, 2 * n), now),
                        .reverse = NetsimLink(options_.reverse, NetsimDeriveSeed(options_.seed, 2 * n + 1), now),
                        .last_active = now});
    counters_.clients.fetch_add(1, std::memory_order_relaxed);
    counters_.active_clients.store(clients_.size(), std::memory_order_relaxed);
    return &inserted->second;
  }

  // Sends everything due by `now`; returns when the next packet is due, if any.
  std::optional<TimePoint> Deliver(TimePoint now) {
    std::optional<TimePoint> next;
    for (auto& [address, client] : clients_) {
      for (auto& packet : client.forward.Receive(now)) {
        if (::send(client.fd, packet.bytes.data(), packet.bytes.size(), 0) >= 0) {
          counters_.forward.forwarded.fetch_add(1, std::memory_order_relaxed);
        } else {
          counters_.forward.send_errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
      const sockaddr_storage to = address.ToSockaddr();
      for (auto& packet : client.reverse.Receive(now)) {
        if (::sendto(listen_fd_, packet.bytes.data(), packet.bytes.size(), 0,
                     reinterpret_cast<const sockaddr*>(&to), address.sockaddr_size()) >= 0) {
          counters_.reverse.forwarded.fetch_add(1, std::memory_order_relaxed);
        } else {
          counters_.reverse.send_errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
      CountLoss(client);
      for (const auto& t : {client.forward.NextDeliveryTime(), client.reverse.NextDeliveryTime()}) {
        if (t && (!next || *t < *next)) next = t;
      }
    }
    return next;
  }

  // Loss is decided inside the link (at Send, or at a queue); mirror its counters.
  void CountLoss(Client& client) {
    const uint64_t forward = client.forward.stats().lost();
    const uint64_t reverse = client.reverse.stats().lost();
    counters_.forward.lost.fetch_add(forward - client.lost_forward_seen, std::memory_order_relaxed);
    counters_.reverse.lost.fetch_add(reverse - client.lost_reverse_seen, std::memory_order_relaxed);
    client.lost_forward_seen = forward;
    client.lost_reverse_seen = reverse;
  }

  void SweepIdle(TimePoint now) {
    for (auto it = clients_.begin(); it != clients_.end();) {
      Client& c = it->second;
      if (now - c.last_active > options_.client_idle_timeout && c.forward.in_flight() == 0 &&
          c.reverse.in_flight() == 0) {
        Close(c.fd);
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
    counters_.active_clients.store(clients_.size(), std::memory_order_relaxed);
  }

  const UdpImpairmentProxyOptions options_;
  int listen_fd_;
  int wake_fd_;
  std::map<UdpEndpoint, Client> clients_;  // by the client's source address
  uint64_t next_client_ = 0;
  Counters& counters_;  // owned by the proxy, so stats outlive the loop
};

Result<std::unique_ptr<UdpImpairmentProxy>> UdpImpairmentProxy::Start(UdpImpairmentProxyOptions options) {
  if (options.listen.empty() || options.upstream.empty()) {
    return Error{"the impairment proxy needs both a listen and an upstream address"};
  }
  if (options.upstream.port() == 0) {
    return Error{"cannot forward to " + options.upstream.ToString() + ": give the upstream's real port"};
  }
  int listen_fd = UdpSocket(options.listen.family());
  if (listen_fd < 0) return Error{"cannot create a UDP socket (" + Errno() + ")"};
  const sockaddr_storage listen = options.listen.ToSockaddr();
  if (::bind(listen_fd, reinterpret_cast<const sockaddr*>(&listen), options.listen.sockaddr_size()) != 0) {
    const std::string why = Errno();
    Close(listen_fd);
    return Error{"cannot listen on " + options.listen.ToString() + " (" + why +
                 "): choose another --listen address or port"};
  }
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof(bound);
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const std::string why = Errno();
    Close(listen_fd);
    return Error{"cannot create an eventfd (" + why + ")"};
  }
  std::unique_ptr<UdpImpairmentProxy> proxy(new UdpImpairmentProxy(
      UdpEndpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&bound), bound_size)));
  proxy->loop_ = std::make_unique<Loop>(std::move(options), listen_fd, wake_fd, *proxy->counters_);
  Loop* raw = proxy->loop_.get();
  proxy->thread_ = std::thread([raw] { raw->Run(); });
  return proxy;
}

UdpImpairmentProxy::UdpImpairmentProxy(UdpEndpoint bound)
    : listen_endpoint_(bound), counters_(std::make_unique<Counters>()) {}

UdpImpairmentProxy::~UdpImpairmentProxy() { Stop(); }

void UdpImpairmentProxy::Stop() {
  if (stopped_.exchange(true)) return;
  loop_->RequestStop();
  if (thread_.joinable()) thread_.join();
  loop_.reset();  // closes the sockets, drops what was in flight
}

UdpImpairmentProxyStats UdpImpairmentProxy::stats() const {
  return {.forward = counters_->forward.Snapshot(),
          .reverse = counters_->reverse.Snapshot(),
          .clients = counters_->clients.load(std::memory_order_relaxed),
          .active_clients = counters_->active_clients.load(std::memory_order_relaxed)};
}

}  // namespace parley::net
