// Abuse of a real UdpRelay on 127.0.0.1 (issue #7): 10,000 random, replayed and
// truncated datagrams at each of its ports get zero bytes back and reach no one; a
// ticket flooding at 100x a voice call's rate is held at its cap while a parallel
// call's loss does not rise; special addresses are refused wherever they enter.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <thread>

#include "parley/net/candidate_address.h"
#include "parley/net/relay_framing.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/udp_relay.h"

namespace parley::server {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::array<uint8_t, 32> kKey = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16,
                                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
constexpr int kAbusePerPort = 10'000;

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A UDP socket on 127.0.0.1:ephemeral that sends to one relay port and counts what it hears.
class Socket {
 public:
  explicit Socket(uint16_t relay_port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    PARLEY_CHECK(fd_ >= 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PARLEY_CHECK(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0);
    // Room for a whole measured run, so the test's own socket never drops.
    const int buffer = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    relay_.sin_family = AF_INET;
    relay_.sin_port = htons(relay_port);
    relay_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  uint16_t port() const {
    sockaddr_in local{};
    socklen_t size = sizeof(local);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &size);
    return ntohs(local.sin_port);
  }
  void Send(std::span<const uint8_t> datagram) {
    ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&relay_), sizeof(relay_));
  }
  std::optional<std::vector<uint8_t>> Receive(milliseconds wait) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
    std::vector<uint8_t> buffer(2048);
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
  }
  // Datagrams and bytes that arrive until the socket has been quiet for `quiet`.
  std::pair<int, std::size_t> Drain(milliseconds quiet = milliseconds(200)) {
    int datagrams = 0;
    std::size_t bytes = 0;
    while (auto d = Receive(quiet)) {
      ++datagrams;
      bytes += d->size();
    }
    return {datagrams, bytes};
  }

 private:
  int fd_ = -1;
  sockaddr_in relay_{};
};

struct HeldTicket {
  std::vector<uint8_t> bytes;
  int64_t issued_unix_ms;
  crypto::Secret<32> hop_key;
};

class RelayAbuseTest : public ::testing::Test {
 protected:
  void StartRelay(RelayConfig config = {}) {
    config.bind_host = "127.0.0.1";
    config.port = 0;
    config.ticket_key = kKey;
    config.allow_loopback = true;
    config.bridge = true;
    relay_.emplace(config);
    auto started = relay_->Start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  HeldTicket Hold(uint8_t call, uint8_t participant) {
    RelayTicketClaims claims{};
    claims.call_id.fill(call);
    claims.participant = participant;
    claims.expires_unix_s = UnixNowMs() / 1000 + 3600;
    claims.issued_unix_ms = UnixNowMs();
    auto bytes = issuer_.Issue(claims);
    auto hop_key = issuer_.HopKey(bytes);
    return HeldTicket{std::move(bytes), claims.issued_unix_ms, std::move(hop_key)};
  }
  std::vector<uint8_t> MakeBind(const HeldTicket& ticket, const std::vector<uint8_t>& sealed) {
    const uint64_t elapsed = static_cast<uint64_t>(UnixNowMs() - ticket.issued_unix_ms) + ++bind_count_;
    std::array<uint8_t, net::kRelayNonceSize> nonce;
    randombytes_buf(nonce.data(), nonce.size());
    std::vector<uint8_t> datagram(net::RelayBindSize(sealed.size()));
    net::WriteRelayBind(bind_keys_, std::span<const uint8_t, net::kRelayTicketSize>(ticket.bytes.data(), net::kRelayTicketSize),
                        ticket.hop_key, nonce, elapsed, sealed, datagram);
    return datagram;
  }
  // Binds a and b as the two participants of `call`; each must get its ack.
  void BindPair(Socket& a, Socket& b, uint8_t call, std::vector<std::vector<uint8_t>>* captured = nullptr) {
    for (auto [socket, participant] : {std::pair<Socket*, uint8_t>{&a, 0}, {&b, 1}}) {
      const auto bind = MakeBind(Hold(call, participant), Payload(participant, 120));
      socket->Send(bind);
      ASSERT_TRUE(socket->Receive(milliseconds(2000))) << "no ack";
      if (captured) captured->push_back(bind);
    }
    a.Drain(milliseconds(50));  // b's bind payload, forwarded to a
  }
  void WaitReceived(uint64_t n) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (relay_->stats().received < n && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(2));
  }
  static std::vector<uint8_t> Payload(uint32_t seed, std::size_t size) {
    std::vector<uint8_t> p(size);
    for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>(seed * 131 + i * 7);
    p[0] = static_cast<uint8_t>(seed);
    p[1] = static_cast<uint8_t>(seed >> 8);
    return p;
  }

