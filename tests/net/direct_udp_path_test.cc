// DirectUdpPath: hole punching over candidate lists, the source check, timeouts and a
// moving peer, in simulated time over a fake port; then two real paths on 127.0.0.1
// that find each other from lists with dead addresses in them.
#include "parley/net/direct_udp_path.h"

#include <poll.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "parley/net/candidate_address.h"
#include "parley/net/udp_datagram_socket.h"

namespace parley::net {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

UdpEndpoint E(const std::string& text) {
  auto e = UdpEndpoint::Parse(text);
  PARLEY_CHECK_MSG(e.ok(), text.c_str());
  return *e;
}

std::vector<uint8_t> Packet(uint8_t fill, std::size_t size = 64) { return std::vector<uint8_t>(size, fill); }

// Records what is sent; hands out what a test queues; refuses sends to `unreachable`.
class FakePort final : public DatagramPort {
 public:
  Status SendTo(std::span<const uint8_t> datagram, const UdpEndpoint& to) override {
    if (unreachable.count(to) != 0) return Error{"unreachable"};
    sent.push_back({to, std::vector<uint8_t>(datagram.begin(), datagram.end())});
    return Ok{};
  }
  std::optional<ReceivedDatagram> ReceiveFrom() override {
    if (incoming.empty()) return std::nullopt;
    ReceivedDatagram d = std::move(incoming.front());
    incoming.pop_front();
    return d;
  }
  int fd() const override { return -1; }

  std::vector<UdpEndpoint> Destinations() {
    std::vector<UdpEndpoint> out;
    for (const auto& d : sent) out.push_back(d.from);
    sent.clear();
    return out;
  }
  void Arrive(const UdpEndpoint& from, std::vector<uint8_t> bytes) { incoming.push_back({from, std::move(bytes)}); }

  std::vector<ReceivedDatagram> sent;  // `from` holds the destination
  std::deque<ReceivedDatagram> incoming;
  std::set<UdpEndpoint> unreachable;
};

class DirectUdpPathTest : public ::testing::Test {
 protected:
  const UdpEndpoint a_ = E("198.51.100.1:4000"), b_ = E("203.0.113.9:5000"), c_ = E("10.0.0.5:6000");
  const TimePoint t0_{};
  FakePort port_;
};

TEST_F(DirectUdpPathTest, WithoutCandidatesNothingIsSent) {
  DirectUdpPath path(port_);
  EXPECT_FALSE(path.Send(Packet(1), t0_).ok());
  EXPECT_TRUE(port_.sent.empty());
  EXPECT_FALSE(path.ready());
  EXPECT_TRUE(path.open());
  EXPECT_EQ(path.stats().send_failures, 1u);
  EXPECT_EQ(path.kind(), PathKind::kDirectUdp);
  EXPECT_EQ(path.description(), "p2p (no candidates yet)");
}

TEST_F(DirectUdpPathTest, SendsToEveryCandidateUntilOneAnswersThenOnlyThere) {
  DirectUdpPath path(port_);
  const std::vector<UdpEndpoint> candidates{a_, b_, c_};
  EXPECT_EQ(path.SetPeerCandidates(candidates), 3u);
  ASSERT_TRUE(path.Send(Packet(1), t0_).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(a_, b_, c_));
  EXPECT_EQ(path.stats().packets_sent, 1u);
  EXPECT_EQ(path.stats().bytes_sent, 3u * 64);
  EXPECT_FALSE(path.ready());
  EXPECT_THAT(path.description(), HasSubstr("trying 3 addresses"));

  port_.Arrive(b_, Packet(7));
  auto got = path.Receive(t0_ + milliseconds(20));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, Packet(7));
  EXPECT_TRUE(path.ready());
  EXPECT_EQ(path.peer_address(), b_);
  EXPECT_EQ(path.description(), "p2p 203.0.113.9:5000");

  ASSERT_TRUE(path.Send(Packet(2), t0_ + milliseconds(40)).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(b_));
  // A later datagram from another candidate moves the path there (NAT rebinding).
  port_.Arrive(c_, Packet(8));
  ASSERT_TRUE(path.Receive(t0_ + milliseconds(60)).has_value());
  ASSERT_TRUE(path.Send(Packet(3), t0_ + milliseconds(80)).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(c_));
  EXPECT_EQ(path.stats().packets_received, 2u);
}

