// PathManager in simulated time: two sides, each with its own manager, joined by
// several netsim paths carrying 50 media packets/s, receiver reports and probes. The
// scenarios of issue #5 (UDP blocked, relay blocked mid-call, P2P blocked, loss or RTT
// rising, equal paths, recovery) and the audio each direction loses.
#include "parley/call/path_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "parley/net/netsim_path.h"
#include "parley/net/netsim_spec.h"

namespace parley::call {
namespace {

using net::PathKind;

// What the harness puts on the simulated wire (the call seals the real ones).
enum : uint8_t { kMedia = 1, kReport = 2, kProbe = 3, kReply = 4 };

std::vector<uint8_t> Encode(uint8_t type, uint8_t path, uint32_t a, uint32_t b = 0, uint32_t c = 0) {
  std::vector<uint8_t> out{type, path};
  for (uint32_t v : {a, b, c}) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
  }
  out.resize(type == kMedia ? 80 : 64);  // padded as sealed packets are
  return out;
}
uint32_t Field(const std::vector<uint8_t>& bytes, int index) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | bytes[2 + 4 * index + i];
  return v;
}

struct PathSpec {
  PathKind kind;
  std::string netsim;  // both directions
};

// One side: its manager, what it has received, and its loss report state.
struct Side {
  explicit Side(TimePoint now) : manager({}, now) {}
  PathManager manager;
  uint32_t next_media = 0;
  std::map<uint32_t, TimePoint> media_arrivals;  // distinct media sequence -> arrival
  std::set<uint32_t> reports_seen;
  uint32_t next_report = 0;
  uint32_t interval_expected_from = 0;  // first sequence of the current report interval
  uint32_t interval_received = 0;
  std::optional<TimePoint> first_media;
  std::vector<std::pair<double, std::string>> moves;  // (time s, kind) at each change
};

