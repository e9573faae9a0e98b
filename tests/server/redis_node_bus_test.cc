// RedisNodeBus against a real redis-server that the fixture starts on a free 127.0.0.1
// port: two nodes' presence (and its compare-and-renew), busy claims, batched
// (pipelined) renewals and a hub's renewal of its users through them, envelopes (a
// PUBLISH nobody hears is an error), relays, malformed records, Redis going away and
// Redis stalled (SIGSTOP: timeouts and the circuit breaker).
#include "parley/server/redis_node_bus.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/server/node_bus_codec.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/sqlite_store.h"

namespace parley::server {
namespace {

using WallClock = std::chrono::steady_clock;

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Polls `condition` every 10 ms for at most `limit`.
template <typename Condition>
bool WaitFor(Condition condition, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  auto deadline = WallClock::now() + limit;
  while (WallClock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// Envelopes a bus received, in order.
class Inbox {
 public:
  std::function<void(NodeEnvelope)> Receiver() {
    return [this](NodeEnvelope envelope) {
      std::lock_guard lock(mutex_);
      envelopes_.push_back(std::move(envelope));
    };
  }
  std::vector<NodeEnvelope> Snapshot() const {
    std::lock_guard lock(mutex_);
    return envelopes_;
  }
  size_t size() const { return Snapshot().size(); }

 private:
  mutable std::mutex mutex_;  // guards envelopes_
  std::vector<NodeEnvelope> envelopes_;
};

NodeEnvelope Envelope(const std::string& from, int n) {
  NodeEnvelope envelope;
  envelope.kind = NodeEnvelope::Kind::kDeliver;
  envelope.from_node = from;
  envelope.connection = static_cast<ConnectionId>(n);
  envelope.user = "bob";
  envelope.text = R"({"type":"ping","n":)" + std::to_string(n) + "}";
  return envelope;
}

signal::CallId Call(uint8_t n) {
  signal::CallId call{};
  call.fill(n);
  return call;
}

class RedisNodeBusTest : public testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    StartRedis();
    url_ = "redis://127.0.0.1:" + std::to_string(port_) + "/test";
    auto a = RedisNodeBus::Connect(url_, "node-a");
    ASSERT_TRUE(a.ok()) << a.error().message;
    auto b = RedisNodeBus::Connect(url_, "node-b");
    ASSERT_TRUE(b.ok()) << b.error().message;
    a_ = std::move(*a);
    b_ = std::move(*b);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    StopRedis();
  }

  void StartRedis() {
    // Everything the child needs is made before fork(): the buses' threads may hold the
    // allocator's lock at that moment, so the child only calls async-signal-safe functions.
    const std::string port = std::to_string(port_);
    const char* const argv[] = {"redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--loglevel", "warning", nullptr};
    const char* server = "/usr/bin/redis-server";  // Debian's redis-server package
    ASSERT_EQ(access(server, X_OK), 0) << "redis-server is missing: run scripts/install-deps";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive an aborted test (ctest would wait for its pipe)
      int null_fd = open("/dev/null", O_WRONLY);
      dup2(null_fd, STDOUT_FILENO);  // its start banner and warnings would bury the test's output
      execv(server, const_cast<char* const*>(argv));
      _exit(127);
    }
    ASSERT_TRUE(WaitFor([&] {
      redisContext* probe = redisConnect("127.0.0.1", port_);
      bool up = probe != nullptr && probe->err == 0;
      if (probe) redisFree(probe);
      return up;
    })) << "redis-server did not start on port " << port_;
  }
  void StopRedis() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // A bus with short waits, for the tests that stall redis-server with SIGSTOP.
  std::unique_ptr<RedisNodeBus> ConnectWithShortTimeouts() {
    RedisBusOptions options;
    options.connect_timeout = milliseconds(300);
    options.command_timeout = milliseconds(300);
    options.retry = {milliseconds(500), seconds(1)};
    auto c = RedisNodeBus::Connect(url_, "node-c", options);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? std::move(*c) : nullptr;
  }

  uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string url_;
  // The receivers' inboxes outlive the buses: a bus may call its receiver until it is destroyed.
  Inbox to_a;
  Inbox to_b;
  std::unique_ptr<RedisNodeBus> a_;
  std::unique_ptr<RedisNodeBus> b_;
};

TEST_F(RedisNodeBusTest, PresenceIsReplacedFoundAndClearedOnlyByItsOwner) {
  PresenceRecord on_a{"node-a", 1, "laptop"};
  PresenceRecord on_b{"node-b", 7, "phone"};
  auto first = a_->SetPresence("alice", on_a, seconds(10));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, (PresenceWrite{true, std::nullopt}));

  auto replaced = b_->SetPresence("alice", on_b, seconds(10));  // same login time: node-b is later
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(*replaced, (PresenceWrite{true, on_a}));

  auto found = a_->FindPresence("alice");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->value_or(PresenceRecord{}), on_b);

  ASSERT_TRUE(a_->ClearPresence("alice", on_a).ok());  // the later login stays
  EXPECT_EQ(a_->FindPresence("alice")->value_or(PresenceRecord{}), on_b);
  ASSERT_TRUE(b_->ClearPresence("alice", on_b).ok());
  EXPECT_FALSE(a_->FindPresence("alice")->has_value());
  EXPECT_FALSE(a_->FindPresence("nobody")->has_value());
}

TEST_F(RedisNodeBusTest, PresenceExpires) {
  ASSERT_TRUE(a_->SetPresence("carol", {"node-a", 3, "d"}, milliseconds(150)).ok());
  EXPECT_TRUE(b_->FindPresence("carol")->has_value());
  EXPECT_TRUE(WaitFor([&] { return !b_->FindPresence("carol")->has_value(); }));
  // Refreshing restarts the ttl.
  ASSERT_TRUE(a_->SetPresence("carol", {"node-a", 3, "d"}, milliseconds(300)).ok());
  auto refreshed = a_->SetPresence("carol", {"node-a", 3, "d"}, seconds(10));
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(*refreshed, (PresenceWrite{true, std::nullopt}));  // the same login replaces nobody
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_TRUE(b_->FindPresence("carol")->has_value());
}

