// The hub's path_test (`parley doctor`): a pair of short-lived tickets of a fresh test
// call, both to the asking session, valid for the relay, rate-limited per account,
// never a call, never ringing, never in the call log. Simulated time, in-memory store.
#include <gtest/gtest.h>

#include <memory>

#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/sqlite_store.h"

namespace parley::server {
namespace {

constexpr char kServer[] = "parley.test";
constexpr int64_t kStartUnixMs = 1'767'225'600'000;

crypto::IdentityKey KeyFor(uint64_t seed) {
  crypto::SeededKeySource source(seed);
  return crypto::IdentityKey::Generate(source);
}

class PathTestWorld : public ::testing::Test {
 protected:
  PathTestWorld()
      : store_(SqliteStore::OpenInMemory().value()),
        tickets_(std::span<const uint8_t, 32>(ticket_key_)),
        hub_(*store_, tickets_, Config(), Seed()) {}

  static HubConfig Config() {
    HubConfig config;
    config.server_name = kServer;
    config.relay_host = "relay.parley.test";
    config.relay_port = 3478;
    return config;
  }
  static std::array<uint8_t, 32> Seed() {
    std::array<uint8_t, 32> seed{};
    seed.fill(9);
    return seed;
  }

  HubTime Now() const { return HubTime{steady_, unix_ms_}; }
  void Advance(Duration d) {
    steady_ += d;
    unix_ms_ += std::chrono::duration_cast<milliseconds>(d).count();
  }

  // What was sent to `expect_to`; anything sent elsewhere fails the test unless
  // `others_allowed` (a login that replaces another connection tells that one).
  std::vector<signal::Message> Deliver(std::vector<HubSend> sends, ConnectionId expect_to,
                                       bool others_allowed = false) {
    hub_.CheckInvariants();
    std::vector<signal::Message> out;
    for (const HubSend& send : sends) {
      if (others_allowed && send.connection != expect_to) continue;
      EXPECT_EQ(send.connection, expect_to) << "sent to another connection: " << send.text;
      auto parsed = signal::ParseMessage(send.text);
      EXPECT_TRUE(parsed.ok()) << send.text;
      if (parsed.ok()) out.push_back(*parsed);
    }
    return out;
  }

  ConnectionId Register(const std::string& user, uint64_t seed) {
    const ConnectionId id = next_id_++;
    auto hello = Deliver(hub_.OnConnect(id, "192.0.2.7", Now()), id);
    const auto challenge = std::get<signal::Hello>(hello.at(0)).challenge;
    const auto key = KeyFor(seed);
    signal::Register reg{1, user, "cli", key.public_key(),
                         key.Sign(signal::AuthSignedBytes(signal::AuthPurpose::kRegister, challenge, user, "cli",
                                                          kServer))};
    auto welcome = Deliver(hub_.OnMessage(id, signal::SerializeMessage(reg), Now()), id);
    EXPECT_TRUE(welcome.size() == 1 && std::holds_alternative<signal::Welcome>(welcome[0]));
    return id;
  }

  // Sends path_test with `request` and returns the single reply.
  signal::Message Ask(ConnectionId id, uint64_t request) {
    auto replies = Deliver(hub_.OnMessage(id, signal::SerializeMessage(signal::PathTest{request}), Now()), id);
    EXPECT_EQ(replies.size(), 1u);
    return replies.empty() ? signal::Message{signal::OkReply{}} : replies[0];
  }