  RelayTicketIssuer issuer_{std::span<const uint8_t, 32>(kKey)};
  net::RelayBindKeys bind_keys_{std::span<const uint8_t, 32>(issuer_.bind_key())};
  uint64_t bind_count_ = 0;
  std::optional<UdpRelay> relay_;
};

// The abuse mix: uniformly random bytes (0..1500 long), random bytes with the
// obfuscated first byte, replays of captured binds and data, every truncation of a
// captured bind, single-bit flips of one, and datagrams carrying a "trap" socket's
// address in every encoding a parser could take it from.
std::vector<std::vector<uint8_t>> AbuseMix(const std::vector<std::vector<uint8_t>>& captured, uint16_t trap_port,
                                           uint32_t seed) {
  std::mt19937 random(seed);
  auto byte = [&] { return static_cast<uint8_t>(random()); };
  const std::array<uint8_t, 6> trap_v4 = {127, 0, 0, 1, static_cast<uint8_t>(trap_port >> 8),
                                          static_cast<uint8_t>(trap_port)};
  std::array<uint8_t, 18> trap_mapped{};
  trap_mapped[10] = trap_mapped[11] = 0xFF;
  std::copy(trap_v4.begin(), trap_v4.end(), trap_mapped.begin() + 12);
  const std::string trap_text = "127.0.0.1:" + std::to_string(trap_port);

  std::vector<std::vector<uint8_t>> mix;
  mix.reserve(kAbusePerPort);
  for (const auto& bind : captured) {
    for (std::size_t n = 0; n < bind.size() && mix.size() < kAbusePerPort / 4; ++n) {
      mix.emplace_back(bind.begin(), bind.begin() + static_cast<std::ptrdiff_t>(n));  // truncated
    }
  }
  while (mix.size() < kAbusePerPort) {
    const int kind = static_cast<int>(random() % 6);
    std::vector<uint8_t> d;
    if (kind == 0 || kind == 1) {
      d.resize(random() % 1501);
      for (auto& b : d) b = byte();
      if (kind == 1 && !d.empty()) d[0] = static_cast<uint8_t>(net::kFirstByteFixedBits | (d[0] & net::kFirstByteRandomMask));
    } else if (kind == 2) {
      d = captured[random() % captured.size()];  // replayed bind
    } else if (kind == 3) {
      d = captured[random() % captured.size()];
      d[random() % d.size()] ^= static_cast<uint8_t>(1u << (random() % 8));  // one bit flipped
    } else if (kind == 4) {
      d = captured[random() % captured.size()];
      d.resize(d.size() + 1 + random() % 64, byte());  // extended
    } else {
      d.resize(40 + random() % 200);
      for (auto& b : d) b = byte();
      const std::size_t at = random() % (d.size() - trap_mapped.size());
      switch (random() % 3) {
        case 0: std::copy(trap_v4.begin(), trap_v4.end(), d.begin() + static_cast<std::ptrdiff_t>(at)); break;
        case 1: std::copy(trap_mapped.begin(), trap_mapped.end(), d.begin() + static_cast<std::ptrdiff_t>(at)); break;
        default: std::copy(trap_text.begin(), trap_text.end(), d.begin() + static_cast<std::ptrdiff_t>(at % (d.size() - trap_text.size()))); break;
      }
    }
    mix.push_back(std::move(d));
  }
  return mix;
}