// The login script orders logins as LoggedInBefore does, whichever write comes second:
// times past 2^32 ms, node ids one a prefix of the other, connections past 2^53 (Lua's
// numbers), and what a record of another format version or junk gives.
TEST_F(RedisNodeBusTest, ALoginWriteKeepsTheLaterLoginWhateverTheWriteOrder) {
  constexpr int64_t t = 1'767'225'600'000;
  const std::vector<std::pair<PresenceRecord, PresenceRecord>> earlier_later = {
      {{"node-b", 9, "d", t}, {"node-a", 1, "d", t + 1}},
      {{"node-z", 1, "d", t}, {"node-a", 1, "d", t + 256}},
      {{"node-a", 1, "d", 0}, {"node-a", 1, "d", t}},
      {{"n", 5, "d", t}, {"n1", 1, "d", t}},
      {{"node-a", 9, "d", t}, {"node-b", 1, "d", t}},
      {{"node-a", 1, "d", t}, {"node-a", 2, "d", t}},
      {{"node-a", 0xFF, "d", t}, {"node-a", 0x100, "d", t}},
      {{"node-a", (1ull << 53) + 1, "d", t}, {"node-a", (1ull << 53) + 2, "d", t}},
      {{"node-a", 1, "d", (int64_t{1} << 40) - 1}, {"node-a", 1, "d", int64_t{1} << 40}},
  };
  int round = 0;
  for (const auto& [earlier, later] : earlier_later) {
    ASSERT_TRUE(LoggedInBefore(earlier, later));
    const std::string in_order = "order" + std::to_string(round);
    const std::string reversed = "reversed" + std::to_string(round++);
    SCOPED_TRACE(in_order);
    ASSERT_EQ(a_->SetPresence(in_order, earlier, seconds(600)).value(), (PresenceWrite{true, std::nullopt}));
    EXPECT_EQ(b_->SetPresence(in_order, later, seconds(600)).value(), (PresenceWrite{true, earlier}));
    EXPECT_EQ(a_->FindPresence(in_order).value(), later);
    ASSERT_EQ(b_->SetPresence(reversed, later, seconds(600)).value(), (PresenceWrite{true, std::nullopt}));
    EXPECT_EQ(a_->SetPresence(reversed, earlier, seconds(600)).value(), (PresenceWrite{false, later}));
    EXPECT_EQ(a_->FindPresence(reversed).value(), later);
  }
  // A batch answers entry by entry as single writes do, a key of the wrong type failing
  // only its own entry.
  redisContext* raw = redisConnect("127.0.0.1", port_);
  ASSERT_TRUE(raw != nullptr && raw->err == 0);
  freeReplyObject(redisCommand(raw, "SADD %s %s", "test:presence:wrongtype", "x"));
  freeReplyObject(redisCommand(raw, "SET %s %b", "test:presence:oldformat", "\x01\x02\0\0\0\0\0\0\0\x07\x01n\x01" "d",
                               size_t{14}));
  redisFree(raw);
  const PresenceRecord mine{"node-a", 3, "d", t};
  const std::vector<PresenceRenewal> logins{{"order0", mine}, {"wrongtype", mine}, {"oldformat", mine}, {"fresh", mine}};
  auto written = a_->SetPresences(logins, seconds(600));
  ASSERT_EQ(written.size(), 4u);
  ASSERT_TRUE(written[0].ok()) << written[0].error().message;
  EXPECT_EQ(*written[0], (PresenceWrite{false, earlier_later[0].second}));
  ASSERT_FALSE(written[1].ok());
  EXPECT_NE(written[1].error().message.find("WRONGTYPE"), std::string::npos) << written[1].error().message;
  ASSERT_TRUE(written[2].ok()) << written[2].error().message;  // a version 1 record keeps nobody online
  EXPECT_EQ(*written[2], (PresenceWrite{true, std::nullopt}));
  ASSERT_TRUE(written[3].ok()) << written[3].error().message;
  EXPECT_EQ(*written[3], (PresenceWrite{true, std::nullopt}));
  EXPECT_EQ(a_->FindPresence("oldformat").value(), mine);
  EXPECT_TRUE(a_->SetPresences({}, seconds(1)).empty());
}

TEST_F(RedisNodeBusTest, PrefixesKeepCommunitiesApart) {
  auto other = RedisNodeBus::Connect("redis://127.0.0.1:" + std::to_string(port_) + "/other", "node-a");
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_TRUE(a_->SetPresence("dave", {"node-a", 1, "d"}, seconds(10)).ok());
  EXPECT_FALSE((*other)->FindPresence("dave")->has_value());
  EXPECT_TRUE((*other)->ClaimBusy("dave", Call(9), seconds(10)).value());
  EXPECT_TRUE(a_->ClaimBusy("dave", Call(1), seconds(10)).value());
}

TEST_F(RedisNodeBusTest, TwoNodesRacingForOneUserExactlyOneWins) {
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    std::string user = "erin" + std::to_string(round);
    std::atomic<int> ready{0};
    bool a_won = false, b_won = false;
    auto race = [&](RedisNodeBus& bus, uint8_t call, bool& won) {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      auto claimed = bus.ClaimBusy(user, Call(call), seconds(10));
      ASSERT_TRUE(claimed.ok()) << claimed.error().message;
      won = *claimed;
    };
    std::thread ta([&] { race(*a_, 1, a_won); });
    std::thread tb([&] { race(*b_, 2, b_won); });
    ta.join();
    tb.join();
    EXPECT_NE(a_won, b_won) << "round " << round;
  }
}