  std::array<uint8_t, 32> ticket_key_ = [] {
    std::array<uint8_t, 32> key{};
    key.fill(0x5a);
    return key;
  }();
  std::unique_ptr<SqliteStore> store_;
  RelayTicketIssuer tickets_;
  SignalingHub hub_;
  TimePoint steady_ = TimePoint{} + seconds(1000);
  int64_t unix_ms_ = kStartUnixMs;
  ConnectionId next_id_ = 1;
};

TEST_F(PathTestWorld, IssuesTwoTicketsOfAFreshCallValidForTheRelay) {
  const ConnectionId alice = Register("alice", 1);
  const signal::Message reply = Ask(alice, 42);
  ASSERT_TRUE(std::holds_alternative<signal::PathTestTickets>(reply)) << signal::SerializeMessage(reply);
  const auto& t = std::get<signal::PathTestTickets>(reply);
  EXPECT_EQ(t.id, 42u);
  EXPECT_EQ(t.host, "relay.parley.test");
  EXPECT_EQ(t.port, 3478);
  EXPECT_NE(t.ticket_0, t.ticket_1);

  auto first = tickets_.Verify(t.ticket_0, unix_ms_ / 1000);
  auto second = tickets_.Verify(t.ticket_1, unix_ms_ / 1000);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(first->participant, 0);
  EXPECT_EQ(second->participant, 1);
  EXPECT_EQ(first->call_id, t.call_id);
  EXPECT_EQ(second->call_id, t.call_id);
  EXPECT_EQ(first->issued_unix_ms, unix_ms_);
  // Short-lived: a minute, not the 12 hours of a real call's tickets.
  EXPECT_EQ(first->expires_unix_s, unix_ms_ / 1000 + 60);
  EXPECT_FALSE(tickets_.Verify(t.ticket_0, unix_ms_ / 1000 + 61).ok());

  // The hop keys are the relay's for these tickets; the bind key is the relay's.
  const auto hop0 = tickets_.HopKey(t.ticket_0);
  const auto hop1 = tickets_.HopKey(t.ticket_1);
  EXPECT_EQ(t.hop_key_0, std::vector<uint8_t>(hop0.data(), hop0.data() + hop0.size()));
  EXPECT_EQ(t.hop_key_1, std::vector<uint8_t>(hop1.data(), hop1.data() + hop1.size()));
  EXPECT_EQ(t.bind_key, std::vector<uint8_t>(tickets_.bind_key().begin(), tickets_.bind_key().end()));

  // Each request gets a different call id.
  const auto again = std::get<signal::PathTestTickets>(Ask(alice, 43));
  EXPECT_NE(again.call_id, t.call_id);
}

TEST_F(PathTestWorld, IsNotACallNeverRingsAndIsNeverLogged) {
  const ConnectionId alice = Register("alice", 1);
  const ConnectionId bob = Register("bob", 2);
  (void)bob;
  for (uint64_t i = 0; i < 3; ++i) {
    // Deliver checks that every message goes to alice only: bob hears nothing.
    ASSERT_TRUE(std::holds_alternative<signal::PathTestTickets>(Ask(alice, 10 + i)));
  }
  EXPECT_EQ(hub_.call_count(), 0u);
  EXPECT_FALSE(hub_.NextTimerAt().has_value());
  EXPECT_TRUE(store_->CallHistory("alice", 100).value().empty());
  EXPECT_TRUE(store_->CallHistory("bob", 100).value().empty());
  // alice can still place a normal call (the test left no call state behind).
  signal::CallId call{};
  call[0] = 1;
  auto route = Deliver(hub_.OnMessage(alice, signal::SerializeMessage(signal::Invite{5, call, "bob"}), Now()), alice);
  ASSERT_EQ(route.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<signal::Route>(route[0])) << signal::SerializeMessage(route[0]);
}

TEST_F(PathTestWorld, RateLimitedPerAccountAcrossConnections) {
  const ConnectionId alice = Register("alice", 1);
  const ConnectionId carol = Register("carol", 3);
  for (uint64_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(std::holds_alternative<signal::PathTestTickets>(Ask(alice, i))) << i;
  }
  const signal::Message refused = Ask(alice, 7);
  ASSERT_TRUE(std::holds_alternative<signal::ErrorReply>(refused));
  EXPECT_EQ(std::get<signal::ErrorReply>(refused).code, signal::ErrorCode::kRateLimited);
  EXPECT_EQ(std::get<signal::ErrorReply>(refused).id, 7u);
  // The limit is per account, not per connection: a new login of alice (which replaces
  // the first connection) is limited too...
  const ConnectionId alice2 = next_id_++;
  auto hello = Deliver(hub_.OnConnect(alice2, "192.0.2.8", Now()), alice2);
  const auto challenge = std::get<signal::Hello>(hello.at(0)).challenge;
  const auto key = KeyFor(1);
  signal::Login login{1, "alice", "cli",
                      key.Sign(signal::AuthSignedBytes(signal::AuthPurpose::kLogin, challenge, "alice", "cli", kServer))};
  auto welcome = Deliver(hub_.OnMessage(alice2, signal::SerializeMessage(login), Now()), alice2,
                         /*others_allowed=*/true);
  ASSERT_FALSE(welcome.empty());
  EXPECT_TRUE(std::holds_alternative<signal::Welcome>(welcome[0]));
  EXPECT_TRUE(std::holds_alternative<signal::ErrorReply>(Ask(alice2, 8)));
  // ...while another account is not.
  EXPECT_TRUE(std::holds_alternative<signal::PathTestTickets>(Ask(carol, 1)));
  // One more every 20 s.
  Advance(seconds(20));
  EXPECT_TRUE(std::holds_alternative<signal::PathTestTickets>(Ask(alice2, 9)));
  EXPECT_TRUE(std::holds_alternative<signal::ErrorReply>(Ask(alice2, 10)));
}

TEST_F(PathTestWorld, RefusedBeforeLogin) {
  const ConnectionId id = next_id_++;
  Deliver(hub_.OnConnect(id, "192.0.2.9", Now()), id);
  const signal::Message reply = Ask(id, 3);
  ASSERT_TRUE(std::holds_alternative<signal::ErrorReply>(reply));
  EXPECT_EQ(std::get<signal::ErrorReply>(reply).code, signal::ErrorCode::kNotLoggedIn);
}

TEST_F(PathTestWorld, ClientsCannotSendTheServersReply) {
  const ConnectionId alice = Register("alice", 1);
  const auto tickets = std::get<signal::PathTestTickets>(Ask(alice, 1));
  auto replies = Deliver(hub_.OnMessage(alice, signal::SerializeMessage(tickets), Now()), alice);
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<signal::ErrorReply>(replies[0]));
  EXPECT_EQ(std::get<signal::ErrorReply>(replies[0]).code, signal::ErrorCode::kUnexpected);
}

}  // namespace
}  // namespace parley::server
