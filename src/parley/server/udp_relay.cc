// parleyd's UDP relay socket loop: poll, recvmmsg a batch, decide each packet with the
// session table, sendmmsg the forwarded payloads.
#include "parley/server/udp_relay.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "parley/base/check.h"
#include "parley/net/relay_packet.h"
#include "parley/server/relay_ticket.h"

namespace parley::server {
namespace {

constexpr int kBatch = 64;
// Larger than any valid packet, so a truncated read (MSG_TRUNC) is always invalid.
constexpr std::size_t kSlotSize = 2048;
static_assert(kSlotSize > kMaxRelayPacketSize);
// At most this many full batches are handled before the stop fd is looked at again.
constexpr int kMaxBatchesPerWake = 16;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ErrnoText(int error) { return std::strerror(error); }

}  // namespace

uint64_t RelayStats::dropped_total() const {
  uint64_t total = 0;
  for (uint64_t d : dropped) total += d;
  return total;
}

// Everything the relay thread owns. Allocated once at Start; never shared.
struct UdpRelay::Loop {
  Loop(const RelayConfig& config, RelayAddressRules rules)
      : issuer(std::span<const uint8_t, 32>(config.ticket_key)),
        table(RelayLimits{config.idle_timeout, config.packets_per_second, config.burst_packets,
                          config.bytes_per_second, config.burst_bytes, config.max_calls},
              std::move(rules)) {}

  RelayTicketIssuer issuer;
  RelaySessionTable table;
  std::array<std::array<uint8_t, kSlotSize>, kBatch> buffers;
  std::array<sockaddr_storage, kBatch> sources;
  std::array<iovec, kBatch> in_iov;
  std::array<mmsghdr, kBatch> in;
  std::array<sockaddr_storage, kBatch> destinations;
  std::array<iovec, kBatch> out_iov;
  std::array<mmsghdr, kBatch> out;
  // Counters of this thread, published to the UdpRelay atomics after each batch.
  uint64_t received = 0, forwarded = 0, binds = 0;
  std::array<uint64_t, kRelayDropReasonCount> dropped{};
};

UdpRelay::UdpRelay(RelayConfig config) : config_(std::move(config)) {}

UdpRelay::~UdpRelay() { Stop(); }

Status UdpRelay::Start() {
  PARLEY_CHECK_MSG(socket_ < 0, "UdpRelay::Start called twice");
  auto host = RelayAddress::Parse(config_.bind_host, config_.port);
  if (!host) {
    return Error{"The relay bind address \"" + config_.bind_host +
                 "\" is not a numeric IPv4 or IPv6 address; use e.g. \"::\" or \"0.0.0.0\"."};
  }
  // An IPv4 bind address gets an AF_INET socket; anything else a dual-stack AF_INET6 one.
  socket_family_ = host->is_ipv4() ? AF_INET : AF_INET6;
  socket_ = ::socket(socket_family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (socket_ < 0) return Error{"The relay could not create a UDP socket: " + ErrnoText(errno) + "."};
  if (socket_family_ == AF_INET6) {
    const int off = 0;
    ::setsockopt(socket_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  // Room for bursts while the thread is busy; the kernel caps it at rmem_max.
  const int buffer_bytes = 4 << 20;
  ::setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
  ::setsockopt(socket_, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  sockaddr_storage address;
  const socklen_t size = host->ToSockaddr(socket_family_, &address);
  if (::bind(socket_, reinterpret_cast<sockaddr*>(&address), size) != 0) {
    const int error = errno;
    ::close(socket_);
    socket_ = -1;
    return Error{"The relay could not bind UDP " + host->ToString() + ": " + ErrnoText(error) +
                 "; choose another relay port or stop the program using it."};
  }
  socklen_t bound_size = sizeof(address);
  ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &bound_size);
  bound_port_ = RelayAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&address), bound_size)->port();

  RelayAddressRules rules;
  rules.allow_loopback = config_.allow_loopback;
  for (const std::string& own : config_.own_addresses) {
    auto parsed = RelayAddress::Parse(own, 0);
    if (!parsed) {
      Stop();
      return Error{"The relay's own address \"" + own + "\" is not a numeric IPv4 or IPv6 address."};
    }
    rules.own_addresses.push_back(*parsed);
  }
  if (!host->IsUnspecified()) rules.own_addresses.push_back(*host);

  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    Stop();
    return Error{"The relay could not create its stop eventfd: " + ErrnoText(errno) + "."};
  }
  auto loop = std::make_shared<Loop>(config_, std::move(rules));
  thread_ = std::thread([this, loop] { Run(*loop); });
  return Ok{};
}

void UdpRelay::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    PARLEY_CHECK(::write(stop_fd_, &one, sizeof(one)) == sizeof(one));
    thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (socket_ >= 0) ::close(socket_);
  stop_fd_ = -1;
  socket_ = -1;
}

RelayStats UdpRelay::stats() const {
  RelayStats stats;
  stats.received = received_.load(std::memory_order_relaxed);
  stats.forwarded = forwarded_.load(std::memory_order_relaxed);
  stats.binds = binds_.load(std::memory_order_relaxed);
  stats.calls = calls_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kRelayDropReasonCount; ++i) stats.dropped[i] = dropped_[i].load(std::memory_order_relaxed);
  return stats;
}