TEST_F(DirectUdpPathTest, AcceptsOnlyDatagramsFromCandidatesOfASealedPacketsSize) {
  DirectUdpPath path(port_);
  const std::vector<UdpEndpoint> candidates{a_};
  path.SetPeerCandidates(candidates);
  port_.Arrive(b_, Packet(1));                 // not a candidate
  port_.Arrive(E("198.51.100.1:4001"), Packet(1));  // right host, other port
  port_.Arrive(a_, Packet(1, 24));             // too short
  port_.Arrive(a_, Packet(1, 1201));           // too long
  EXPECT_FALSE(path.Receive(t0_).has_value());
  EXPECT_FALSE(path.ready());
  EXPECT_EQ(path.datagrams_from_strangers(), 2u);
  EXPECT_EQ(path.stats().dropped_received, 4u);
  EXPECT_EQ(path.stats().packets_received, 0u);
  port_.Arrive(a_, Packet(2, 25));
  port_.Arrive(a_, Packet(3, 1200));
  EXPECT_TRUE(path.Receive(t0_).has_value());
  EXPECT_TRUE(path.Receive(t0_).has_value());
  EXPECT_EQ(path.stats().packets_received, 2u);
}

TEST_F(DirectUdpPathTest, LeavesOutInvalidLoopbackDuplicateAndSurplusCandidates) {
  DirectUdpPath path(port_);
  std::vector<UdpEndpoint> candidates{a_, a_, E("127.0.0.1:9"), E("224.0.0.5:9"), E("10.0.0.9:0")};
  for (int i = 1; i <= 10; ++i) candidates.push_back(E("192.0.2." + std::to_string(i) + ":7"));
  EXPECT_EQ(path.SetPeerCandidates(candidates), kMaxCandidates);
  ASSERT_TRUE(path.Send(Packet(1), t0_).ok());
  const auto sent = port_.Destinations();
  EXPECT_EQ(sent.size(), kMaxCandidates);
  EXPECT_EQ(sent.front(), a_);
  for (const auto& to : sent) EXPECT_NE(to, E("127.0.0.1:9"));

  DirectUdpPathOptions loopback_ok;
  loopback_ok.allow_loopback = true;
  DirectUdpPath test_path(port_, loopback_ok);
  const std::vector<UdpEndpoint> local{E("127.0.0.1:9")};
  EXPECT_EQ(test_path.SetPeerCandidates(local), 1u);
}

TEST_F(DirectUdpPathTest, GivesUpWhenNoCandidateAnswersAndRevivesWithNewOnes) {
  DirectUdpPathOptions options;
  options.candidate_timeout = seconds(10);
  DirectUdpPath path(port_, options);
  port_.unreachable.insert(c_);
  const std::vector<UdpEndpoint> candidates{a_, b_, c_};
  path.SetPeerCandidates(candidates);
  ASSERT_TRUE(path.Send(Packet(1), t0_).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(a_, b_));
  // The unreachable one is given up at once.
  ASSERT_TRUE(path.Send(Packet(1), t0_ + seconds(1)).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(a_, b_));
  path.Tick(t0_ + seconds(9));
  EXPECT_TRUE(path.open());
  path.Tick(t0_ + seconds(10));
  EXPECT_FALSE(path.open());
  EXPECT_EQ(path.description(), "p2p (no candidate answered)");
  EXPECT_FALSE(path.Send(Packet(1), t0_ + seconds(11)).ok());
  EXPECT_TRUE(port_.sent.empty());

  const std::vector<UdpEndpoint> fresh{b_};
  path.SetPeerCandidates(fresh);
  path.Tick(t0_ + seconds(12));
  EXPECT_TRUE(path.open());
  ASSERT_TRUE(path.Send(Packet(1), t0_ + seconds(12)).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(b_));
}

TEST_F(DirectUdpPathTest, SilentPeerIsSearchedForAgainOnEveryCandidate) {
  DirectUdpPathOptions options;
  options.silence_timeout = seconds(3);
  DirectUdpPath path(port_, options);
  const std::vector<UdpEndpoint> candidates{a_, b_};
  path.SetPeerCandidates(candidates);
  port_.Arrive(a_, Packet(1));
  ASSERT_TRUE(path.Receive(t0_).has_value());
  path.Tick(t0_ + milliseconds(2999));
  EXPECT_TRUE(path.ready());
  path.Tick(t0_ + seconds(3));
  EXPECT_FALSE(path.ready());
  EXPECT_TRUE(path.open());
  ASSERT_TRUE(path.Send(Packet(1), t0_ + seconds(3)).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(a_, b_));
}