class Harness {
 public:
  explicit Harness(const std::vector<PathSpec>& paths, uint64_t seed = 7) : a_(start_), b_(start_) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      auto spec = net::ParseNetsimSpec(paths[i].netsim);
      EXPECT_TRUE(spec.ok()) << paths[i].netsim;
      links_.push_back(std::make_unique<net::NetsimPath>(*spec, seed + i, start_));
      kinds_.push_back(paths[i].kind);
      a_.manager.AddPath(paths[i].kind, start_);
      b_.manager.AddPath(paths[i].kind, start_);
      a_.manager.SetCarrier(static_cast<PathId>(i), true, true, start_);
      b_.manager.SetCarrier(static_cast<PathId>(i), true, true, start_);
    }
  }

  void RunUntil(double seconds_since_start) {
    const TimePoint end = start_ + FromMillis(seconds_since_start * 1000);
    while (now_ < end) {
      now_ += milliseconds(10);
      Step(a_, b_, true);
      Step(b_, a_, false);
    }
  }

  std::optional<PathKind> ActiveKind(const Side& side) const {
    if (!side.manager.active()) return std::nullopt;
    return kinds_[*side.manager.active()];
  }

  // The longest run of media (in ms of audio) that `receiver` never got, among the
  // packets sent between `from_s` and `to_s`.
  static double LongestLossMs(const Side& sender, const Side& receiver, double from_s, double to_s) {
    const auto first = static_cast<uint32_t>(from_s * 50);
    const auto last = std::min(sender.next_media, static_cast<uint32_t>(to_s * 50));
    uint32_t run = 0, longest = 0;
    for (uint32_t seq = first; seq < last; ++seq) {
      run = receiver.media_arrivals.count(seq) ? 0 : run + 1;
      longest = std::max(longest, run);
    }
    return longest * 20.0;
  }

  Side& a() { return a_; }
  Side& b() { return b_; }
  TimePoint start() const { return start_; }

 private:
  net::NetsimLink& Out(std::size_t path, bool from_a) {
    return from_a ? links_[path]->a_to_b() : links_[path]->b_to_a();
  }
  net::NetsimLink& In(std::size_t path, bool to_a) { return to_a ? links_[path]->b_to_a() : links_[path]->a_to_b(); }

  void Step(Side& self, Side& /*peer*/, bool is_a) {
    PathManager& m = self.manager;
    // Receive on every path.
    for (std::size_t path = 0; path < links_.size(); ++path) {
      for (net::NetsimPacket& packet : In(path, is_a).Receive(now_)) {
        const auto id = static_cast<PathId>(path);
        const std::vector<uint8_t>& bytes = packet.bytes;
        switch (bytes[0]) {
          case kMedia: {
            const uint32_t seq = Field(bytes, 0);
            if (self.media_arrivals.count(seq)) break;  // a copy: the replay window drops it
            self.media_arrivals[seq] = now_;
            if (!self.first_media) self.first_media = now_;
            ++self.interval_received;
            m.OnReceived(id, now_);
            break;
          }
          case kReport: {
            if (!self.reports_seen.insert(Field(bytes, 0)).second) break;
            m.OnReceived(id, now_);
            const uint32_t expected = Field(bytes, 1), received = Field(bytes, 2);
            if (expected > 0) m.OnSendLossReport(1.0 - std::min(1.0, double(received) / expected), now_);
            break;
          }
          case kProbe:
            m.OnReceived(id, now_);
            Out(path, is_a).Send(Encode(kReply, bytes[1], Field(bytes, 0), Field(bytes, 1), 0), now_);
            break;
          case kReply:
            m.OnReceived(id, now_);
            if (bytes[1] == id) m.OnProbeReply(id, Field(bytes, 0), Field(bytes, 1), Field(bytes, 2), now_);
            break;
        }
      }
    }
    m.Update(now_);
    const std::string active = m.active() ? std::string(net::PathKindName(kinds_[*m.active()])) : "";
    if (!active.empty() && (self.moves.empty() || self.moves.back().second != active)) {
      self.moves.push_back({ToSeconds(now_ - start_), active});
    }
    for (const ProbeRequest& probe : m.TakeDueProbes(now_)) {
      Out(probe.path, is_a).Send(Encode(kProbe, probe.path, probe.sequence, probe.sent_ms), now_);
    }
    const int64_t tick = (now_ - start_) / milliseconds(10);
    if (tick % 2 == 0) {  // media every 20 ms
      const uint32_t seq = self.next_media++;
      for (PathId path : m.SendPaths()) Out(path, is_a).Send(Encode(kMedia, path, seq), now_);
    }
    if (tick % 100 == 0) {  // a receiver report every second, about the media we got
      const Side& peer_side = is_a ? b_ : a_;
      const uint32_t upto = peer_side.next_media > 5 ? peer_side.next_media - 5 : 0;  // minus those in flight
      const uint32_t expected = upto > self.interval_expected_from ? upto - self.interval_expected_from : 0;
      uint32_t received = 0;
      for (uint32_t seq = self.interval_expected_from; seq < upto; ++seq) received += self.media_arrivals.count(seq);
      self.interval_expected_from = std::max(upto, self.interval_expected_from);
      const uint32_t id = self.next_report++;
      for (PathId path : m.SendPaths()) Out(path, is_a).Send(Encode(kReport, path, id, expected, received), now_);
    }
  }

  TimePoint start_{};
  TimePoint now_{};
  std::vector<std::unique_ptr<net::NetsimPath>> links_;
  std::vector<PathKind> kinds_;
  Side a_, b_;
};

std::string Moves(const Side& side) {
  std::string out;
  for (const auto& [t, kind] : side.moves) out += std::to_string(t).substr(0, 5) + "s:" + kind + " ";
  return out;
}