void UdpRelay::Run(Loop& loop) {
  for (int i = 0; i < kBatch; ++i) {
    loop.in_iov[i] = {loop.buffers[i].data(), kSlotSize};
    loop.out_iov[i] = {nullptr, 0};
  }
  // Sweep idle sessions often enough that expiry is at most a quarter late.
  const Duration sweep_every = std::min<Duration>(seconds(1), config_.idle_timeout / 4);
  TimePoint next_sweep = std::chrono::steady_clock::now() + sweep_every;
  pollfd fds[2] = {{socket_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};

  auto publish = [&] {
    received_.store(loop.received, std::memory_order_relaxed);
    forwarded_.store(loop.forwarded, std::memory_order_relaxed);
    binds_.store(loop.binds, std::memory_order_relaxed);
    calls_.store(loop.table.call_count(), std::memory_order_relaxed);
    for (std::size_t i = 0; i < kRelayDropReasonCount; ++i) dropped_[i].store(loop.dropped[i], std::memory_order_relaxed);
  };
  auto drop = [&](RelayDropReason reason) { ++loop.dropped[static_cast<std::size_t>(reason)]; };

  for (;;) {
    const auto wait = std::chrono::duration_cast<milliseconds>(next_sweep - std::chrono::steady_clock::now());
    const int rc = ::poll(fds, 2, std::max<int>(0, static_cast<int>(wait.count()) + 1));
    if (rc < 0 && errno != EINTR) PARLEY_CHECK_MSG(false, "poll failed in the relay loop");
    if (fds[1].revents != 0) break;
    TimePoint now = std::chrono::steady_clock::now();
    if (now >= next_sweep) {
      loop.table.ExpireIdle(now);
      next_sweep = now + sweep_every;
      publish();
    }
    if ((fds[0].revents & POLLIN) == 0) continue;

    for (int round = 0; round < kMaxBatchesPerWake; ++round) {
      for (int i = 0; i < kBatch; ++i) {
        loop.in[i].msg_hdr = {};
        loop.in[i].msg_hdr.msg_name = &loop.sources[i];
        loop.in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        loop.in[i].msg_hdr.msg_iov = &loop.in_iov[i];
        loop.in[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = ::recvmmsg(socket_, loop.in.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;  // EAGAIN (drained), or a transient error: back to poll
      now = std::chrono::steady_clock::now();
      int out_count = 0;
      for (int i = 0; i < n; ++i) {
        ++loop.received;
        const msghdr& header = loop.in[i].msg_hdr;
        if ((header.msg_flags & MSG_TRUNC) != 0) {
          drop(RelayDropReason::kMalformed);
          continue;
        }
        auto parsed = ParseRelayPacket(std::span<const uint8_t>(loop.buffers[i].data(), loop.in[i].msg_len));
        if (!parsed.ok()) {
          drop(RelayDropReason::kMalformed);
          continue;
        }
        const auto from = RelayAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&loop.sources[i]),
                                                     header.msg_namelen);
        if (!from) {
          drop(RelayDropReason::kRefusedAddress);
          continue;
        }
        const RelayPacketView& packet = *parsed;
        RelayDecision decision;
        if (packet.kind == RelayPacketKind::kData) {
          decision = loop.table.OnData(packet.token, *from, packet.sealed.size(), now);
        } else {
          auto claims = loop.issuer.Verify(packet.ticket, UnixNow());
          if (!claims.ok()) {
            // Expiry is told apart for operators by Verify's message (the only one
            // that says "expired"), so a forged ticket costs one AEAD open, not two.
            drop(claims.error().message.find("expired") != std::string::npos ? RelayDropReason::kExpiredTicket
                                                                             : RelayDropReason::kBadTicket);
            continue;
          }
          decision = loop.table.OnBind(*claims, SessionTokenFor(packet.ticket), *from, packet.sealed.size(), now);
          if (decision.bound) ++loop.binds;
        }
        if (decision.action == RelayDecision::Action::kDrop) {
          drop(decision.reason);
          continue;
        }
        if (decision.action != RelayDecision::Action::kForward) continue;
        const socklen_t to_size = decision.to.ToSockaddr(socket_family_, &loop.destinations[out_count]);
        if (to_size == 0) {
          drop(RelayDropReason::kRefusedAddress);
          continue;
        }
        // The sealed payload is sent straight from the receive buffer: no copy.
        loop.out_iov[out_count] = {const_cast<uint8_t*>(packet.sealed.data()), packet.sealed.size()};
        loop.out[out_count].msg_hdr = {};
        loop.out[out_count].msg_hdr.msg_name = &loop.destinations[out_count];
        loop.out[out_count].msg_hdr.msg_namelen = to_size;
        loop.out[out_count].msg_hdr.msg_iov = &loop.out_iov[out_count];
        loop.out[out_count].msg_hdr.msg_iovlen = 1;
        ++out_count;
      }
      int sent = 0;
      while (sent < out_count) {
        const int r = ::sendmmsg(socket_, loop.out.data() + sent, out_count - sent, 0);
        if (r > 0) {
          sent += r;
          loop.forwarded += static_cast<uint64_t>(r);
        } else if (r < 0 && errno == EINTR) {
          continue;
        } else {
          // The first unsent packet failed (buffer full, peer port unreachable): skip it.
          drop(RelayDropReason::kSendFailed);
          ++sent;
        }
      }
      if (n < kBatch) break;  // drained for now; poll tells when more arrives
    }
    publish();
  }
  publish();
}

}  // namespace parley::server