TEST_F(RedisNodeBusTest, BusyClaimsAreRenewedAndReleasedOnlyByTheirHolder) {
  EXPECT_TRUE(a_->ClaimBusy("frank", Call(1), seconds(10)).value());
  EXPECT_TRUE(a_->ClaimBusy("frank", Call(1), seconds(10)).value());  // the holder re-claims
  EXPECT_FALSE(b_->ClaimBusy("frank", Call(2), seconds(10)).value());
  ASSERT_TRUE(b_->ReleaseBusy("frank", Call(2)).ok());  // not its claim: no effect
  EXPECT_FALSE(b_->ClaimBusy("frank", Call(2), seconds(10)).value());
  // Call ids are chosen by clients: the same id from another node neither renews,
  // takes over nor releases this node's claim.
  EXPECT_FALSE(b_->ClaimBusy("frank", Call(1), seconds(10)).value());
  ASSERT_TRUE(b_->ReleaseBusy("frank", Call(1)).ok());
  EXPECT_FALSE(b_->ClaimBusy("frank", Call(2), seconds(10)).value());
  ASSERT_TRUE(a_->ReleaseBusy("frank", Call(1)).ok());  // its own node releases it
  EXPECT_TRUE(b_->ClaimBusy("frank", Call(2), seconds(10)).value());

  EXPECT_TRUE(a_->ClaimBusy("grace", Call(3), milliseconds(150)).value());
  EXPECT_FALSE(b_->ClaimBusy("grace", Call(4), seconds(10)).value());
  EXPECT_TRUE(WaitFor([&] { return b_->ClaimBusy("grace", Call(4), seconds(10)).value(); }));
  EXPECT_FALSE(a_->ClaimBusy("grace", Call(3), seconds(10)).value());
}

TEST_F(RedisNodeBusTest, EnvelopesArriveBothWaysInOrder) {
  a_->SetReceiver(to_a.Receiver());
  b_->SetReceiver(to_b.Receiver());
  constexpr int kCount = 200;
  std::thread sender_a([&] {
    for (int n = 0; n < kCount; ++n) EXPECT_TRUE(a_->Send("node-b", Envelope("node-a", n)).ok());
  });
  for (int n = 0; n < kCount; ++n) ASSERT_TRUE(b_->Send("node-a", Envelope("node-b", n)).ok());
  sender_a.join();
  ASSERT_TRUE(WaitFor([&] { return to_a.size() == kCount && to_b.size() == kCount; }));
  auto at_a = to_a.Snapshot();
  auto at_b = to_b.Snapshot();
  for (int n = 0; n < kCount; ++n) {
    EXPECT_EQ(at_a[n], Envelope("node-b", n));
    EXPECT_EQ(at_b[n], Envelope("node-a", n));
  }
  // Nobody listens: the envelope is lost, and the sender is told so (the hub then
  // treats that node as gone).
  auto unheard = a_->Send("node-nobody", Envelope("node-a", 0));
  ASSERT_FALSE(unheard.ok());
  EXPECT_EQ(unheard.error().message,
            "No node 'node-nobody' listens on the node bus (it is down, or reconnecting to Redis), so the message to "
            "it was lost; calls through that node end.");
  EXPECT_TRUE(a_->Send("node-b", Envelope("node-a", 0)).ok());  // a refused send opens no breaker
  auto bad = a_->Send("bad node", Envelope("node-a", 0));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not a node id"), std::string::npos);
}

TEST_F(RedisNodeBusTest, EnvelopesBeforeSetReceiverAreHeldAndMalformedOnesDropped) {
  ASSERT_TRUE(a_->Send("node-b", Envelope("node-a", 1)).ok());
  redisContext* raw = redisConnect("127.0.0.1", port_);
  ASSERT_TRUE(raw != nullptr && raw->err == 0);
  freeReplyObject(redisCommand(raw, "PUBLISH %s %b", "test:node:node-b", "\x01\x01garbage", size_t{9}));
  redisFree(raw);
  ASSERT_TRUE(a_->Send("node-b", Envelope("node-a", 2)).ok());
  ASSERT_TRUE(WaitFor([&] { return b_->malformed_envelopes() == 1; }));
  b_->SetReceiver(to_b.Receiver());
  ASSERT_TRUE(WaitFor([&] { return to_b.size() == 2; }));
  EXPECT_EQ(to_b.Snapshot()[0], Envelope("node-a", 1));
  EXPECT_EQ(to_b.Snapshot()[1], Envelope("node-a", 2));
}

TEST_F(RedisNodeBusTest, RelaysAreListedUntilTheyStopAnnouncing) {
  RelayRecord short_lived{"relay-1", "10.0.0.1", 3478, 2, 100};
  RelayRecord long_lived{"relay-2", "relay2.example.org", 3479, 5, 200};
  ASSERT_TRUE(a_->AnnounceRelay(short_lived, milliseconds(200)).ok());
  ASSERT_TRUE(a_->AnnounceRelay(long_lived, seconds(10)).ok());
  auto live = b_->LiveRelays();
  ASSERT_TRUE(live.ok()) << live.error().message;
  EXPECT_EQ(live->size(), 2u);
  ASSERT_TRUE(WaitFor([&] { return b_->LiveRelays()->size() == 1; }));
  EXPECT_EQ(b_->LiveRelays()->front(), long_lived);
  long_lived.calls = 6;  // a new announcement replaces the load
  ASSERT_TRUE(a_->AnnounceRelay(long_lived, seconds(10)).ok());
  EXPECT_EQ(b_->LiveRelays()->front(), long_lived);
  ASSERT_TRUE(a_->AnnounceRelay(short_lived, seconds(10)).ok());  // back again
  EXPECT_EQ(b_->LiveRelays()->size(), 2u);
}

