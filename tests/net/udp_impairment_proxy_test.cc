// The impairment proxy on real 127.0.0.1 sockets: byte-exact forwarding both ways,
// seeded loss, a delay lower bound, one upstream source per client, and clean stops.
// Timing is only ever asserted as a lower bound or a very loose upper one.
#include "parley/net/udp_impairment_proxy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace parley::net {
namespace {

using Bytes = std::vector<uint8_t>;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr auto kPatience = std::chrono::seconds(5);  // upper bound for anything to arrive

UdpEndpoint Loopback(uint16_t port = 0) { return *UdpEndpoint::Parse("127.0.0.1:" + std::to_string(port)); }

NetsimSpec Spec(const std::string& text) {
  auto spec = ParseNetsimSpec(text);
  PARLEY_CHECK_MSG(spec.ok(), spec.ok() ? "" : spec.error().message.c_str());
  return *spec;
}

// A UDP socket bound to 127.0.0.1 on a free port.
class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    PARLEY_CHECK(fd_ >= 0);
    const sockaddr_storage a = Loopback().ToSockaddr();
    PARLEY_CHECK(::bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof(sockaddr_in)) == 0);
    sockaddr_storage bound{};
    socklen_t size = sizeof(bound);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &size);
    endpoint_ = UdpEndpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&bound), size);
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  const UdpEndpoint& endpoint() const { return endpoint_; }

  void SendTo(const UdpEndpoint& to, const Bytes& bytes) {
    const sockaddr_storage a = to.ToSockaddr();
    ASSERT_EQ(::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&a),
                       to.sockaddr_size()),
              static_cast<ssize_t>(bytes.size()));
  }

  struct Datagram {
    Bytes bytes;
    UdpEndpoint from;
  };
  // The next datagram within `timeout`, if one comes.
  std::optional<Datagram> Receive(std::chrono::milliseconds timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kPatience)) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    Bytes buffer(65536);
    sockaddr_storage from{};
    socklen_t size = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &size);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<size_t>(n));
    return Datagram{std::move(buffer), UdpEndpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&from), size)};
  }

 private:
  int fd_;
  UdpEndpoint endpoint_;
};

std::unique_ptr<UdpImpairmentProxy> StartProxy(const UdpEndpoint& upstream, const std::string& forward,
                                               const std::string& reverse, uint64_t seed = 1) {
  UdpImpairmentProxyOptions options;
  options.listen = Loopback();
  options.upstream = upstream;
  options.forward = Spec(forward);
  options.reverse = Spec(reverse);
  options.seed = seed;
  auto proxy = UdpImpairmentProxy::Start(std::move(options));
  PARLEY_CHECK_MSG(proxy.ok(), proxy.ok() ? "" : proxy.error().message.c_str());
  return std::move(*proxy);
}

Bytes Payload(size_t size, uint8_t salt) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(i * 7 + salt);
  return b;
}