TEST_F(RelayAbuseTest, TenThousandRandomReplayedAndTruncatedDatagramsPerPortGetZeroBytesBack) {
  StartRelay();
  Socket a(relay_->bound_port()), b(relay_->bound_port());
  std::vector<std::vector<uint8_t>> captured;
  BindPair(a, b, 1, &captured);
  // Real data of the call, captured to be replayed from elsewhere.
  a.Send(Payload(500, 200));
  ASSERT_TRUE(b.Receive(milliseconds(2000)));
  captured.push_back(Payload(500, 200));
  Socket trap(relay_->bound_port());

  uint64_t sent = 3;  // two binds and one data datagram
  WaitReceived(sent);
  const uint64_t forwarded_before = relay_->stats().forwarded;
  int attacker_datagrams = 0;
  std::size_t attacker_bytes = 0;
  uint32_t seed = 1;
  for (uint16_t port : {relay_->bound_port(), relay_->bridge_port()}) {
    Socket attacker(port);
    const auto mix = AbuseMix(captured, trap.port(), seed++);
    for (std::size_t i = 0; i < mix.size(); ++i) {
      attacker.Send(mix[i]);
      // Paced so that the relay's (and loopback's) buffers never drop anything: every
      // datagram must be seen and judged by the relay.
      if (i % 200 == 199) WaitReceived(sent + i + 1);
    }
    sent += mix.size();
    WaitReceived(sent);
    ASSERT_EQ(relay_->stats().received, sent) << "the relay did not see every abusive datagram";
    const auto [datagrams, bytes] = attacker.Drain();
    attacker_datagrams += datagrams;
    attacker_bytes += bytes;
  }
  EXPECT_EQ(attacker_datagrams, 0);
  EXPECT_EQ(attacker_bytes, 0u) << "the relay answered an abusive datagram";
  EXPECT_EQ(trap.Drain().first, 0) << "an address inside a datagram was used as a destination";
  EXPECT_EQ(a.Drain(milliseconds(50)).first, 0) << "abuse reached a bound participant";
  EXPECT_EQ(b.Drain(milliseconds(50)).first, 0) << "abuse reached a bound participant";
  EXPECT_EQ(relay_->stats().forwarded, forwarded_before);
  EXPECT_EQ(relay_->stats().acks, 2u);
  // The call was not moved or broken by the replays.
  a.Send(Payload(501, 200));
  EXPECT_EQ(b.Receive(milliseconds(2000)), Payload(501, 200));
  b.Send(Payload(502, 200));
  EXPECT_EQ(a.Receive(milliseconds(2000)), Payload(502, 200));
  const RelayStats stats = relay_->stats();
  std::printf("abuse: %d datagrams per port x 2 ports; answered 0; dropped %llu (malformed %llu, unknown source %llu, "
              "bad ticket %llu, bad bind %llu, replayed bind %llu)\n",
              kAbusePerPort, static_cast<unsigned long long>(stats.dropped_total()),
              static_cast<unsigned long long>(stats.dropped[static_cast<std::size_t>(RelayDropReason::kMalformed)]),
              static_cast<unsigned long long>(stats.dropped[static_cast<std::size_t>(RelayDropReason::kUnknownSource)]),
              static_cast<unsigned long long>(stats.dropped[static_cast<std::size_t>(RelayDropReason::kBadTicket)]),
              static_cast<unsigned long long>(stats.dropped[static_cast<std::size_t>(RelayDropReason::kBadBind)]),
              static_cast<unsigned long long>(stats.dropped[static_cast<std::size_t>(RelayDropReason::kReplayedBind)]));
}

