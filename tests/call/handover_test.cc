// Network handover in simulated time: two CallMedia ends talk through a simulated relay
// (the real RelaySessionTable, ticket checks and bind/ack framing, on netsim links)
// with RelayClientSession on each side and a ConnectivityMonitor driving rebinds and
// fresh sockets. Scenarios: the caller's address changes (the relay sees a new
// source; noticed locally, or only by the silence), a 3 s outage, a 35 s outage that
// ends the call, a one-way failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "parley/call/call_media.h"
#include "parley/call/connectivity_monitor.h"
#include "parley/call/multipath_transport.h"
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
constexpr Duration kLocalAddressPoll = milliseconds(500);  // as the CLI polls (CallPaths)

crypto::CallKeys Keys(crypto::Role role) {
  crypto::Secret<32> prk;
  for (std::size_t i = 0; i < 32; ++i) prk.data()[i] = static_cast<uint8_t>(i * 7 + 1);
  return crypto::DeriveCallKeys(prk, role);
}

net::NetsimSpec Spec(const std::string& text) {
  auto spec = net::ParseNetsimSpec(text);
  EXPECT_TRUE(spec.ok()) << text;
  return spec.ok() ? *spec : net::NetsimSpec{};
}

// One client's network: its current address and its two links to the relay. On the
// simulated wire a datagram carries the address it is from (uplink) or to (downlink)
// in front of its bytes, as the IP and UDP headers would.
struct SimHost {
  SimHost(server::RelayAddress address, const std::string& up_spec, const std::string& down_spec, uint64_t seed)
      : address(address), up(Spec(up_spec), seed, TimePoint{}), down(Spec(down_spec), seed + 1, TimePoint{}) {}

  void Send(std::span<const uint8_t> datagram, TimePoint now) {
    std::vector<uint8_t> framed(18);
    std::copy(address.ip().begin(), address.ip().end(), framed.begin());
    framed[16] = static_cast<uint8_t>(address.port() >> 8);
    framed[17] = static_cast<uint8_t>(address.port());
    framed.insert(framed.end(), datagram.begin(), datagram.end());
    up.Send(std::move(framed), now);
  }
  // Datagrams for the current address; those for an address this host no longer has
  // are lost, as they would be on the old network.
  std::vector<std::vector<uint8_t>> Receive(TimePoint now) {
    std::vector<std::vector<uint8_t>> out;
    for (net::NetsimPacket& packet : down.Receive(now)) {
      if (FramedAddress(packet.bytes) == address) out.emplace_back(packet.bytes.begin() + 18, packet.bytes.end());
    }
    return out;
  }
  static server::RelayAddress FramedAddress(std::span<const uint8_t> framed) {
    std::array<uint8_t, 16> ip{};
    std::copy(framed.begin(), framed.begin() + 16, ip.begin());
    return server::RelayAddress(ip, static_cast<uint16_t>(framed[16] << 8 | framed[17]));
  }

  server::RelayAddress address;
  net::NetsimLink up, down;
};

// The relay-UDP path over a SimHost: RelayClientSession's datagrams, acks handled, and
// the adapter's two handover operations (rebind; fresh socket = a new source port).
class SimRelayPath final : public net::PacketPath {
 public:
  SimRelayPath(SimHost& host, net::RelayCredentials credentials)
      : host_(host), session_(std::move(credentials), TimePoint{}) {}

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override {
    auto datagram = session_.Wrap(sealed, now);
    if (!datagram) return datagram.error();
    host_.Send(*datagram, now);
    ++stats_.packets_sent;
    return Ok{};
  }
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override {
    Tick(now);
    if (inbox_.empty()) {
      for (auto& datagram : host_.Receive(now)) inbox_.push_back(std::move(datagram));
    }
    while (!inbox_.empty()) {
      std::vector<uint8_t> datagram = std::move(inbox_.front());
      inbox_.pop_front();
      const auto unwrapped = session_.Unwrap(datagram);
      if (unwrapped.kind == net::RelayClientSession::Arrival::kAck) continue;
      if (unwrapped.kind == net::RelayClientSession::Arrival::kSealed) return datagram;
    }
    return std::nullopt;
  }
  void Tick(TimePoint now) override {
    if (auto bind = session_.TakeDueBind(now)) host_.Send(*bind, now);
  }
  int fd() const override { return -1; }
  bool ready() const override { return session_.ready(); }
  bool open() const override { return true; }
  net::PathKind kind() const override { return net::PathKind::kRelayUdp; }
  std::string description() const override { return "relay-udp sim"; }
  net::PacketPathStats stats() const override { return stats_; }