TEST_F(RedisNodeBusTest, RedisGoingAwayIsAClearErrorThenWorksAgain) {
  b_->SetReceiver(to_b.Receiver());
  ASSERT_TRUE(a_->SetPresence("heidi", {"node-a", 1, "d"}, seconds(10)).ok());
  StopRedis();
  auto lost = a_->FindPresence("heidi");
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.error().message.find("is unreachable"), std::string::npos) << lost.error().message;
  EXPECT_FALSE(a_->Send("node-b", Envelope("node-a", 0)).ok());
  EXPECT_FALSE(a_->ClaimBusy("heidi", Call(1), seconds(1)).ok());

  StartRedis();  // same port, empty: what was stored is gone
  // The breaker lets a call try again within its retry interval (1 s, doubling).
  Result<std::optional<PresenceRecord>> back = Error{"not tried"};
  ASSERT_TRUE(WaitFor([&] { return (back = a_->FindPresence("heidi")).ok(); }, milliseconds(5000)))
      << back.error().message;
  EXPECT_FALSE(back->has_value());
  // The subscriber reconnects with backoff; envelopes sent before that are lost.
  int sent = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_TRUE(a_->Send("node-b", Envelope("node-a", sent++)).ok());
        return to_b.size() > 0;
      },
      milliseconds(5000)));
}

TEST_F(RedisNodeBusTest, RenewalExtendsOrRestoresItsOwnRecordButNeverOverwritesALaterLogin) {
  const PresenceRecord on_a{"node-a", 1, "laptop"};
  const PresenceRecord on_b{"node-b", 7, "phone"};
  ASSERT_TRUE(a_->SetPresence("ivan", on_a, seconds(10)).ok());
  auto renewed = a_->RenewPresence("ivan", on_a, seconds(10));
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_FALSE(renewed->has_value());

  // A login on node-b got in between: node-a's renewal leaves it and is told of it.
  ASSERT_TRUE(b_->SetPresence("ivan", on_b, seconds(10)).ok());
  auto yielded = a_->RenewPresence("ivan", on_a, seconds(10));
  ASSERT_TRUE(yielded.ok());
  EXPECT_EQ(yielded->value_or(PresenceRecord{}), on_b);
  EXPECT_EQ(b_->FindPresence("ivan")->value_or(PresenceRecord{}), on_b);

  // Expired while Redis was out of reach longer than the ttl: the renewal sets it again.
  ASSERT_TRUE(a_->SetPresence("judy", on_a, milliseconds(100)).ok());
  ASSERT_TRUE(WaitFor([&] { return !b_->FindPresence("judy")->has_value(); }));
  auto restored = a_->RenewPresence("judy", on_a, seconds(10));
  ASSERT_TRUE(restored.ok());
  EXPECT_FALSE(restored->has_value());
  EXPECT_EQ(b_->FindPresence("judy")->value_or(PresenceRecord{}), on_a);

  // The renewal restarts the ttl.
  ASSERT_TRUE(a_->SetPresence("kim", on_a, milliseconds(300)).ok());
  ASSERT_TRUE(a_->RenewPresence("kim", on_a, seconds(10)).ok());
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_TRUE(b_->FindPresence("kim")->has_value());
}

// Bytes under a presence or relay key that no parleyd wrote: they hide one user or one
// relay, never everyone's lookups or the relay list.
TEST_F(RedisNodeBusTest, MalformedRecordsAreSkippedNotFatal) {
  redisContext* raw = redisConnect("127.0.0.1", port_);
  ASSERT_TRUE(raw != nullptr && raw->err == 0);
  freeReplyObject(redisCommand(raw, "SET %s %b", "test:presence:mallory", "\x09junk", size_t{5}));
  freeReplyObject(redisCommand(raw, "SET %s %b", "test:presence:oscar", "\x09junk", size_t{5}));
  freeReplyObject(redisCommand(raw, "ZADD %s %s %s", "test:relays", "99999999999999", "relay-bad"));
  freeReplyObject(redisCommand(raw, "HSET %s %s %b", "test:relay-records", "relay-bad", "\x01\x03", size_t{2}));
  redisFree(raw);

  auto found = a_->FindPresence("mallory");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(found->has_value());
  EXPECT_EQ(a_->malformed_records(), 1u);

  const PresenceRecord on_a{"node-a", 1, "laptop"};
  auto renewed = a_->RenewPresence("mallory", on_a, seconds(10));  // the junk is overwritten
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_FALSE(renewed->has_value());
  EXPECT_EQ(b_->FindPresence("mallory")->value_or(PresenceRecord{}), on_a);
  auto login = a_->SetPresence("oscar", on_a, seconds(10));  // so is it by a login
  ASSERT_TRUE(login.ok()) << login.error().message;
  EXPECT_EQ(*login, (PresenceWrite{true, std::nullopt}));

  const RelayRecord good{"relay-good", "10.0.0.2", 3478, 0, 100};
  ASSERT_TRUE(a_->AnnounceRelay(good, seconds(10)).ok());
  auto relays = b_->LiveRelays();
  ASSERT_TRUE(relays.ok()) << relays.error().message;
  ASSERT_EQ(relays->size(), 1u);
  EXPECT_EQ(relays->front(), good);
  EXPECT_EQ(b_->malformed_records(), 1u);
}