TEST(PathManagerTest, UdpBlockedFromTheStartStartsOnTls) {
  Harness h({{PathKind::kRelayUdp, "loss=100%"}, {PathKind::kRelayTls, "delay=60ms,jitter=5ms"}});
  h.RunUntil(30);
  for (Side* side : {&h.a(), &h.b()}) {
    ASSERT_TRUE(side->first_media);
    const double first_audio_s = ToSeconds(*side->first_media - h.start());
    std::printf("udp blocked: first media after %.0f ms; moves %s\n", first_audio_s * 1000, Moves(*side).c_str());
    EXPECT_LT(first_audio_s, 1.0);
    ASSERT_FALSE(side->moves.empty());
    EXPECT_EQ(side->moves.front().second, "relay-tls");
    EXPECT_LT(side->moves.front().first, 1.0);
    EXPECT_EQ(side->manager.switches(), 0u);
    EXPECT_EQ(side->manager.SendPaths(), std::vector<PathId>{1});
  }
  EXPECT_EQ(Harness::LongestLossMs(h.a(), h.b(), 1, 29), 0);
  // The blocked path is still probed (it may open), but only once a second after the race.
  const PathStatus udp = h.a().manager.Status()[0];
  EXPECT_EQ(udp.state, PathState::kRacing);
  EXPECT_LT(udp.probes_sent, 10.0 / 0.2 + 20 + 2);
}

TEST(PathManagerTest, RelayBlockedMidCallMovesWithLessThanOneSecondLost) {
  Harness h({{PathKind::kRelayUdp, "delay=30ms,jitter=5ms,outage=20s+1000s"},
             {PathKind::kRelayTls, "delay=50ms,jitter=10ms"}});
  h.RunUntil(19.9);
  EXPECT_EQ(h.ActiveKind(h.a()), PathKind::kRelayUdp);
  EXPECT_EQ(h.ActiveKind(h.b()), PathKind::kRelayUdp);
  h.RunUntil(40);
  const double a_to_b = Harness::LongestLossMs(h.a(), h.b(), 15, 39);
  const double b_to_a = Harness::LongestLossMs(h.b(), h.a(), 15, 39);
  std::printf("relay blocked at 20 s: audio lost a->b %.0f ms, b->a %.0f ms; a moves %s\n", a_to_b, b_to_a,
              Moves(h.a()).c_str());
  EXPECT_LT(a_to_b, 1000);
  EXPECT_LT(b_to_a, 1000);
  for (Side* side : {&h.a(), &h.b()}) {
    EXPECT_EQ(h.ActiveKind(*side), PathKind::kRelayTls);
    EXPECT_EQ(side->manager.switches(), 1u);
    EXPECT_EQ(side->manager.Status()[0].state, PathState::kDown);
    EXPECT_EQ(side->manager.SendPaths(), std::vector<PathId>{1});
  }
}

TEST(PathManagerTest, P2pBlockedStaysOnTheRelay) {
  Harness h({{PathKind::kDirectUdp, "loss=100%"}, {PathKind::kRelayUdp, "delay=40ms,jitter=5ms"}});
  h.RunUntil(30);
  for (Side* side : {&h.a(), &h.b()}) {
    EXPECT_EQ(h.ActiveKind(*side), PathKind::kRelayUdp);
    EXPECT_EQ(side->manager.switches(), 0u);
    EXPECT_EQ(side->moves.size(), 1u) << Moves(*side);
  }
  EXPECT_EQ(Harness::LongestLossMs(h.a(), h.b(), 1, 29), 0);
}

TEST(PathManagerTest, PrefersP2pWhenBothWork) {
  Harness h({{PathKind::kRelayUdp, "delay=40ms"}, {PathKind::kDirectUdp, "delay=40ms"}});
  h.RunUntil(20);
  EXPECT_EQ(h.ActiveKind(h.a()), PathKind::kDirectUdp) << Moves(h.a());
  EXPECT_EQ(h.ActiveKind(h.b()), PathKind::kDirectUdp) << Moves(h.b());
}