  void RequestRebind() { session_.RequestRebind(); }
  void FreshSocket() {
    host_.address = server::RelayAddress(host_.address.ip(), static_cast<uint16_t>(host_.address.port() + 1));
    session_.RequestRebind();
  }
  bool relay_acknowledged() const { return !session_.binding(); }

 private:
  SimHost& host_;
  net::RelayClientSession session_;
  std::deque<std::vector<uint8_t>> inbox_;
  net::PacketPathStats stats_;
};

// The relay: the real session table and bind checks; acks and forwards onto the hosts'
// downlinks (by whose address, current or former, the destination is).
class SimRelay {
 public:
  SimRelay() : issuer_(std::span<const uint8_t, 32>(Key())), table_({}, {}) {}

  net::RelayCredentials Credentials(uint8_t participant) {
    const server::RelayTicketClaims claims{kCallId, participant, kStartUnixMs / 1000 + 3600, kStartUnixMs};
    const std::vector<uint8_t> ticket = issuer_.Issue(claims);
    const crypto::Secret<32> hop = issuer_.HopKey(ticket);
    return net::RelayCredentials::FromBytes(ticket, std::span<const uint8_t>(hop.data(), 32), issuer_.bind_key())
        .value();
  }
  void Attach(SimHost& host) { hosts_.push_back(&host); }
  void Remember(const server::RelayAddress& address, SimHost& host) { owners_.emplace_back(address.ip(), &host); }

  void Step(TimePoint now) {
    const int64_t now_unix_ms = kStartUnixMs + std::chrono::duration_cast<milliseconds>(now - TimePoint{}).count();
    for (SimHost* host : hosts_) {
      for (net::NetsimPacket& packet : host->up.Receive(now)) {
        const server::RelaySource from{SimHost::FramedAddress(packet.bytes), server::RelaySocket::kPublic};
        Handle(from, std::span<const uint8_t>(packet.bytes).subspan(18), now, now_unix_ms);
      }
    }
    table_.ExpireIdle(now);
  }
  const server::RelaySessionTable& table() const { return table_; }
  static constexpr std::array<uint8_t, 16> kCallId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

 private:
  static std::array<uint8_t, 32> Key() {
    std::array<uint8_t, 32> key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(200 - i);
    return key;
  }
  void SendTo(const server::RelayAddress& to, std::span<const uint8_t> bytes, TimePoint now) {
    for (auto& [ip, host] : owners_) {
      if (ip != to.ip()) continue;
      std::vector<uint8_t> framed(18);
      std::copy(to.ip().begin(), to.ip().end(), framed.begin());
      framed[16] = static_cast<uint8_t>(to.port() >> 8);
      framed[17] = static_cast<uint8_t>(to.port());
      framed.insert(framed.end(), bytes.begin(), bytes.end());
      host->down.Send(std::move(framed), now);
      return;
    }
  }
  void Handle(const server::RelaySource& from, std::span<const uint8_t> datagram, TimePoint now,
              int64_t now_unix_ms) {
    const net::RelayBindKeys keys(std::span<const uint8_t, 32>(issuer_.bind_key()));
    if (!net::HasRelayBindMark(keys, datagram)) {
      const server::RelayDecision decision = table_.OnData(from, datagram.size(), now);
      if (decision.action == server::RelayDecision::Action::kForward) SendTo(decision.to.address, datagram, now);
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
      SendTo(from.address, bytes, now);
    }
    if (decision.action == server::RelayDecision::Action::kForward) {
      SendTo(decision.to.address, contents->sealed, now);
    }
  }

  server::RelayTicketIssuer issuer_;
  server::RelaySessionTable table_;
  std::vector<SimHost*> hosts_;
  std::vector<std::pair<std::array<uint8_t, 16>, SimHost*>> owners_;
  uint64_t nonce_counter_ = 1;
};