TEST_F(DirectUdpPathTest, NewCandidatesWithoutTheAddressInUseStartTheSearchAgain) {
  DirectUdpPath path(port_);
  const std::vector<UdpEndpoint> first{a_};
  path.SetPeerCandidates(first);
  port_.Arrive(a_, Packet(1));
  ASSERT_TRUE(path.Receive(t0_).has_value());
  const std::vector<UdpEndpoint> moved{b_, c_};
  path.SetPeerCandidates(moved);
  // Still a_ until the media thread picks the new list up.
  EXPECT_TRUE(path.ready());
  ASSERT_TRUE(path.Send(Packet(1), t0_ + milliseconds(20)).ok());
  EXPECT_THAT(port_.Destinations(), ElementsAre(b_, c_));
  EXPECT_FALSE(path.ready());
  port_.Arrive(a_, Packet(1));  // the old address is no longer a candidate
  EXPECT_FALSE(path.Receive(t0_ + milliseconds(30)).has_value());
  port_.Arrive(c_, Packet(1));
  EXPECT_TRUE(path.Receive(t0_ + milliseconds(40)).has_value());
  EXPECT_EQ(path.peer_address(), c_);
}

// --- Real sockets on 127.0.0.1 ---------------------------------------------------------

std::unique_ptr<UdpDatagramSocket> BindLoopback() {
  auto socket = UdpDatagramSocket::Bind(E("127.0.0.1:0"));
  PARLEY_CHECK_MSG(socket.ok(), "bind 127.0.0.1:0");
  return std::move(*socket);
}

TEST(DirectUdpPathLoopbackTest, TwoPathsFindEachOtherPastDeadCandidates) {
  auto alice_socket = BindLoopback();
  auto bob_socket = BindLoopback();
  auto stranger = BindLoopback();
  // A port that was bound and closed: nothing listens there.
  UdpEndpoint dead;
  {
    auto closed = BindLoopback();
    dead = closed->local_endpoint();
  }
  DirectUdpPathOptions options;
  options.allow_loopback = true;
  DirectUdpPath alice(*alice_socket, options);
  DirectUdpPath bob(*bob_socket, options);
  const std::vector<UdpEndpoint> alice_candidates{dead, E("127.0.0.2:" + std::to_string(dead.port())),
                                                  alice_socket->local_endpoint()};
  const std::vector<UdpEndpoint> bob_candidates{bob_socket->local_endpoint(), dead};
  EXPECT_EQ(bob.SetPeerCandidates(alice_candidates), 3u);
  EXPECT_EQ(alice.SetPeerCandidates(bob_candidates), 2u);

  // A stranger writes to alice: never handed up.
  const std::vector<uint8_t> junk(100, 0x55);
  ASSERT_TRUE(stranger->SendTo(junk, alice_socket->local_endpoint()).ok());

  const auto start = std::chrono::steady_clock::now();
  std::optional<std::vector<uint8_t>> alice_got, bob_got;
  uint8_t counter = 0;
  while ((!alice_got || !bob_got) && std::chrono::steady_clock::now() - start < std::chrono::seconds(3)) {
    const TimePoint now = std::chrono::steady_clock::now();
    ++counter;
    (void)alice.Send(Packet(0x40 | (counter & 0x0F), 80), now);
    (void)bob.Send(Packet(0x50 | (counter & 0x0F), 90), now);
    pollfd fds[2] = {{alice.fd(), POLLIN, 0}, {bob.fd(), POLLIN, 0}};
    (void)::poll(fds, 2, 10);
    if (auto p = alice.Receive(std::chrono::steady_clock::now())) alice_got = p;
    if (auto p = bob.Receive(std::chrono::steady_clock::now())) bob_got = p;
  }
  ASSERT_TRUE(alice_got.has_value());
  ASSERT_TRUE(bob_got.has_value());
  EXPECT_EQ(alice_got->size(), 90u);
  EXPECT_EQ(bob_got->size(), 80u);
  EXPECT_TRUE(alice.ready());
  EXPECT_TRUE(bob.ready());
  EXPECT_EQ(alice.peer_address(), bob_socket->local_endpoint());
  EXPECT_EQ(bob.peer_address(), alice_socket->local_endpoint());
  EXPECT_EQ(alice.datagrams_from_strangers(), 1u);
  EXPECT_EQ(alice.description(), "p2p " + bob_socket->local_endpoint().ToString());

  // From now on each sends to the other's one address only.
  const auto before = bob.stats();
  ASSERT_TRUE(bob.Send(Packet(0x60, 100), std::chrono::steady_clock::now()).ok());
  EXPECT_EQ(bob.stats().bytes_sent - before.bytes_sent, 100u);
}

}  // namespace
}  // namespace parley::net
