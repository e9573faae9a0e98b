// parleyd's UDP relay socket loop: poll, recvmmsg a batch, tell binds (one SipHash)
// from data, decide each datagram with the session table, sendmmsg what goes out.
#include "parley/server/udp_relay.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "parley/base/check.h"
#include "parley/net/relay_framing.h"
#include "parley/server/relay_ticket.h"

namespace parley::server {
namespace {

constexpr int kBatch = 64;
// Larger than any valid datagram, so a truncated read (MSG_TRUNC) is always invalid.
constexpr std::size_t kSlotSize = 2048;
static_assert(kSlotSize > net::kMaxRelayDatagramSize);
// At most this many full batches are handled before the stop fd is looked at again.
constexpr int kMaxBatchesPerWake = 16;
// Each received datagram makes at most two: an ack and a forwarded packet.
constexpr int kMaxOut = 2 * kBatch;

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ErrnoText(int error) { return std::strerror(error); }

// The ack's size: a padding bucket from 96 up to the bind's own size (never larger:
// no amplification), chosen at random so acks have no one size.
std::size_t AckSize(std::size_t bind_size) {
  std::size_t choices[crypto::kPaddingBuckets.size()];
  std::size_t count = 0;
  for (std::size_t bucket : crypto::kPaddingBuckets) {
    if (bucket >= net::kRelayAckMinSize && bucket <= bind_size && bucket <= 256) choices[count++] = bucket;
  }
  PARLEY_CHECK(count > 0);
  return choices[randombytes_uniform(static_cast<uint32_t>(count))];
}

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
        bind_keys(std::span<const uint8_t, 32>(issuer.bind_key())),
        table(LimitsOf(config), std::move(rules)) {}

  static RelayLimits LimitsOf(const RelayConfig& config) {
    RelayLimits limits{config.idle_timeout, config.packets_per_second, config.burst_packets,
                       config.bytes_per_second, config.burst_bytes, config.max_calls};
    // Freshness must be shorter than the idle expiry (a forgotten call forgets its
    // last bind times); 30 s with the default 60 s, less only in tests.
    limits.bind_freshness = std::min<Duration>(limits.bind_freshness, config.idle_timeout / 2);
    return limits;
  }

  struct Outgoing {
    std::array<sockaddr_storage, kMaxOut> destinations;
    std::array<iovec, kMaxOut> iov;
    std::array<mmsghdr, kMaxOut> messages;
    std::array<bool, kMaxOut> is_ack;  // counted as acks, not as forwarded packets
    int count = 0;
  };