// SIGSTOP of redis-server: it accepts connections (the kernel does) but answers
// nothing. Each call returns within the command timeout, and after the first one the
// calls fail at once until the retry time, so renewing many users costs one timeout.
// After SIGCONT the bus works again, envelopes included.
TEST_F(RedisNodeBusTest, AStalledRedisCostsOneTimeoutThenFailsFastAndRecovers) {
  auto c = ConnectWithShortTimeouts();
  ASSERT_NE(c, nullptr);
  RedisNodeBus& bus = *c;
  b_->SetReceiver(to_b.Receiver());
  ASSERT_TRUE(bus.SetPresence("alice", {"node-c", 1, "d"}, seconds(30)).ok());

  ASSERT_EQ(kill(pid_, SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { kill(pid, SIGCONT); }
  } resume{pid_};

  auto start = WallClock::now();
  auto stalled = bus.FindPresence("alice");
  auto waited = WallClock::now() - start;
  ASSERT_FALSE(stalled.ok());
  EXPECT_NE(stalled.error().message.find("is unreachable (no answer within 300 ms)"), std::string::npos)
      << stalled.error().message;
  EXPECT_GE(waited, milliseconds(250));
  EXPECT_LT(waited, milliseconds(2000));

  // The hub renewing 200 users right after: no call waits.
  start = WallClock::now();
  for (int i = 0; i < 200; ++i) {
    const std::string user = "user" + std::to_string(i);
    auto renewed = bus.RenewPresence(user, {"node-c", static_cast<ConnectionId>(i), "d"}, seconds(30));
    ASSERT_FALSE(renewed.ok());
    EXPECT_NE(renewed.error().message.find("it failed a moment ago and is tried again in"), std::string::npos)
        << renewed.error().message;
  }
  EXPECT_FALSE(bus.Send("node-b", Envelope("node-c", 0)).ok());
  EXPECT_LT(WallClock::now() - start, milliseconds(250));

  // Past the retry time one call tries (and waits its timeout) again.
  std::this_thread::sleep_for(milliseconds(550));
  start = WallClock::now();
  EXPECT_FALSE(bus.ClaimBusy("alice", Call(1), seconds(10)).ok());
  EXPECT_LT(WallClock::now() - start, milliseconds(2000));

  kill(pid_, SIGCONT);
  Result<std::optional<PresenceRecord>> back = Error{"not tried"};
  ASSERT_TRUE(WaitFor([&] { return (back = bus.FindPresence("alice")).ok(); }, milliseconds(5000)))
      << back.error().message;
  EXPECT_EQ(back->value_or(PresenceRecord{}), (PresenceRecord{"node-c", 1, "d"}));
  ASSERT_TRUE(bus.Send("node-b", Envelope("node-c", 1)).ok());
  ASSERT_TRUE(WaitFor([&] { return to_b.size() == 1; }));
  EXPECT_EQ(to_b.Snapshot()[0], Envelope("node-c", 1));
}

// The states RenewPresences and RenewBusyClaims must handle, set up alike under any
// prefix: user i of `count` is in state i % 5 (presence) or i % 4 (claims).
// TTLs of 600 s: the test makes some 15,000 round trips, which a slow sanitizer run on
// a shared machine must not outlast.
void SetUpRenewalStates(const std::string& url, uint16_t port, const std::string& prefix, int count) {
  constexpr Duration kTtl = seconds(600);
  auto a = RedisNodeBus::Connect(url, "node-a");
  auto b = RedisNodeBus::Connect(url, "node-b");
  ASSERT_TRUE(a.ok() && b.ok());
  redisContext* raw = redisConnect("127.0.0.1", port);
  ASSERT_TRUE(raw != nullptr && raw->err == 0);
  for (int i = 0; i < count; ++i) {
    const std::string user = "u" + std::to_string(i);
    const PresenceRecord mine{"node-a", static_cast<ConnectionId>(i + 1), "d"};
    switch (i % 5) {
      case 0: ASSERT_TRUE((*a)->SetPresence(user, mine, kTtl).ok()); break;  // renewed
      case 1: break;                                                                   // expired: set again
      case 2:  // a later login on node-b: left in place and returned
        ASSERT_TRUE((*a)->SetPresence(user, mine, kTtl).ok());
        ASSERT_TRUE((*b)->SetPresence(user, {"node-b", 7, "phone"}, kTtl).ok());
        break;
      case 3:  // bytes no parleyd wrote: taken back
        freeReplyObject(redisCommand(raw, "SET %s %b", (prefix + ":presence:" + user).c_str(), "\x09junk", size_t{5}));
        break;
      case 4:  // a later login on this node (another connection): returned
        ASSERT_TRUE((*a)->SetPresence(user, {"node-a", 99999, "d"}, kTtl).ok());
        break;
    }
    switch (i % 4) {
      case 0: ASSERT_TRUE((*a)->ClaimBusy(user, Call(1), kTtl).value()); break;  // renewed
      case 1: break;                                                                       // claimed anew
      case 2: ASSERT_TRUE((*b)->ClaimBusy(user, Call(2), kTtl).value()); break;  // another call's
      case 3: ASSERT_TRUE((*b)->ClaimBusy(user, Call(1), kTtl).value()); break;  // this id, other node
    }
  }
  redisFree(raw);
}

// 2,500 entries (three pipelines of up to kPipelineDepth) in every state a renewal
// meets give the results, and leave Redis in the state, of 2,500 single calls.
TEST_F(RedisNodeBusTest, BatchedRenewalsAnswerAsSingleCallsDo) {
  constexpr int kUsers = 2500;
  static_assert(kUsers > 2 * static_cast<int>(RedisNodeBus::kPipelineDepth));
  const std::string base = "redis://127.0.0.1:" + std::to_string(port_);
  SetUpRenewalStates(base + "/batched", port_, "batched", kUsers);
  SetUpRenewalStates(base + "/single", port_, "single", kUsers);
  constexpr Duration kTtl2 = seconds(1200);  // the renewal's: distinct from the setup's 600 s
  auto batched = RedisNodeBus::Connect(base + "/batched", "node-a");
  auto single = RedisNodeBus::Connect(base + "/single", "node-a");
  ASSERT_TRUE(batched.ok() && single.ok());

  std::vector<PresenceRenewal> renewals;
  std::vector<BusyClaim> claims;
  for (int i = 0; i < kUsers; ++i) {
    const std::string user = "u" + std::to_string(i);
    renewals.push_back({user, {"node-a", static_cast<ConnectionId>(i + 1), "d"}});
    claims.push_back({user, Call(1)});
  }
  auto renewed = (*batched)->RenewPresences(renewals, kTtl2);
  auto claimed = (*batched)->RenewBusyClaims(claims, kTtl2);
  ASSERT_EQ(renewed.size(), renewals.size());
  ASSERT_EQ(claimed.size(), claims.size());
  for (int i = 0; i < kUsers; ++i) {
    const auto& r = renewals[i];
    auto expected = (*single)->RenewPresence(r.user, r.record, kTtl2);
    ASSERT_TRUE(renewed[i].ok() && expected.ok()) << i;
    EXPECT_EQ(*renewed[i], *expected) << i;
    auto expected_claim = (*single)->ClaimBusy(r.user, Call(1), kTtl2);
    ASSERT_TRUE(claimed[i].ok() && expected_claim.ok()) << i;
    EXPECT_EQ(*claimed[i], *expected_claim) << i;
    EXPECT_EQ((*batched)->FindPresence(r.user).value(), (*single)->FindPresence(r.user).value()) << i;
  }
  // What each state must give, spelled out once.
  EXPECT_FALSE(renewed[0]->has_value());
  EXPECT_FALSE(renewed[1]->has_value());
  EXPECT_EQ(renewed[2]->value_or(PresenceRecord{}), (PresenceRecord{"node-b", 7, "phone"}));
  EXPECT_FALSE(renewed[3]->has_value());
  EXPECT_EQ(renewed[4]->value_or(PresenceRecord{}), (PresenceRecord{"node-a", 99999, "d"}));
  EXPECT_EQ((*batched)->FindPresence("u1").value(), renewals[1].record);
  EXPECT_EQ((*batched)->FindPresence("u3").value(), renewals[3].record);
  EXPECT_EQ((*batched)->FindPresence("u2").value(), (PresenceRecord{"node-b", 7, "phone"}));
  EXPECT_TRUE(*claimed[0]);
  EXPECT_TRUE(*claimed[1]);
  EXPECT_FALSE(*claimed[2]);
  EXPECT_FALSE(*claimed[3]);
  EXPECT_GE((*batched)->malformed_records(), static_cast<uint64_t>(kUsers / 5));
  EXPECT_EQ((*batched)->malformed_records(), (*single)->malformed_records());
  // The ttl was set: a renewed record has the renewal's 1,200 s, not the 600 s it had.
  redisContext* raw = redisConnect("127.0.0.1", port_);
  ASSERT_TRUE(raw != nullptr && raw->err == 0);
  auto* ttl = static_cast<redisReply*>(redisCommand(raw, "PTTL %s", "batched:presence:u0"));
  ASSERT_TRUE(ttl != nullptr && ttl->type == REDIS_REPLY_INTEGER);
  EXPECT_GT(ttl->integer, 900000);
  freeReplyObject(ttl);
  redisFree(raw);

  EXPECT_TRUE((*batched)->RenewPresences({}, seconds(1)).empty());
}

// Redis restarted between two renewal rounds: the closed connection is noticed and
// the batch goes out on a new one.
TEST_F(RedisNodeBusTest, BatchedRenewalsReconnectAfterARedisRestart) {
  const std::vector<PresenceRenewal> renewals{{"ann", {"node-a", 1, "d"}}, {"ben", {"node-a", 2, "d"}}};
  for (const auto& r : a_->RenewPresences(renewals, seconds(10))) ASSERT_TRUE(r.ok()) << r.error().message;
  StopRedis();
  StartRedis();
  auto again = a_->RenewPresences(renewals, seconds(10));
  for (const auto& r : again) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->has_value());  // set again: Redis had lost them
  }
  EXPECT_EQ(b_->FindPresence("ben")->value_or(PresenceRecord{}), renewals[1].record);
}