server::RelayAddress Address(uint32_t ipv4, uint16_t port) { return server::RelayAddress::FromIpv4(ipv4, port); }

// One side of the call: its host, path, transport, media and monitor.
struct Side {
  Side(SimRelay& relay, uint8_t participant, server::RelayAddress address, const std::string& up,
       const std::string& down)
      : host(address, up, down, 40 + participant * 10), transport(TimePoint{}), monitor({}, TimePoint{}) {
    relay.Attach(host);
    relay.Remember(address, host);
    auto owned = std::make_unique<SimRelayPath>(host, relay.Credentials(participant));
    path = owned.get();
    transport.AddPath(std::move(owned), TimePoint{});
    media = CallMedia::Create(Keys(participant == 0 ? crypto::Role::kCaller : crypto::Role::kCallee), {}, transport,
                              TimePoint{})
                .value();
    polled_ip = address.ip();
  }

  SimHost host;
  SimRelayPath* path = nullptr;
  MultipathTransport transport;
  std::unique_ptr<CallMedia> media;
  ConnectivityMonitor monitor;
  std::array<uint8_t, 16> polled_ip{};
  std::optional<std::string> gave_up;
  std::optional<TimePoint> gave_up_at;
  std::vector<TimePoint> arrivals;  // steps at which media arrived
  uint64_t received = 0;
};

class HandoverCall {
 public:
  HandoverCall(const std::string& a_up, const std::string& a_down, const std::string& b_up = "delay=25ms",
               const std::string& b_down = "delay=25ms")
      : a_(relay_, 0, Address(0xC6336401, 40000), a_up, a_down),  // 198.51.100.1
        b_(relay_, 1, Address(0xCB007107, 50000), b_up, b_down) {}  // 203.0.113.7

  // The caller's network changes at `at`: a new address (same port: the OS keeps the
  // socket), usable at once; the old address receives nothing any more. Unless
  // `seen_locally`, the caller's interfaces do not show it (a NAT in between moved).
  void ChangeCallerAddressAt(Duration at, bool seen_locally = true) {
    change_at_ = at;
    change_seen_locally_ = seen_locally;
  }