// Voice is ~50 packets/s; the flooding ticket sends 100x that (5000/s) for two
// seconds while a parallel call sends 100/s. The parallel call's loss is measured
// alone first, then under the flood.
TEST_F(RelayAbuseTest, FloodAtOneHundredTimesTheRateIsCappedAndAParallelCallLosesNothingMore) {
  StartRelay();  // default limits: 150 packets/s, burst 50 per participant
  Socket flooder(relay_->bound_port()), flood_sink(relay_->bound_port());
  Socket calm(relay_->bound_port()), calm_sink(relay_->bound_port());
  BindPair(flooder, flood_sink, 1);
  BindPair(calm, calm_sink, 2);

  constexpr int kCalmPerSecond = 100, kFloodPerSecond = 5000, kSeconds = 2;
  // Sends calm's packets (and the flood's, if on) paced by the wall clock; returns
  // how many of each were sent and how long it took.
  auto run = [&](bool flood, uint32_t first_seq) {
    int calm_sent = 0, flood_sent = 0;
    const auto start = Clock::now();
    const auto end = start + std::chrono::seconds(kSeconds);
    for (auto now = start; now < end; now = Clock::now()) {
      const double t = std::chrono::duration<double>(now - start).count();
      while (calm_sent < static_cast<int>(t * kCalmPerSecond) + 1 && calm_sent < kCalmPerSecond * kSeconds) {
        calm.Send(Payload(first_seq + static_cast<uint32_t>(calm_sent++), 160));
      }
      while (flood && flood_sent < static_cast<int>(t * kFloodPerSecond) + 1) {
        flooder.Send(Payload(static_cast<uint32_t>(flood_sent++), 160));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return std::tuple{calm_sent, flood_sent, std::chrono::duration<double>(Clock::now() - start).count()};
  };
  auto [calm_alone, none, alone_s] = run(false, 0);
  const int calm_alone_received = calm_sink.Drain().first;
  auto [calm_flooded, flood_sent, flood_s] = run(true, 10'000);
  const int calm_flooded_received = calm_sink.Drain().first;
  const int flood_received = flood_sink.Drain().first;

  const double loss_alone = 100.0 * (calm_alone - calm_alone_received) / calm_alone;
  const double loss_flooded = 100.0 * (calm_flooded - calm_flooded_received) / calm_flooded;
  const double cap = 50 + 150 * flood_s;
  std::printf("flood: sent %d in %.2f s (%.0f/s), forwarded %d (cap %.0f); parallel call loss %.2f%% alone, "
              "%.2f%% under the flood (%d and %d packets)\n",
              flood_sent, flood_s, flood_sent / flood_s, flood_received, cap, loss_alone, loss_flooded, calm_alone,
              calm_flooded);
  EXPECT_EQ(none, 0);
  EXPECT_GE(flood_sent, 50 * 50 * kSeconds) << "the flood did not reach 50x the voice rate; the machine is too slow";
  EXPECT_LE(flood_received, static_cast<int>(cap) + 5) << "the flooding ticket went past its cap";
  EXPECT_GE(flood_received, static_cast<int>(0.8 * 150 * kSeconds)) << "the flooding ticket did not even get its cap";
  EXPECT_LT(loss_flooded - loss_alone, 1.0) << "the parallel call's loss rose by a percentage point or more";
}

// Special addresses, after normalisation, are refused where a relay peer enters: as
// the source of a bind (a real relay with the loopback allowance off).
TEST_F(RelayAbuseTest, LoopbackBindsGetNoAckWithoutTheAllowance) {
  RelayConfig config;
  config.bind_host = "127.0.0.1";
  config.ticket_key = kKey;
  config.allow_loopback = false;
  relay_.emplace(config);
  ASSERT_TRUE(relay_->Start().ok());
  Socket a(relay_->bound_port()), b(relay_->bound_port());
  a.Send(MakeBind(Hold(1, 0), {}));
  b.Send(MakeBind(Hold(1, 1), Payload(1, 100)));
  WaitReceived(2);
  EXPECT_EQ(a.Drain().first + b.Drain().first, 0);
  EXPECT_EQ(relay_->stats().dropped[static_cast<std::size_t>(RelayDropReason::kRefusedAddress)], 2u);
}

TEST(RelayAddressRefusalTest, SpecialAddressesAreRefusedAfterNormalisation) {
  RelayAddressRules rules;
  rules.allow_loopback = false;
  rules.own_addresses = {*RelayAddress::Parse("203.0.113.10", 0), *RelayAddress::Parse("2001:db8::10", 0)};
  RelaySessionTable table(RelayLimits{}, rules);
  for (const char* ip : {"0.0.0.0", "::", "::1", "::ffff:127.0.0.1", "127.0.0.1", "127.255.0.1", "::ffff:0.0.0.0",
                         "169.254.0.1", "::ffff:169.254.9.9", "fe80::1", "febf::1", "224.0.0.1", "::ffff:239.1.1.1",
                         "255.255.255.255", "ff02::1", "203.0.113.10", "::ffff:203.0.113.10", "2001:db8::10",
                         "2001:DB8:0:0:0:0:0:10"}) {
    auto address = RelayAddress::Parse(ip, 4000);
    ASSERT_TRUE(address) << ip;
    EXPECT_TRUE(table.IsRefused(RelaySource{*address, RelaySocket::kPublic})) << ip << " was not refused";
  }
  for (const char* ip : {"203.0.113.11", "2001:db8::11", "::ffff:198.51.100.7", "10.0.0.1"}) {
    EXPECT_FALSE(table.IsRefused(RelaySource{*RelayAddress::Parse(ip, 4000), RelaySocket::kPublic})) << ip;
  }
  EXPECT_TRUE(table.IsRefused(RelaySource{*RelayAddress::Parse("10.0.0.1", 0), RelaySocket::kPublic})) << "port 0";
}

TEST(RelayAddressRefusalTest, RelayConfigRefusesAnOwnAddressThatIsNotNumeric) {
  RelayConfig config;
  config.bind_host = "127.0.0.1";
  config.own_addresses = {"relay.example.org"};
  UdpRelay relay(config);
  auto started = relay.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("not a numeric"), std::string::npos) << started.error().message;
}

TEST(RelayAddressRefusalTest, CandidatesWithSpecialAddressesAreRefused) {
  for (const char* ip : {"0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1", "ff02::1",
                         "255.255.255.255"}) {
    auto endpoint = net::UdpEndpoint::Parse(std::string(ip).find(':') != std::string::npos
                                                ? "[" + std::string(ip) + "]:4000"
                                                : std::string(ip) + ":4000");
    ASSERT_TRUE(endpoint.ok()) << ip;
    EXPECT_FALSE(net::CheckCandidate(*endpoint).ok()) << ip << " passed as a candidate";
  }
  // Loopback and link-local pass the syntax check; the classifiers let the client refuse them.
  EXPECT_TRUE(net::IsLoopback(*net::UdpEndpoint::Parse("[::1]:4000")));
  EXPECT_TRUE(net::IsLoopback(*net::UdpEndpoint::Parse("127.0.0.1:4000")));
  EXPECT_TRUE(net::IsLinkLocal(*net::UdpEndpoint::Parse("[fe80::1]:4000")));
  EXPECT_TRUE(net::IsLinkLocal(*net::UdpEndpoint::Parse("169.254.1.1:4000")));
}

}  // namespace
}  // namespace parley::server