// A stalled Redis costs a batch of 2,500 renewals one wait of the command timeout, not
// one per pipeline or per user; the busy claims after it fail at once.
TEST_F(RedisNodeBusTest, AStalledRedisCostsABatchOneTimeout) {
  auto c = ConnectWithShortTimeouts();
  ASSERT_NE(c, nullptr);
  std::vector<PresenceRenewal> renewals;
  std::vector<BusyClaim> claims;
  for (int i = 0; i < 2500; ++i) {
    renewals.push_back({"user" + std::to_string(i), {"node-c", static_cast<ConnectionId>(i + 1), "d"}});
    claims.push_back({"user" + std::to_string(i), Call(1)});
  }
  ASSERT_TRUE(c->RenewPresences(renewals, seconds(30)).front().ok());

  ASSERT_EQ(kill(pid_, SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { kill(pid, SIGCONT); }
  } resume{pid_};
  auto start = WallClock::now();
  auto stalled = c->RenewPresences(renewals, seconds(30));
  auto waited = WallClock::now() - start;
  ASSERT_EQ(stalled.size(), renewals.size());
  for (const auto& r : stalled) ASSERT_FALSE(r.ok());
  EXPECT_NE(stalled.front().error().message.find("is unreachable (no answer within 300 ms)"), std::string::npos)
      << stalled.front().error().message;
  EXPECT_NE(stalled.back().error().message.find("it failed a moment ago"), std::string::npos)
      << stalled.back().error().message;
  EXPECT_GE(waited, milliseconds(250));
  EXPECT_LT(waited, milliseconds(2000));
  start = WallClock::now();
  for (const auto& r : c->RenewBusyClaims(claims, seconds(30))) ASSERT_FALSE(r.ok());
  EXPECT_LT(WallClock::now() - start, milliseconds(250));

  kill(pid_, SIGCONT);
  std::vector<Result<std::optional<PresenceRecord>>> back;
  ASSERT_TRUE(WaitFor(
      [&] {
        back = c->RenewPresences(renewals, seconds(30));
        return back.back().ok();
      },
      milliseconds(5000)));
  for (const auto& r : back) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->has_value());
  }
}