  void RunUntil(double seconds_since_start) {
    const TimePoint end = TimePoint{} + FromMillis(seconds_since_start * 1000);
    std::array<media::Sample, media::kBlockSamples> block{}, out{};
    while (now_ < end) {
      now_ += milliseconds(10);
      if (change_at_ && now_ >= TimePoint{} + *change_at_) {
        a_.host.address = Address(0x0A2A0009, a_.host.address.port());  // 10.42.0.9
        relay_.Remember(a_.host.address, a_.host);
        if (!change_seen_locally_) a_.polled_ip = a_.host.address.ip();
        change_at_.reset();
      }
      for (media::Sample& s : block) {
        s = static_cast<media::Sample>(6000 * std::sin(2 * M_PI * 440 * static_cast<double>(n_++) / 48000));
      }
      for (Side* side : {&a_, &b_}) {
        if (side->gave_up) continue;
        ASSERT_TRUE(side->media->OnCapturedBlock(block, now_).ok());
      }
      relay_.Step(now_);
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

  // The longest stretch without media at `side` that ends after `from`, as
  // (last arrival before it, first arrival after it).
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
  SimRelay& relay() { return relay_; }

 private:
  // What the CLI's loop does every 50 ms: poll local addresses (every 500 ms), feed
  // the monitor the paths' report, carry out its actions.
  void Supervise(Side& side) {
    if ((now_ - TimePoint{}) % kLocalAddressPoll == Duration{0} && side.host.address.ip() != side.polled_ip) {
      side.polled_ip = side.host.address.ip();
      side.monitor.OnNetworkChange(NetworkChange::kLocalAddresses, now_);
    }
    const ConnectivitySnapshot snapshot{PeerLastHeard(side.transport.paths_report()),
                                        side.path->relay_acknowledged()};
    const ConnectivityActions actions = side.monitor.Update(snapshot, now_);
    if (actions.fresh_socket) side.path->FreshSocket();
    if (actions.rebind) side.path->RequestRebind();
    if (actions.give_up) {
      side.gave_up = actions.give_up;
      side.gave_up_at = now_;
    }
  }

  TimePoint now_{};
  uint64_t n_ = 0;
  SimRelay relay_;
  Side a_, b_;
  std::optional<Duration> change_at_;
  bool change_seen_locally_ = true;
};

double Seconds(TimePoint t) { return ToSeconds(t - TimePoint{}); }

TEST(HandoverTest, CallerAddressChangeMovesTheRelaySessionAndAudioResumesWithinOneSecond) {
  HandoverCall call("delay=20ms,jitter=3ms", "delay=20ms,jitter=3ms");
  call.ChangeCallerAddressAt(milliseconds(5'005));
  call.RunUntil(4.9);
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kConnected);
  EXPECT_EQ(call.b().monitor.state(), ConnectivityState::kConnected);
  call.RunUntil(12);
  const TimePoint change = TimePoint{} + milliseconds(5'005);
  const auto [a_last, a_back] = HandoverCall::LongestGapAfter(call.a(), change - milliseconds(500));
  const auto [b_last, b_back] = HandoverCall::LongestGapAfter(call.b(), change - milliseconds(500));
  std::printf("address change at %.2f s: audio back at the caller %.0f ms and at the callee %.0f ms after it\n",
              Seconds(change), ToMillis(a_back - change), ToMillis(b_back - change));
  EXPECT_LT(a_back - change, milliseconds(1000));
  EXPECT_LT(b_back - change, milliseconds(1000));
  for (Side* side : {&call.a(), &call.b()}) {
    EXPECT_EQ(side->monitor.state(), ConnectivityState::kConnected);
    EXPECT_FALSE(side->gave_up);
    ASSERT_FALSE(side->arrivals.empty());
    EXPECT_GT(side->arrivals.back(), TimePoint{} + milliseconds(11'900));  // still flowing at the end
  }
  // The relay has the caller at its new address and the new (fresh socket) port.
  const auto source = call.relay().table().SourceOf(SimRelay::kCallId, 0);
  ASSERT_TRUE(source);
  EXPECT_EQ(source->address, call.a().host.address);
  EXPECT_EQ(source->address.ip(), Address(0x0A2A0009, 0).ip());
  EXPECT_NE(source->address.port(), 40000);
  EXPECT_EQ(call.a().monitor.stats().fresh_sockets, 1u);
  EXPECT_EQ(call.b().monitor.stats().fresh_sockets, 0u);  // the callee's network did not change
}

TEST(HandoverTest, AddressChangeOnlyTheRelaySeesIsHealedByTheSilenceRebind) {
  // A NAT between the caller and the relay maps it anew: nothing local changes, so it
  // is the silence (1 s) that makes the caller rebind; the same socket will do.
  HandoverCall call("delay=20ms,jitter=3ms", "delay=20ms,jitter=3ms");
  call.ChangeCallerAddressAt(milliseconds(5'005), false);
  call.RunUntil(10);
  const TimePoint change = TimePoint{} + milliseconds(5'005);
  const auto [a_last, a_back] = HandoverCall::LongestGapAfter(call.a(), change - milliseconds(500));
  const auto [b_last, b_back] = HandoverCall::LongestGapAfter(call.b(), change - milliseconds(500));
  std::printf("address change the caller cannot see: audio back at the caller %.0f ms and at the callee %.0f ms\n",
              ToMillis(a_back - change), ToMillis(b_back - change));
  EXPECT_LT(a_back - change, milliseconds(2000));
  EXPECT_LT(b_back - change, milliseconds(2000));
  EXPECT_EQ(call.a().monitor.stats().fresh_sockets, 0u);
  EXPECT_EQ(call.a().monitor.stats().rebinds, 1u);
  const auto source = call.relay().table().SourceOf(SimRelay::kCallId, 0);
  ASSERT_TRUE(source);
  EXPECT_EQ(source->address, call.a().host.address);
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kConnected);
}

TEST(HandoverTest, ThreeSecondOutageReconnectsAndAudioIsBackWellWithinTwoSeconds) {
  HandoverCall call("delay=20ms,jitter=3ms,outage=5s+3s", "delay=20ms,jitter=3ms,outage=5s+3s");
  call.RunUntil(7.5);
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kReconnecting);
  EXPECT_EQ(call.b().monitor.state(), ConnectivityState::kReconnecting);
  call.RunUntil(15);
  const TimePoint usable = TimePoint{} + seconds(8);
  const auto [a_last, a_back] = HandoverCall::LongestGapAfter(call.a(), usable - seconds(4));
  const auto [b_last, b_back] = HandoverCall::LongestGapAfter(call.b(), usable - seconds(4));
  std::printf("3 s outage (5-8 s): audio back at the caller %.0f ms and at the callee %.0f ms after it ended\n",
              ToMillis(a_back - usable), ToMillis(b_back - usable));
  EXPECT_LT(a_back - usable, milliseconds(2000));
  EXPECT_LT(b_back - usable, milliseconds(2000));
  EXPECT_LT(a_back - usable, milliseconds(500));
  for (Side* side : {&call.a(), &call.b()}) {
    EXPECT_EQ(side->monitor.state(), ConnectivityState::kConnected);
    EXPECT_EQ(side->monitor.stats().reconnections, 1u);
    ASSERT_TRUE(side->monitor.stats().last_outage);
    EXPECT_NEAR(ToSeconds(*side->monitor.stats().last_outage), 3.0, 0.6);
    // An outage is not loss: the peer's reports must not buy copies, longer frames or
    // (waiting for copies) a deeper jitter buffer for a network that is clean again.
    const CallMediaStats& stats = side->media->stats();
    EXPECT_EQ(stats.redundant_copies, 0);
    EXPECT_EQ(stats.frame_ms, 20);
    EXPECT_LT(stats.jitter_buffer_delay_ms, 60);
  }
}

TEST(HandoverTest, ThirtyFiveSecondOutageEndsTheCallAfterThirtySecondsWithAReason) {
  HandoverCall call("delay=20ms,outage=5s+35s", "delay=20ms,outage=5s+35s");
  call.RunUntil(20);
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kReconnecting);
  EXPECT_GE(call.a().monitor.stats().fresh_sockets, 3u);  // it kept trying from fresh sockets
  call.RunUntil(36);
  for (Side* side : {&call.a(), &call.b()}) {
    ASSERT_TRUE(side->gave_up);
    EXPECT_NE(side->gave_up->find("30 s"), std::string::npos);
    EXPECT_NEAR(Seconds(*side->gave_up_at), 35.0, 0.2);
    EXPECT_EQ(side->monitor.state(), ConnectivityState::kLost);
  }
}

TEST(HandoverTest, OneWayFailureOnlyTheDeafSideReconnectsAndRecovers) {
  // The relay's packets to the caller are lost for 4 s; the caller's still go out.
  HandoverCall call("delay=20ms,jitter=3ms", "delay=20ms,jitter=3ms,outage=5s+4s");
  call.RunUntil(8);
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kReconnecting);
  EXPECT_EQ(call.b().monitor.state(), ConnectivityState::kConnected);
  EXPECT_GE(call.a().monitor.stats().fresh_sockets, 1u);  // no acks come back: fresh sockets
  call.RunUntil(15);
  const TimePoint usable = TimePoint{} + seconds(9);
  const auto [a_last, a_back] = HandoverCall::LongestGapAfter(call.a(), usable - seconds(5));
  std::printf("one-way failure (relay->caller 5-9 s): audio back at the caller %.0f ms after it healed\n",
              ToMillis(a_back - usable));
  EXPECT_LT(a_back - usable, milliseconds(2000));
  EXPECT_EQ(call.a().monitor.state(), ConnectivityState::kConnected);
  EXPECT_EQ(call.b().monitor.stats().reconnections, 0u);
  // The callee kept hearing the caller throughout, across the caller's fresh sockets.
  const auto [b_last, b_back] = HandoverCall::LongestGapAfter(call.b(), TimePoint{} + seconds(4));
  EXPECT_LT(b_back - b_last, milliseconds(500));
}

}  // namespace
}  // namespace parley::call