  RelayTicketIssuer issuer;
  net::RelayBindKeys bind_keys;
  RelaySessionTable table;
  std::array<std::array<uint8_t, kSlotSize>, kBatch> buffers;
  // A bind's opened box (its sealed payload is sent from here) and its ack, per slot.
  std::array<std::array<uint8_t, net::kMaxRelayDatagramSize>, kBatch> opened;
  std::array<std::array<uint8_t, net::kMaxRelayDatagramSize>, kBatch> acks;
  std::array<sockaddr_storage, kBatch> sources;
  std::array<iovec, kBatch> in_iov;
  std::array<mmsghdr, kBatch> in;
  std::array<Outgoing, kRelaySocketCount> out;
  // Counters of this thread, published to the UdpRelay atomics after each batch.
  uint64_t received = 0, forwarded = 0, binds = 0, acks_sent = 0;
  std::array<uint64_t, kRelayDropReasonCount> dropped{};
};

UdpRelay::UdpRelay(RelayConfig config) : config_(std::move(config)) {}

UdpRelay::~UdpRelay() { Stop(); }

namespace {

// A non-blocking UDP socket bound to `host`; the family follows the address.
Result<int> BindUdp(const RelayAddress& host, int* family) {
  // An IPv4 bind address gets an AF_INET socket; anything else a dual-stack AF_INET6 one.
  *family = host.is_ipv4() ? AF_INET : AF_INET6;
  const int fd = ::socket(*family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{"The relay could not create a UDP socket: " + ErrnoText(errno) + "."};
  if (*family == AF_INET6) {
    const int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  // Room for bursts while the thread is busy; the kernel caps it at rmem_max.
  const int buffer_bytes = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  sockaddr_storage address;
  const socklen_t size = host.ToSockaddr(*family, &address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0) {
    const int error = errno;
    ::close(fd);
    return Error{"The relay could not bind UDP " + host.ToString() + ": " + ErrnoText(error) +
                 "; choose another relay port or stop the program using it."};
  }
  return fd;
}

uint16_t BoundPort(int fd) {
  sockaddr_storage address;
  socklen_t size = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  return RelayAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&address), size)->port();
}

}  // namespace

Status UdpRelay::Start() {
  PARLEY_CHECK_MSG(sockets_[0] < 0, "UdpRelay::Start called twice");
  auto host = RelayAddress::Parse(config_.bind_host, config_.port);
  if (!host) {
    return Error{"The relay bind address \"" + config_.bind_host +
                 "\" is not a numeric IPv4 or IPv6 address; use e.g. \"::\" or \"0.0.0.0\"."};
  }
  auto public_socket = BindUdp(*host, &families_[0]);
  if (!public_socket) return public_socket.error();
  sockets_[0] = *public_socket;
  bound_port_ = BoundPort(sockets_[0]);
  if (config_.bridge) {
    auto bridge = BindUdp(RelayAddress::FromIpv4(0x7f000001, 0), &families_[1]);
    if (!bridge) {
      Stop();
      return Error{"The relay's bridge socket: " + bridge.error().message};
    }
    sockets_[1] = *bridge;
    bridge_port_ = BoundPort(sockets_[1]);
  }

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
  for (int& fd : sockets_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  stop_fd_ = -1;
}

RelayStats UdpRelay::stats() const {
  RelayStats stats;
  stats.received = received_.load(std::memory_order_relaxed);
  stats.forwarded = forwarded_.load(std::memory_order_relaxed);
  stats.binds = binds_.load(std::memory_order_relaxed);
  stats.acks = acks_.load(std::memory_order_relaxed);
  stats.calls = calls_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kRelayDropReasonCount; ++i) stats.dropped[i] = dropped_[i].load(std::memory_order_relaxed);
  return stats;
}

bool UdpRelay::HandleBatch(Loop& loop, RelaySocket socket) {
  const int fd = sockets_[static_cast<std::size_t>(socket)];
  for (int i = 0; i < kBatch; ++i) {
    loop.in[i].msg_hdr = {};
    loop.in[i].msg_hdr.msg_name = &loop.sources[i];
    loop.in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    loop.in[i].msg_hdr.msg_iov = &loop.in_iov[i];
    loop.in[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = ::recvmmsg(fd, loop.in.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return false;  // EAGAIN (drained), or a transient error: back to poll
  const TimePoint now = std::chrono::steady_clock::now();
  int64_t now_unix_ms = 0;  // read once per batch, and only if a bind needs it
  for (auto& out : loop.out) out.count = 0;
  auto drop = [&](RelayDropReason reason) { ++loop.dropped[static_cast<std::size_t>(reason)]; };
  auto queue = [&](const RelaySource& to, const uint8_t* data, std::size_t size, bool is_ack) {
    Loop::Outgoing& out = loop.out[static_cast<std::size_t>(to.socket)];
    const socklen_t to_size =
        to.address.ToSockaddr(families_[static_cast<std::size_t>(to.socket)], &out.destinations[out.count]);
    if (to_size == 0) {
      drop(RelayDropReason::kRefusedAddress);
      return;
    }
    out.iov[out.count] = {const_cast<uint8_t*>(data), size};
    out.messages[out.count].msg_hdr = {};
    out.messages[out.count].msg_hdr.msg_name = &out.destinations[out.count];
    out.messages[out.count].msg_hdr.msg_namelen = to_size;
    out.messages[out.count].msg_hdr.msg_iov = &out.iov[out.count];
    out.messages[out.count].msg_hdr.msg_iovlen = 1;
    out.is_ack[out.count] = is_ack;
    ++out.count;
  };

  for (int i = 0; i < n; ++i) {
    ++loop.received;
    const msghdr& header = loop.in[i].msg_hdr;
    const std::span<const uint8_t> datagram(loop.buffers[i].data(), loop.in[i].msg_len);
    if ((header.msg_flags & MSG_TRUNC) != 0 || datagram.size() < crypto::kMinSealedSize ||
        datagram.size() > net::kMaxRelayDatagramSize) {
      drop(RelayDropReason::kMalformed);
      continue;
    }
    const auto address =
        RelayAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&loop.sources[i]), header.msg_namelen);
    if (!address) {
      drop(RelayDropReason::kRefusedAddress);
      continue;
    }
    const RelaySource from{*address, socket};
    if (!net::HasRelayBindMark(loop.bind_keys, datagram)) {
      // Data: the sealed packet itself, forwarded whole from the receive buffer.
      const RelayDecision decision = loop.table.OnData(from, datagram.size(), now);
      if (decision.action == RelayDecision::Action::kDrop) {
        drop(decision.reason);
      } else {
        queue(decision.to, datagram.data(), datagram.size(), false);
      }
      continue;
    }
    // A bind: the ticket, then the box under the ticket's hop key.
    const auto ticket = net::UnmaskRelayTicket(loop.bind_keys, datagram);
    if (now_unix_ms == 0) now_unix_ms = UnixNowMs();
    auto claims = loop.issuer.Verify(ticket, now_unix_ms / 1000);
    if (!claims.ok()) {
      // Expiry is told apart for operators by Verify's message (the only one that
      // says "expired"), so a forged ticket costs one AEAD open, not two.
      drop(claims.error().message.find("expired") != std::string::npos ? RelayDropReason::kExpiredTicket
                                                                       : RelayDropReason::kBadTicket);
      continue;
    }
    const crypto::Secret<32> hop_key = loop.issuer.HopKey(ticket);
    auto contents = net::OpenRelayBind(hop_key, ticket, datagram, loop.opened[i]);
    if (!contents.ok()) {
      drop(RelayDropReason::kBadBind);
      continue;
    }
    const RelayDecision decision =
        loop.table.OnBind(*claims, contents->elapsed_ms, from, contents->sealed.size(), now, now_unix_ms);
    if (decision.bound) ++loop.binds;
    if (decision.ack) {
      net::RelayAckContents ack;
      ack.elapsed_ms = decision.ack_elapsed_ms;
      ack.ip = address->ip();
      ack.port = address->port();
      const std::size_t ack_size = AckSize(datagram.size());
      const auto nonce = net::DrawRelayNonce(
          ack_size, [](std::span<uint8_t> bytes) { randombytes_buf(bytes.data(), bytes.size()); });
      net::WriteRelayAck(hop_key, nonce, ack, std::span<uint8_t>(loop.acks[i].data(), ack_size));
      queue(from, loop.acks[i].data(), ack_size, true);
    }
    if (decision.action == RelayDecision::Action::kDrop) {
      drop(decision.reason);
    } else if (decision.action == RelayDecision::Action::kForward) {
      queue(decision.to, contents->sealed.data(), contents->sealed.size(), false);
    }
  }

  for (std::size_t s = 0; s < kRelaySocketCount; ++s) {
    Loop::Outgoing& out = loop.out[s];
    int sent = 0;
    while (sent < out.count) {
      const int r = ::sendmmsg(sockets_[s], out.messages.data() + sent, out.count - sent, 0);
      if (r > 0) {
        for (int k = sent; k < sent + r; ++k) ++(out.is_ack[k] ? loop.acks_sent : loop.forwarded);
        sent += r;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else {
        // The first unsent packet failed (buffer full, peer port unreachable): skip it.
        drop(RelayDropReason::kSendFailed);
        ++sent;
      }
    }
  }
  return n == kBatch;
}

void UdpRelay::Run(Loop& loop) {
  for (int i = 0; i < kBatch; ++i) loop.in_iov[i] = {loop.buffers[i].data(), kSlotSize};
  // Sweep idle sessions often enough that expiry is at most a quarter late.
  const Duration sweep_every = std::min<Duration>(seconds(1), config_.idle_timeout / 4);
  TimePoint next_sweep = std::chrono::steady_clock::now() + sweep_every;
  pollfd fds[3] = {{stop_fd_, POLLIN, 0}, {sockets_[0], POLLIN, 0}, {sockets_[1], POLLIN, 0}};
  const nfds_t fd_count = sockets_[1] >= 0 ? 3 : 2;

  auto publish = [&] {
    received_.store(loop.received, std::memory_order_relaxed);
    forwarded_.store(loop.forwarded, std::memory_order_relaxed);
    binds_.store(loop.binds, std::memory_order_relaxed);
    acks_.store(loop.acks_sent, std::memory_order_relaxed);
    calls_.store(loop.table.call_count(), std::memory_order_relaxed);
    for (std::size_t i = 0; i < kRelayDropReasonCount; ++i) dropped_[i].store(loop.dropped[i], std::memory_order_relaxed);
  };

  for (;;) {
    const auto wait = std::chrono::duration_cast<milliseconds>(next_sweep - std::chrono::steady_clock::now());
    const int rc = ::poll(fds, fd_count, std::max<int>(0, static_cast<int>(wait.count()) + 1));
    if (rc < 0 && errno != EINTR) PARLEY_CHECK_MSG(false, "poll failed in the relay loop");
    if (fds[0].revents != 0) break;
    const TimePoint now = std::chrono::steady_clock::now();
    if (now >= next_sweep) {
      loop.table.ExpireIdle(now);
      next_sweep = now + sweep_every;
      publish();
    }
    for (std::size_t s = 0; s < kRelaySocketCount; ++s) {
      if (sockets_[s] < 0 || (fds[1 + s].revents & POLLIN) == 0) continue;
      for (int round = 0; round < kMaxBatchesPerWake; ++round) {
        if (!HandleBatch(loop, static_cast<RelaySocket>(s))) break;  // drained for now
      }
    }
    publish();
  }
  publish();
}

}  // namespace parley::server