// Not an assertion (machines are shared): what a hub's renewal of 10,000 users costs
// on the bus, one EVAL per user as before, and pipelined.
TEST_F(RedisNodeBusTest, PrintsTheCostOfRenewingTenThousandUsers) {
  constexpr int kUsers = 10000;
  std::vector<PresenceRenewal> renewals;
  std::vector<BusyClaim> claims;
  for (int i = 0; i < kUsers; ++i) {
    renewals.push_back({"user" + std::to_string(i), {"node-a", static_cast<ConnectionId>(i + 1), "laptop"}});
    claims.push_back({"user" + std::to_string(i), Call(1)});
  }
  for (const auto& r : a_->RenewPresences(renewals, seconds(90))) ASSERT_TRUE(r.ok());
  auto start = WallClock::now();
  for (const auto& r : renewals) ASSERT_TRUE(a_->RenewPresence(r.user, r.record, seconds(90)).ok());
  const auto one_by_one = WallClock::now() - start;
  start = WallClock::now();
  for (const auto& r : a_->RenewPresences(renewals, seconds(90))) ASSERT_TRUE(r.ok());
  const auto pipelined = WallClock::now() - start;
  start = WallClock::now();
  for (const auto& c : claims) ASSERT_TRUE(a_->ClaimBusy(c.user, c.call, seconds(90)).ok());
  const auto claims_one_by_one = WallClock::now() - start;
  start = WallClock::now();
  for (const auto& r : a_->RenewBusyClaims(claims, seconds(90))) ASSERT_TRUE(r.ok());
  const auto claims_pipelined = WallClock::now() - start;
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("renewing %d presences: %.1f ms one by one, %.1f ms pipelined (%.1fx); "
              "%d busy claims: %.1f ms, %.1f ms\n",
              kUsers, ms(one_by_one), ms(pipelined), ms(one_by_one) / ms(pipelined), kUsers, ms(claims_one_by_one),
              ms(claims_pipelined));
}

// RedisNodeBus as it was before batching: RenewPresences and RenewBusyClaims are
// NodeBus's defaults (one round trip per user), everything else the real bus.
class UnbatchedBus final : public NodeBus {
 public:
  explicit UnbatchedBus(RedisNodeBus& inner) : inner_(inner) {}
  bool batched = true;
  const std::string& node_id() const override { return inner_.node_id(); }
  Result<PresenceWrite> SetPresence(const std::string& user, const PresenceRecord& record, Duration ttl) override {
    return inner_.SetPresence(user, record, ttl);
  }
  Result<std::optional<PresenceRecord>> RenewPresence(const std::string& user, const PresenceRecord& record,
                                                      Duration ttl) override {
    return inner_.RenewPresence(user, record, ttl);
  }
  std::vector<Result<std::optional<PresenceRecord>>> RenewPresences(std::span<const PresenceRenewal> renewals,
                                                                    Duration ttl) override {
    return batched ? inner_.RenewPresences(renewals, ttl) : NodeBus::RenewPresences(renewals, ttl);
  }
  Status ClearPresence(const std::string& user, const PresenceRecord& record) override {
    return inner_.ClearPresence(user, record);
  }
  Result<std::optional<PresenceRecord>> FindPresence(const std::string& user) override {
    return inner_.FindPresence(user);
  }
  Result<bool> ClaimBusy(const std::string& user, const signal::CallId& call, Duration ttl) override {
    return inner_.ClaimBusy(user, call, ttl);
  }
  std::vector<Result<bool>> RenewBusyClaims(std::span<const BusyClaim> claims, Duration ttl) override {
    return batched ? inner_.RenewBusyClaims(claims, ttl) : NodeBus::RenewBusyClaims(claims, ttl);
  }
  Status ReleaseBusy(const std::string& user, const signal::CallId& call) override {
    return inner_.ReleaseBusy(user, call);
  }
  Status Send(const std::string& node, const NodeEnvelope& envelope) override { return inner_.Send(node, envelope); }
  void SetReceiver(std::function<void(NodeEnvelope)> receiver) override { inner_.SetReceiver(std::move(receiver)); }
  Status AnnounceRelay(const RelayRecord& relay, Duration ttl) override { return inner_.AnnounceRelay(relay, ttl); }
  Result<std::vector<RelayRecord>> LiveRelays() override { return inner_.LiveRelays(); }

 private:
  RedisNodeBus& inner_;
};