TEST(PathManagerTest, LossRisingOnTheCurrentPathMovesToTheBetterOne) {
  Harness h({{PathKind::kDirectUdp, "delay=30ms,jitter=5ms;at=20s:loss=25%"},
             {PathKind::kRelayUdp, "delay=40ms,jitter=5ms"}});
  h.RunUntil(19.9);
  EXPECT_EQ(h.ActiveKind(h.a()), PathKind::kDirectUdp);
  h.RunUntil(30);
  for (Side* side : {&h.a(), &h.b()}) {
    std::printf("loss 25%% from 20 s: moves %s\n", Moves(*side).c_str());
    EXPECT_EQ(h.ActiveKind(*side), PathKind::kRelayUdp);
    ASSERT_GE(side->moves.size(), 2u);
    EXPECT_LT(side->moves[1].first, 30.0);
  }
}

TEST(PathManagerTest, RttRisingOnTheCurrentPathMovesToTheBetterOne) {
  Harness h({{PathKind::kDirectUdp, "delay=30ms,jitter=5ms;at=20s:delay=250ms"},
             {PathKind::kRelayUdp, "delay=40ms,jitter=5ms"}});
  h.RunUntil(30);
  for (Side* side : {&h.a(), &h.b()}) {
    std::printf("rtt 60 -> 500 ms from 20 s: moves %s\n", Moves(*side).c_str());
    EXPECT_EQ(h.ActiveKind(*side), PathKind::kRelayUdp);
    EXPECT_EQ(side->manager.switches(), 1u);
  }
}

TEST(PathManagerTest, EqualPathsDoNotFlap) {
  Harness h({{PathKind::kRelayUdp, "delay=40ms,jitter=15ms,loss=3%"},
             {PathKind::kRelayUdp, "delay=40ms,jitter=15ms,loss=3%"}});
  h.RunUntil(180);
  for (Side* side : {&h.a(), &h.b()}) {
    std::printf("equal paths, 3%% loss, 15 ms jitter: %d switches in 180 s\n",
                static_cast<int>(side->manager.switches()));
    EXPECT_LE(side->manager.switches(), 1u);
  }
}

TEST(PathManagerTest, SwitchesBackOnlyAfterTheFirstPathHasRecoveredForAWhile) {
  Harness h({{PathKind::kDirectUdp, "delay=30ms,jitter=5ms;at=20s:loss=30%;at=40s:loss=0%"},
             {PathKind::kRelayUdp, "delay=40ms,jitter=5ms"}});
  h.RunUntil(39);
  EXPECT_EQ(h.ActiveKind(h.a()), PathKind::kRelayUdp);
  h.RunUntil(45);
  EXPECT_EQ(h.ActiveKind(h.a()), PathKind::kRelayUdp) << "moved back before the recovery was proven";
  h.RunUntil(100);
  for (Side* side : {&h.a(), &h.b()}) {
    std::printf("loss 30%% from 20 s to 40 s: moves %s\n", Moves(*side).c_str());
    EXPECT_EQ(h.ActiveKind(*side), PathKind::kDirectUdp);
    EXPECT_EQ(side->manager.switches(), 2u);
  }
}

// --- Single-manager rules ---------------------------------------------------------

TEST(PathManagerTest, RacesEveryReadyPathUntilOneAnswers) {
  TimePoint now{};
  PathManager m({}, now);
  m.AddPath(PathKind::kRelayUdp, now);
  m.AddPath(PathKind::kRelayTls, now);
  m.SetCarrier(0, true, true, now);
  m.Update(now);
  EXPECT_EQ(m.SendPaths(), std::vector<PathId>{0});  // TLS not connected yet
  m.SetCarrier(1, true, true, now);
  m.Update(now);
  EXPECT_EQ(m.SendPaths(), (std::vector<PathId>{0, 1}));
  EXPECT_EQ(m.TakeDueProbes(now).size(), 2u);
  EXPECT_TRUE(m.TakeDueProbes(now).empty());
  now += milliseconds(50);
  m.OnReceived(1, now);
  m.Update(now);
  EXPECT_EQ(m.active(), PathId{1});
  EXPECT_EQ(m.SendPaths(), std::vector<PathId>{1});
  EXPECT_EQ(m.switches(), 0u);
}