// Waits (bounded) until the proxy has taken in `count` datagrams in a direction.
template <typename Get>
bool WaitFor(Get get, uint64_t count) {
  const auto until = steady_clock::now() + kPatience;
  while (get() < count) {
    if (steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(UdpImpairmentProxyTest, CleanSpecForwardsByteExactBothWays) {
  Socket upstream;
  Socket client;
  auto proxy = StartProxy(upstream.endpoint(), "", "");
  EXPECT_EQ(proxy->listen_endpoint().ToString().rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(proxy->listen_endpoint().port(), 0);

  for (size_t size : {1u, 100u, 1200u, 65507u}) {
    const Bytes out = Payload(size, static_cast<uint8_t>(size));
    client.SendTo(proxy->listen_endpoint(), out);
    auto got = upstream.Receive();
    ASSERT_TRUE(got.has_value()) << size;
    EXPECT_EQ(got->bytes, out);
    EXPECT_NE(got->from, client.endpoint());  // NAT-like: the proxy's upstream socket
    EXPECT_EQ(got->from.family(), AF_INET);

    const Bytes back = Payload(size, static_cast<uint8_t>(size + 1));
    upstream.SendTo(got->from, back);
    auto reply = client.Receive();
    ASSERT_TRUE(reply.has_value()) << size;
    EXPECT_EQ(reply->bytes, back);
    EXPECT_EQ(reply->from, proxy->listen_endpoint());
  }
  // The counters move just after each send returns: wait for them, then compare.
  EXPECT_TRUE(WaitFor([&] { return proxy->stats().forward.forwarded; }, 4));
  EXPECT_TRUE(WaitFor([&] { return proxy->stats().reverse.forwarded; }, 4));
  const auto stats = proxy->stats();
  EXPECT_EQ(stats.forward.received, 4u);
  EXPECT_EQ(stats.forward.forwarded, 4u);
  EXPECT_EQ(stats.reverse.forwarded, 4u);
  EXPECT_EQ(stats.forward.lost + stats.reverse.lost, 0u);
  EXPECT_EQ(stats.clients, 1u);
}

// Loss is decided by the seeded simulator per datagram, so the count is a function of
// the seed alone, not of timing; the bounds hold for any seed with overwhelming odds.
TEST(UdpImpairmentProxyTest, HalfLossDropsAboutHalf) {
  Socket upstream;
  Socket client;
  auto proxy = StartProxy(upstream.endpoint(), "loss=50%", "", /*seed=*/7);
  constexpr int kSent = 400;
  for (int i = 0; i < kSent; ++i) {
    client.SendTo(proxy->listen_endpoint(), Payload(40, static_cast<uint8_t>(i)));
    // Let the proxy catch up every 50 so no burst outgrows the kernel's socket buffer.
    if (i % 50 == 49) {
      ASSERT_TRUE(WaitFor([&] { return proxy->stats().forward.received; }, static_cast<uint64_t>(i + 1)));
    }
  }
  ASSERT_TRUE(WaitFor([&] { auto s = proxy->stats().forward; return s.forwarded + s.lost; }, kSent));
  const auto stats = proxy->stats().forward;
  EXPECT_EQ(stats.received, static_cast<uint64_t>(kSent));
  EXPECT_GT(stats.lost, 140u);
  EXPECT_LT(stats.lost, 260u);
  int arrived = 0;
  while (upstream.Receive(std::chrono::milliseconds(200))) ++arrived;
  EXPECT_EQ(static_cast<uint64_t>(arrived), stats.forwarded);
}

TEST(UdpImpairmentProxyTest, SameSeedLosesTheSameCount) {
  auto run = [](uint64_t seed) {
    Socket upstream;
    Socket client;
    auto proxy = StartProxy(upstream.endpoint(), "loss=30%", "", seed);
    for (int i = 0; i < 100; ++i) client.SendTo(proxy->listen_endpoint(), Payload(20, 1));
    EXPECT_TRUE(WaitFor([&] { auto s = proxy->stats().forward; return s.forwarded + s.lost; }, 100));
    return proxy->stats().forward.lost;
  };
  EXPECT_EQ(run(42), run(42));
}

TEST(UdpImpairmentProxyTest, DelayHoldsEachDatagramAtLeastThatLong) {
  Socket upstream;
  Socket client;
  auto proxy = StartProxy(upstream.endpoint(), "delay=50ms", "delay=30ms");
  const auto sent = steady_clock::now();
  client.SendTo(proxy->listen_endpoint(), Payload(10, 1));
  auto got = upstream.Receive();
  const auto arrived = steady_clock::now();
  ASSERT_TRUE(got.has_value());
  EXPECT_GE(arrived - sent, std::chrono::milliseconds(50));
  EXPECT_LT(arrived - sent, kPatience);

  const auto replied = steady_clock::now();
  upstream.SendTo(got->from, Payload(10, 2));
  auto reply = client.Receive();
  ASSERT_TRUE(reply.has_value());
  EXPECT_GE(steady_clock::now() - replied, std::chrono::milliseconds(30));
}

TEST(UdpImpairmentProxyTest, TwoClientsGetDistinctUpstreamSourcesAndTheirOwnReplies) {
  Socket upstream;
  Socket alice;
  Socket bob;
  auto proxy = StartProxy(upstream.endpoint(), "", "");
  alice.SendTo(proxy->listen_endpoint(), {'a'});
  auto from_alice = upstream.Receive();
  bob.SendTo(proxy->listen_endpoint(), {'b'});
  auto from_bob = upstream.Receive();
  ASSERT_TRUE(from_alice && from_bob);
  EXPECT_EQ(from_alice->bytes, Bytes{'a'});
  EXPECT_EQ(from_bob->bytes, Bytes{'b'});
  EXPECT_NE(from_alice->from.port(), from_bob->from.port());

  // A second datagram from alice keeps her mapping.
  alice.SendTo(proxy->listen_endpoint(), {'A'});
  auto again = upstream.Receive();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->from, from_alice->from);

  upstream.SendTo(from_bob->from, {'B'});
  upstream.SendTo(from_alice->from, {'Z'});
  auto to_bob = bob.Receive();
  auto to_alice = alice.Receive();
  ASSERT_TRUE(to_bob && to_alice);
  EXPECT_EQ(to_bob->bytes, Bytes{'B'});
  EXPECT_EQ(to_alice->bytes, Bytes{'Z'});
  EXPECT_EQ(proxy->stats().clients, 2u);
  EXPECT_EQ(proxy->stats().active_clients, 2u);
}

TEST(UdpImpairmentProxyTest, StopsPromptlyWithDatagramsInFlightAndFreesThePort) {
  Socket upstream;
  Socket client;
  auto proxy = StartProxy(upstream.endpoint(), "delay=10s", "");
  const UdpEndpoint listen = proxy->listen_endpoint();
  client.SendTo(listen, Payload(10, 1));
  ASSERT_TRUE(WaitFor([&] { return proxy->stats().forward.received; }, 1));
  const auto before = steady_clock::now();
  proxy->Stop();
  EXPECT_LT(steady_clock::now() - before, std::chrono::seconds(2));
  proxy->Stop();  // idempotent
  EXPECT_EQ(proxy->stats().forward.forwarded, 0u);  // stats outlive the loop
  proxy.reset();
  EXPECT_FALSE(upstream.Receive(std::chrono::milliseconds(50)).has_value());

  // The port is free again: a new proxy can listen on it.
  UdpImpairmentProxyOptions options;
  options.listen = listen;
  options.upstream = upstream.endpoint();
  auto again = UdpImpairmentProxy::Start(std::move(options));
  ASSERT_TRUE(again.ok()) << again.error().message;
}

TEST(UdpImpairmentProxyTest, ClearErrorsForUnusableAddresses) {
  Socket taken;
  UdpImpairmentProxyOptions busy;
  busy.listen = taken.endpoint();
  busy.upstream = Loopback(9);
  auto r = UdpImpairmentProxy::Start(busy);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("cannot listen on " + taken.endpoint().ToString()));
  EXPECT_THAT(r.error().message, HasSubstr("choose another --listen"));

  UdpImpairmentProxyOptions no_port;
  no_port.listen = Loopback();
  no_port.upstream = Loopback(0);
  auto p = UdpImpairmentProxy::Start(no_port);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.error().message, HasSubstr("real port"));

  UdpImpairmentProxyOptions missing;
  auto m = UdpImpairmentProxy::Start(missing);
  ASSERT_FALSE(m.ok());
}

}  // namespace
}  // namespace parley::net