// A hub with N users logged in (1,000; PARLEY_HUB_RENEWAL_USERS=10000 for the figure
// in docs/security.md) renews them all on Redis: every user stays online (no renewal
// mistaken for a later login) and the renewal's time is printed, one round trip per
// user (as before batching) and pipelined. The time is reported, never asserted.
TEST_F(RedisNodeBusTest, AHubRenewsAllItsUsersInOneBatchAndPrintsTheCost) {
  int users = 1000;
  if (const char* n = std::getenv("PARLEY_HUB_RENEWAL_USERS")) users = std::atoi(n);
  ASSERT_GT(users, 0);
  auto store = SqliteStore::OpenInMemory();
  ASSERT_TRUE(store.ok()) << store.error().message;
  std::array<uint8_t, 32> ticket_key{};
  RelayTicketIssuer tickets{std::span<const uint8_t, 32>(ticket_key)};
  HubConfig config;
  config.server_name = "parley.test";
  config.relay_host = "relay.parley.test";
  config.relay_port = 3478;
  UnbatchedBus bus(*a_);
  std::array<uint8_t, 32> seed{};
  SignalingHub hub(**store, tickets, config, seed, &bus);
  crypto::SeededKeySource keys(1);
  const crypto::IdentityKey key = crypto::IdentityKey::Generate(keys);
  const TimePoint start_time = TimePoint{} + seconds(1000);
  const HubTime at_start{start_time, 1'767'225'600'000};
  for (int i = 0; i < users; ++i) {
    const ConnectionId id = static_cast<ConnectionId>(i + 1);
    // One address per connection: the hub limits registrations per address.
    const std::string address = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                                std::to_string(i % 256);
    auto hello = signal::ParseMessage(hub.OnConnect(id, address, at_start).at(0).text);
    ASSERT_TRUE(hello.ok() && std::holds_alternative<signal::Hello>(*hello));
    const std::string user = "user" + std::to_string(i);
    const auto challenge = std::get<signal::Hello>(*hello).challenge;
    const signal::Register registration{
        1, user, "laptop", key.public_key(),
        key.Sign(signal::AuthSignedBytes(signal::AuthPurpose::kRegister, challenge, user, "laptop", "parley.test"))};
    auto replies = hub.OnMessage(id, signal::SerializeMessage(registration), at_start);
    ASSERT_EQ(replies.size(), 1u);
    auto welcome = signal::ParseMessage(replies[0].text);
    ASSERT_TRUE(welcome.ok() && std::holds_alternative<signal::Welcome>(*welcome)) << replies[0].text;
  }
  ASSERT_EQ(hub.connection_count(), static_cast<std::size_t>(users));
  // Every user's presence key: its remaining ttl (ms), or its error, pipelined.
  redisContext* raw = redisConnect("127.0.0.1", port_);
  ASSERT_TRUE(raw != nullptr && raw->err == 0);
  auto for_every_key = [&](const char* command, const char* argument) {
    std::vector<long long> answers;
    for (int i = 0; i < users; ++i) {
      const std::string key = "test:presence:user" + std::to_string(i);
      if (argument != nullptr) {
        redisAppendCommand(raw, "%s %s %s", command, key.c_str(), argument);
      } else {
        redisAppendCommand(raw, "%s %s", command, key.c_str());
      }
    }
    for (int i = 0; i < users; ++i) {
      void* reply = nullptr;
      EXPECT_EQ(redisGetReply(raw, &reply), REDIS_OK);
      auto* r = static_cast<redisReply*>(reply);
      answers.push_back(r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -100);
      freeReplyObject(r);
    }
    return answers;
  };
  auto renew = [&](int round, bool batched) {
    bus.batched = batched;
    // Each key gets 20 s left; only the renewal gives it the hub's 90 s again.
    for (long long set : for_every_key("PEXPIRE", "20000")) EXPECT_EQ(set, 1);
    const TimePoint at = start_time + (round + 1) * (config.bus_refresh + seconds(1));
    const auto began = WallClock::now();
    auto sends = hub.OnTimer(HubTime{at, at_start.unix_ms});
    const auto took = WallClock::now() - began;
    EXPECT_TRUE(sends.empty());  // nobody was replaced
    EXPECT_EQ(hub.connection_count(), static_cast<std::size_t>(users));
    int renewed = 0;
    for (long long left : for_every_key("PTTL", nullptr)) renewed += left > 60000 ? 1 : 0;
    EXPECT_EQ(renewed, users) << (batched ? "pipelined" : "one round trip per user");
    return std::chrono::duration<double, std::milli>(took).count();
  };
  const double one_by_one = renew(0, false);
  const double pipelined = renew(1, true);
  redisFree(raw);
  for (int i = 0; i < users; ++i) {
    EXPECT_EQ(a_->FindPresence("user" + std::to_string(i))->value_or(PresenceRecord{}),
              (PresenceRecord{"node-a", static_cast<ConnectionId>(i + 1), "laptop", at_start.unix_ms}));
  }
  std::printf("a hub renewing %d users on Redis: %.1f ms one round trip per user, %.1f ms pipelined\n", users,
              one_by_one, pipelined);
}

TEST(RedisNodeBusConnectTest, NothingListeningIsAClearError) {
  auto bus = RedisNodeBus::Connect("redis://127.0.0.1:" + std::to_string(FreePort()), "node-a");
  ASSERT_FALSE(bus.ok());
  EXPECT_NE(bus.error().message.find("is unreachable"), std::string::npos) << bus.error().message;
  auto bad_node = RedisNodeBus::Connect("redis://127.0.0.1:1", "node a");
  ASSERT_FALSE(bad_node.ok());
  EXPECT_NE(bad_node.error().message.find("node id"), std::string::npos);
}

TEST(RedisUrlTest, ParsesHostPortAndPrefix) {
  auto plain = ParseRedisUrl("redis://redis.internal");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "redis.internal");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->prefix, "parley");
  auto full = ParseRedisUrl("redis://127.0.0.1:7000/community-2");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->host, "127.0.0.1");
  EXPECT_EQ(full->port, 7000);
  EXPECT_EQ(full->prefix, "community-2");
  auto v6 = ParseRedisUrl("redis://[::1]:7001");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7001);

  for (const char* bad : {"http://h:1", "redis://", "redis://:7000", "redis://h:", "redis://h:0", "redis://h:65536",
                          "redis://h:12x", "redis://h:1/", "redis://h:1/a:b", "redis://[::1", "redis://[::1]x"}) {
    auto parsed = ParseRedisUrl(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("write it as redis://host:port"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace parley::server