TEST(PathManagerTest, ProbeReplyGivesRttAndIgnoresForgedEchoes) {
  TimePoint now{};
  PathManager m({}, now);
  m.AddPath(PathKind::kRelayUdp, now);
  m.SetCarrier(0, true, true, now);
  now += milliseconds(5);
  const auto probes = m.TakeDueProbes(now);
  ASSERT_EQ(probes.size(), 1u);
  now += milliseconds(80);
  m.OnProbeReply(0, probes[0].sequence, probes[0].sent_ms + 1, 0, now);  // wrong echo
  EXPECT_FALSE(m.Status()[0].rtt_ms);
  m.OnProbeReply(0, probes[0].sequence + 1, probes[0].sent_ms, 0, now);  // not sent
  EXPECT_FALSE(m.Status()[0].rtt_ms);
  m.OnProbeReply(0, probes[0].sequence, probes[0].sent_ms, 20, now);
  ASSERT_TRUE(m.Status()[0].rtt_ms);
  EXPECT_DOUBLE_EQ(*m.Status()[0].rtt_ms, 60);
  EXPECT_EQ(m.Status()[0].probes_answered, 1u);
  m.OnProbeReply(0, probes[0].sequence, probes[0].sent_ms, 20, now);  // a copy counts once
  EXPECT_EQ(m.Status()[0].probes_answered, 1u);
}

TEST(PathManagerTest, SilenceOnABusyActivePathDuplicatesOntoTheNextBest) {
  TimePoint now{};
  PathManager m({}, now);
  m.AddPath(PathKind::kDirectUdp, now);
  m.AddPath(PathKind::kRelayUdp, now);
  m.SetCarrier(0, true, true, now);
  m.SetCarrier(1, true, true, now);
  for (int i = 0; i < 100; ++i) {  // 2 s of media on path 0; path 1 answers probes
    now += milliseconds(20);
    m.OnReceived(0, now);
    if (i % 25 == 0) m.OnReceived(1, now);
    m.Update(now);
  }
  ASSERT_EQ(m.active(), PathId{0});
  EXPECT_EQ(m.SendPaths(), std::vector<PathId>{0});
  now += milliseconds(250);  // silence
  m.Update(now);
  EXPECT_EQ(m.Status()[0].state, PathState::kSuspect);
  EXPECT_EQ(m.SendPaths(), (std::vector<PathId>{0, 1}));
  // Suspect paths are probed fast.
  (void)m.TakeDueProbes(now);
  now += milliseconds(100);
  bool probed = false;
  for (const ProbeRequest& p : m.TakeDueProbes(now)) probed |= p.path == 0;
  EXPECT_TRUE(probed);
  // It answers again: back to one path.
  m.OnReceived(0, now);
  m.Update(now);
  EXPECT_EQ(m.Status()[0].state, PathState::kUp);
  EXPECT_EQ(m.SendPaths(), std::vector<PathId>{0});
  EXPECT_EQ(m.switches(), 0u);
}

TEST(PathManagerTest, AClosedActivePathIsLeftAtOnce) {
  TimePoint now{};
  PathManager m({}, now);
  m.AddPath(PathKind::kRelayTls, now);
  m.AddPath(PathKind::kRelayUdp, now);
  m.SetCarrier(0, true, true, now);
  m.SetCarrier(1, true, true, now);
  m.OnReceived(0, now);
  m.Update(now);
  now += milliseconds(10);
  m.OnReceived(1, now);
  m.Update(now);
  ASSERT_EQ(m.active(), PathId{0});
  m.SetCarrier(0, false, false, now);
  m.Update(now);
  EXPECT_EQ(m.active(), PathId{1});
  EXPECT_EQ(m.switches(), 1u);
  EXPECT_EQ(m.SendPaths(), std::vector<PathId>{1});
}

}  // namespace
}  // namespace parley::call
