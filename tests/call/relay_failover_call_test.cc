// Relay failover in simulated time: two CallMedia ends talk through the first of two
// simulated relays that share a ticket key (the real RelaySessionTable, ticket checks
// and bind/ack framing on netsim links), each side with RelayClientSession, a
// ConnectivityMonitor and a RelayFailover driving it as the CLI does. Scenarios: the
// first relay dies mid-call (audio back at the second within 3 s, same keys), the
// first relay only blips (no move), both die (the call ends after 30 s as before).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>

#include "parley/call/call_media.h"
#include "parley/call/connectivity_monitor.h"
#include "parley/call/multipath_transport.h"
#include "parley/call/relay_failover.h"
#include "parley/crypto/call_keys.h"
#include "parley/net/netsim_link.h"
#include "parley/net/netsim_spec.h"
#include "parley/net/relay_client_session.h"
#include "parley/net/relay_framing.h"
#include "parley/server/relay_session_table.h"
#include "parley/server/relay_ticket.h"

namespace parley::call {
namespace {

constexpr int64_t kStartUnixMs = 1'800'000'000'000;
constexpr std::size_t kRelays = 2;
constexpr std::array<uint8_t, 16> kCallId{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

crypto::CallKeys Keys(crypto::Role role) {
  crypto::Secret<32> prk;
  for (std::size_t i = 0; i < 32; ++i) prk.data()[i] = static_cast<uint8_t>(i * 5 + 3);
  return crypto::DeriveCallKeys(prk, role);
}

net::NetsimSpec Spec(const std::string& text) {
  auto spec = net::ParseNetsimSpec(text);
  EXPECT_TRUE(spec.ok()) << text;
  return spec.ok() ? *spec : net::NetsimSpec{};
}

// The ticket key every relay of the community holds (relay.ticket_key_file).
const std::array<uint8_t, 32>& SharedTicketKey() {
  static const std::array<uint8_t, 32> key = [] {
    std::array<uint8_t, 32> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(90 + 3 * i);
    return bytes;
  }();
  return key;
}

// A datagram on the simulated wire carries the client's address (from on the uplink,
// to on the downlink) in front of its bytes, as IP and UDP headers would.
std::vector<uint8_t> Frame(const server::RelayAddress& address, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> framed;
  framed.reserve(18 + bytes.size());
  for (uint8_t b : address.ip()) framed.push_back(b);
  framed.push_back(static_cast<uint8_t>(address.port() >> 8));
  framed.push_back(static_cast<uint8_t>(address.port()));
  for (uint8_t b : bytes) framed.push_back(b);
  return framed;
}
server::RelayAddress FramedAddress(std::span<const uint8_t> framed) {
  std::array<uint8_t, 16> ip{};
  std::copy(framed.begin(), framed.begin() + 16, ip.begin());
  return server::RelayAddress(ip, static_cast<uint16_t>(framed[16] << 8 | framed[17]));
}

// One client's network: its address and a pair of links to each relay.
struct SimHost {
  SimHost(server::RelayAddress address, const std::array<std::string, kRelays>& specs, uint64_t seed)
      : address(address) {
    for (std::size_t i = 0; i < kRelays; ++i) {
      up.emplace_back(Spec(specs[i]), seed + 2 * i, TimePoint{});
      down.emplace_back(Spec(specs[i]), seed + 2 * i + 1, TimePoint{});
    }
  }
  server::RelayAddress address;
  std::vector<net::NetsimLink> up, down;  // by relay index
};

// The relay-UDP path over a SimHost: one RelayClientSession whatever the relay, as
// RelayUdpPath keeps it across SwitchRelay; only the current relay's datagrams count
// (the shared socket hands the others to the P2P queue).
class SimRelayPath final : public net::PacketPath {
 public:
  SimRelayPath(SimHost& host, net::RelayCredentials credentials)
      : host_(host), session_(std::move(credentials), TimePoint{}) {}

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override {
    auto datagram = session_.Wrap(sealed, now);
    if (!datagram) return datagram.error();
    host_.up[relay_].Send(Frame(host_.address, *datagram), now);
    ++stats_.packets_sent;
    return Ok{};
  }
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override {
    Tick(now);
    for (std::size_t i = 0; i < kRelays; ++i) {
      for (net::NetsimPacket& packet : host_.down[i].Receive(now)) {
        if (i == relay_ && FramedAddress(packet.bytes) == host_.address) {
          inbox_.emplace_back(packet.bytes.begin() + 18, packet.bytes.end());
        }
      }
    }
    while (!inbox_.empty()) {
      std::vector<uint8_t> datagram = std::move(inbox_.front());
      inbox_.pop_front();
      const auto unwrapped = session_.Unwrap(datagram);
      if (unwrapped.kind == net::RelayClientSession::Arrival::kSealed) return datagram;
    }
    return std::nullopt;
  }
  void Tick(TimePoint now) override {
    if (auto bind = session_.TakeDueBind(now)) host_.up[relay_].Send(Frame(host_.address, *bind), now);
  }
  int fd() const override { return -1; }
  bool ready() const override { return session_.ready(); }
  bool open() const override { return true; }
  net::PathKind kind() const override { return net::PathKind::kRelayUdp; }
  std::string description() const override { return "relay-udp sim " + std::to_string(relay_); }
  net::PacketPathStats stats() const override { return stats_; }

  void RequestRebind() { session_.RequestRebind(); }
  void FreshSocket() {
    host_.address = server::RelayAddress(host_.address.ip(), static_cast<uint16_t>(host_.address.port() + 1));
    session_.RequestRebind();
  }
  void SwitchRelay(std::size_t relay) {
    relay_ = relay;
    session_.RequestRebind();
  }
  bool relay_acknowledged() const { return !session_.binding(); }
  std::size_t relay() const { return relay_; }

 private:
  SimHost& host_;
  net::RelayClientSession session_;
  std::size_t relay_ = 0;
  std::deque<std::vector<uint8_t>> inbox_;
  net::PacketPathStats stats_;
};

// One relay process: its own session table, the community's ticket key. Killed, it
// drops everything and forgets its sessions, as kill -9 does.
class SimRelay {
 public:
  explicit SimRelay(std::size_t index)
      : index_(index), issuer_(std::span<const uint8_t, 32>(SharedTicketKey())), table_({}, {}) {}

  void Step(std::vector<SimHost*>& hosts, TimePoint now) {
    const int64_t now_unix_ms = kStartUnixMs + std::chrono::duration_cast<milliseconds>(now - TimePoint{}).count();
    for (SimHost* host : hosts) {
      for (net::NetsimPacket& packet : host->up[index_].Receive(now)) {
        if (dead_) continue;
        const server::RelaySource from{FramedAddress(packet.bytes), server::RelaySocket::kPublic};
        Handle(hosts, from, std::span<const uint8_t>(packet.bytes).subspan(18), now, now_unix_ms);
      }
    }
    if (!dead_) table_.ExpireIdle(now);
  }
  void Kill() { dead_ = true; }
  const server::RelaySessionTable& table() const { return table_; }

 private:
  void SendTo(std::vector<SimHost*>& hosts, const server::RelayAddress& to, std::span<const uint8_t> bytes,
              TimePoint now) {
    for (SimHost* host : hosts) {
      if (host->address.ip() == to.ip()) host->down[index_].Send(Frame(to, bytes), now);
    }
  }
  void Handle(std::vector<SimHost*>& hosts, const server::RelaySource& from, std::span<const uint8_t> datagram,
              TimePoint now, int64_t now_unix_ms) {
    const net::RelayBindKeys keys(std::span<const uint8_t, 32>(issuer_.bind_key()));
    if (!net::HasRelayBindMark(keys, datagram)) {
      const server::RelayDecision decision = table_.OnData(from, datagram.size(), now);
      if (decision.action == server::RelayDecision::Action::kForward) SendTo(hosts, decision.to.address, datagram, now);
      return;
    }
    const auto ticket = net::UnmaskRelayTicket(keys, datagram);
    auto claims = issuer_.Verify(ticket, now_unix_ms / 1000);
    ASSERT_TRUE(claims.ok());
    const crypto::Secret<32> hop = issuer_.HopKey(ticket);
    std::vector<uint8_t> scratch(datagram.size());
    auto contents = net::OpenRelayBind(hop, ticket, datagram, scratch);
    ASSERT_TRUE(contents.ok());
    const server::RelayDecision decision =
        table_.OnBind(*claims, contents->elapsed_ms, from, contents->sealed.size(), now, now_unix_ms);
    if (decision.ack) {
      net::RelayAckContents ack;
      ack.elapsed_ms = decision.ack_elapsed_ms;
      ack.ip = from.address.ip();
      ack.port = from.address.port();
      std::vector<uint8_t> bytes(std::max<std::size_t>(net::kRelayAckMinSize, 96));
      const auto nonce = net::DrawRelayNonce(bytes.size(), [this](std::span<uint8_t> out) {
        for (uint8_t& b : out) b = static_cast<uint8_t>(nonce_counter_++ * 131 + 7);
      });
      net::WriteRelayAck(hop, nonce, ack, bytes);
      SendTo(hosts, from.address, bytes, now);
    }
    if (decision.action == server::RelayDecision::Action::kForward) {
      SendTo(hosts, decision.to.address, contents->sealed, now);
    }
  }

  std::size_t index_;
  server::RelayTicketIssuer issuer_;
  server::RelaySessionTable table_;
  bool dead_ = false;
  uint64_t nonce_counter_ = 1;
};

// The signaling node's part: one ticket per participant from the shared key.
net::RelayCredentials Credentials(uint8_t participant) {
  const server::RelayTicketIssuer issuer{std::span<const uint8_t, 32>(SharedTicketKey())};
  const server::RelayTicketClaims claims{kCallId, participant, kStartUnixMs / 1000 + 3600, kStartUnixMs};
  const std::vector<uint8_t> ticket = issuer.Issue(claims);
  const crypto::Secret<32> hop = issuer.HopKey(ticket);
  return net::RelayCredentials::FromBytes(ticket, std::span<const uint8_t>(hop.data(), 32), issuer.bind_key())
      .value();
}

struct Side {
  Side(uint8_t participant, server::RelayAddress address, const std::array<std::string, kRelays>& specs)
      : host(address, specs, 70 + participant * 10),
        transport(TimePoint{}),
        monitor({}, TimePoint{}),
        failover(kRelays) {
    auto owned = std::make_unique<SimRelayPath>(host, Credentials(participant));
    path = owned.get();
    transport.AddPath(std::move(owned), TimePoint{});
    media = CallMedia::Create(Keys(participant == 0 ? crypto::Role::kCaller : crypto::Role::kCallee), {}, transport,
                              TimePoint{})
                .value();
  }

  SimHost host;
  SimRelayPath* path = nullptr;
  MultipathTransport transport;
  std::unique_ptr<CallMedia> media;
  ConnectivityMonitor monitor;
  RelayFailover failover;
  std::optional<std::string> gave_up;
  std::optional<TimePoint> gave_up_at;
  std::vector<TimePoint> arrivals;  // steps at which media arrived
  uint64_t received = 0;
};

class FailoverCall {
 public:
  explicit FailoverCall(const std::array<std::string, kRelays>& specs = {"delay=20ms,jitter=3ms",
                                                                          "delay=30ms,jitter=3ms"})
      : a_(0, server::RelayAddress::FromIpv4(0xC6336401, 40000), specs),  // 198.51.100.1
        b_(1, server::RelayAddress::FromIpv4(0xCB007107, 50000), specs),  // 203.0.113.7
        relays_{SimRelay(0), SimRelay(1)},
        hosts_{&a_.host, &b_.host} {}

  void KillRelayAt(std::size_t relay, Duration at) { kills_.push_back({relay, TimePoint{} + at}); }

  void RunUntil(double seconds_since_start) {
    const TimePoint end = TimePoint{} + FromMillis(seconds_since_start * 1000);
    std::array<media::Sample, media::kBlockSamples> block{}, out{};
    while (now_ < end) {
      now_ += milliseconds(10);
      for (auto& [relay, at] : kills_) {
        if (now_ >= at) relays_[relay].Kill();
      }
      for (media::Sample& s : block) {
        s = static_cast<media::Sample>(6000 * std::sin(2 * M_PI * 440 * static_cast<double>(n_++) / 48000));
      }
      for (Side* side : {&a_, &b_}) {
        if (side->gave_up) continue;
        ASSERT_TRUE(side->media->OnCapturedBlock(block, now_).ok());
      }
      for (SimRelay& relay : relays_) relay.Step(hosts_, now_);
      for (Side* side : {&a_, &b_}) {
        if (side->gave_up) continue;
        while (auto p = side->transport.Receive(now_)) side->media->OnPacket(p->sealed, now_, p->path);
        side->media->Pull(now_, out);
        ASSERT_TRUE(side->media->OnTick(now_).ok());
        const uint64_t received = side->media->stats().media_packets_received;
        if (received > side->received) side->arrivals.push_back(now_);
        side->received = received;
        if ((now_ - TimePoint{}) % milliseconds(50) == Duration{0}) Supervise(*side);
      }
    }
  }

  // The longest stretch without media at `side` that ends after `from`: (last arrival
  // before it, first arrival after it).
  static std::pair<TimePoint, TimePoint> LongestGapAfter(const Side& side, TimePoint from) {
    std::pair<TimePoint, TimePoint> best{};
    for (std::size_t i = 1; i < side.arrivals.size(); ++i) {
      if (side.arrivals[i] <= from) continue;
      if (side.arrivals[i] - side.arrivals[i - 1] > best.second - best.first) {
        best = {side.arrivals[i - 1], side.arrivals[i]};
      }
    }
    return best;
  }

  Side& a() { return a_; }
  Side& b() { return b_; }
  const SimRelay& relay(std::size_t i) const { return relays_[i]; }

 private:
  // What CallPaths::WatchConnectivity does every 50 ms: the monitor, then the failover.
  void Supervise(Side& side) {
    const ConnectivitySnapshot snapshot{PeerLastHeard(side.transport.paths_report()),
                                        side.path->relay_acknowledged()};
    const ConnectivityActions actions = side.monitor.Update(snapshot, now_);
    if (actions.fresh_socket) side.path->FreshSocket();
    if (actions.rebind) side.path->RequestRebind();
    if (actions.give_up) {
      side.gave_up = actions.give_up;
      side.gave_up_at = now_;
      return;
    }
    const RelayFailoverSnapshot relay_snapshot{side.monitor.state(), side.monitor.reconnecting_since(),
                                               side.path->relay_acknowledged()};
    if (auto next = side.failover.Update(relay_snapshot, now_)) side.path->SwitchRelay(*next);
  }

  TimePoint now_{};
  uint64_t n_ = 0;
  Side a_, b_;
  std::array<SimRelay, kRelays> relays_;
  std::vector<SimHost*> hosts_;
  std::vector<std::pair<std::size_t, TimePoint>> kills_;
};

double Seconds(TimePoint t) { return ToSeconds(t - TimePoint{}); }

TEST(RelayFailoverCallTest, FirstRelayDiesAndAudioIsBackAtTheSecondWithinThreeSeconds) {
  FailoverCall call;
  call.KillRelayAt(0, milliseconds(5'005));
  call.RunUntil(5);
  for (Side* side : {&call.a(), &call.b()}) {
    EXPECT_EQ(side->monitor.state(), ConnectivityState::kConnected);
    EXPECT_EQ(side->path->relay(), 0u);
  }
  call.RunUntil(7);
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kReconnecting);  // the status line says so
  EXPECT_EQ(call.b().monitor.state(), ConnectivityState::kReconnecting);
  call.RunUntil(14);
  const TimePoint death = TimePoint{} + milliseconds(5'005);
  const auto [a_last, a_back] = FailoverCall::LongestGapAfter(call.a(), death - milliseconds(500));
  const auto [b_last, b_back] = FailoverCall::LongestGapAfter(call.b(), death - milliseconds(500));
  std::printf("relay 1 killed at %.2f s: audio back at the caller %.0f ms and at the callee %.0f ms after it\n",
              Seconds(death), ToMillis(a_back - death), ToMillis(b_back - death));
  EXPECT_LT(a_back - death, milliseconds(3000));
  EXPECT_LT(b_back - death, milliseconds(3000));
  EXPECT_GT(a_back - death, milliseconds(1000));  // it was a real outage, not a missed one
  for (Side* side : {&call.a(), &call.b()}) {
    EXPECT_EQ(side->path->relay(), 1u);
    EXPECT_EQ(side->failover.stats().moves, 1u);
    EXPECT_EQ(side->monitor.state(), ConnectivityState::kConnected);
    EXPECT_FALSE(side->gave_up);
    ASSERT_FALSE(side->arrivals.empty());
    EXPECT_GT(side->arrivals.back(), TimePoint{} + milliseconds(13'900));  // still flowing
    // Same keys: packets since the move open under the call's keys (20-60 ms packets:
    // 80-250 in the 5 s from 9 s on).
    const auto after = std::count_if(side->arrivals.begin(), side->arrivals.end(),
                                     [](TimePoint t) { return t > TimePoint{} + seconds(9); });
    EXPECT_GT(after, 50) << "arrivals after 9 s";
  }
  // The second relay pairs both participants of the call.
  EXPECT_TRUE(call.relay(1).table().SourceOf(kCallId, 0));
  EXPECT_TRUE(call.relay(1).table().SourceOf(kCallId, 1));
}

TEST(RelayFailoverCallTest, ABlipAtTheFirstRelayShorterThanTheThresholdDoesNotMove) {
  // The first relay's links are out for 1.5 s both ways: reconnecting, a rebind, a
  // fresh socket perhaps, and the relay answers again before 1.5 s without an ack.
  FailoverCall call({"delay=20ms,jitter=3ms,outage=5s+1500ms", "delay=30ms,jitter=3ms"});
  call.RunUntil(12);
  const TimePoint back = TimePoint{} + milliseconds(6'500);
  const auto [a_last, a_back] = FailoverCall::LongestGapAfter(call.a(), back - seconds(3));
  std::printf("1.5 s blip at relay 1: audio back at the caller %.0f ms after it ended\n", ToMillis(a_back - back));
  for (Side* side : {&call.a(), &call.b()}) {
    EXPECT_EQ(side->path->relay(), 0u);
    EXPECT_EQ(side->failover.stats().moves, 0u);
    EXPECT_GE(side->monitor.stats().reconnections, 1u);  // it was noticed
    EXPECT_EQ(side->monitor.state(), ConnectivityState::kConnected);
    EXPECT_GT(side->arrivals.back(), TimePoint{} + milliseconds(11'900));
  }
  EXPECT_FALSE(call.relay(1).table().SourceOf(kCallId, 0));
}

TEST(RelayFailoverCallTest, BothRelaysDeadEndsTheCallAfterThirtySecondsAsBefore) {
  FailoverCall call;
  call.KillRelayAt(0, milliseconds(5'005));
  call.KillRelayAt(1, milliseconds(5'005));
  call.RunUntil(20);
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kReconnecting);
  EXPECT_GE(call.a().failover.stats().moves, 3u);  // it kept going round the list
  call.RunUntil(37);
  for (Side* side : {&call.a(), &call.b()}) {
    ASSERT_TRUE(side->gave_up);
    EXPECT_NE(side->gave_up->find("30 s"), std::string::npos);
    EXPECT_NEAR(Seconds(*side->gave_up_at), 35.0, 0.2);
    EXPECT_EQ(side->monitor.state(), ConnectivityState::kLost);
  }
}

}  // namespace
}  // namespace parley::call
