// The hub's new_app_invite: a logged-in user gets a fresh web app invite that the store
// finds live (by hash, created by them), at most app_invites_per_day live ones a day
// (a revoked one gives its slot back), none when the operator keeps invites to
// themselves, none before login. Simulated time, in-memory store.
#include <gtest/gtest.h>

#include <memory>

#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/server/invite_code.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/sqlite_store.h"

namespace parley::server {
namespace {

constexpr char kServer[] = "parley.test";

class AppInviteHubTest : public ::testing::Test {
 protected:
  void Start(int64_t per_day) {
    HubConfig config;
    config.server_name = kServer;
    config.relay_host = "relay.parley.test";
    config.relay_port = 3478;
    config.app_invites_per_day = per_day;
    std::array<uint8_t, 32> seed{};
    seed.fill(3);
    hub_ = std::make_unique<SignalingHub>(*store_, tickets_, config, seed);
  }

  HubTime Now() const { return HubTime{steady_, unix_ms_}; }

  signal::Message One(std::vector<HubSend> sends) {
    hub_->CheckInvariants();
    EXPECT_EQ(sends.size(), 1u);
    auto parsed = signal::ParseMessage(sends.at(0).text);
    EXPECT_TRUE(parsed.ok()) << sends.at(0).text;
    return *parsed;
  }

  ConnectionId Connect() {
    const ConnectionId id = next_id_++;
    hello_ = std::get<signal::Hello>(One(hub_->OnConnect(id, "192.0.2.7", Now())));
    return id;
  }

  ConnectionId Register(const std::string& user, uint64_t seed) {
    const ConnectionId id = Connect();
    crypto::SeededKeySource source(seed);
    const auto key = crypto::IdentityKey::Generate(source);
    signal::Register reg{1, user, "web", key.public_key(),
                         key.Sign(signal::AuthSignedBytes(signal::AuthPurpose::kRegister, hello_.challenge, user,
                                                          "web", kServer))};
    EXPECT_TRUE(std::holds_alternative<signal::Welcome>(One(hub_->OnMessage(id, signal::SerializeMessage(reg), Now()))));
    return id;
  }

  signal::Message Ask(ConnectionId id, uint64_t request) {
    return One(hub_->OnMessage(id, signal::SerializeMessage(signal::NewAppInvite{request}), Now()));
  }

  std::unique_ptr<SqliteStore> store_ = SqliteStore::OpenInMemory().value();
  std::array<uint8_t, 32> ticket_key_{};
  RelayTicketIssuer tickets_{std::span<const uint8_t, 32>(ticket_key_)};
  std::unique_ptr<SignalingHub> hub_;
  signal::Hello hello_;
  TimePoint steady_{};
  int64_t unix_ms_ = 1'767'225'600'000;
  ConnectionId next_id_ = 1;
};

TEST_F(AppInviteHubTest, ALoggedInUserGetsALiveInviteOfTheirOwn) {
  Start(5);
  const ConnectionId alice = Register("alice", 1);
  const auto reply = Ask(alice, 7);
  ASSERT_TRUE(std::holds_alternative<signal::AppInvite>(reply)) << signal::SerializeMessage(reply);
  const auto& invite = std::get<signal::AppInvite>(reply);
  EXPECT_EQ(invite.id, 7u);
  const InviteCode code = InviteCode::FromBytes(invite.invite);
  auto found = store_->FindInvite(code.hash());
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->created_by, "alice");
  EXPECT_EQ((*found)->created_unix_ms, unix_ms_);
  EXPECT_EQ((*found)->revoked_unix_ms, 0);
  // Another one is different.
  const auto second = std::get<signal::AppInvite>(Ask(alice, 8));
  EXPECT_NE(second.invite, invite.invite);
}

TEST_F(AppInviteHubTest, AtMostThePerDayLimitOfLiveInvitesAndARevokeFreesASlot) {
  Start(2);
  const ConnectionId alice = Register("alice", 1);
  const auto first = std::get<signal::AppInvite>(Ask(alice, 1));
  ASSERT_TRUE(std::holds_alternative<signal::AppInvite>(Ask(alice, 2)));
  const auto refused = Ask(alice, 3);
  ASSERT_TRUE(std::holds_alternative<signal::ErrorReply>(refused));
  EXPECT_EQ(std::get<signal::ErrorReply>(refused).code, signal::ErrorCode::kRateLimited);
  EXPECT_NE(std::get<signal::ErrorReply>(refused).message.find("last 24 hours"), std::string::npos);
  // Another account has its own allowance.
  EXPECT_TRUE(std::holds_alternative<signal::AppInvite>(Ask(Register("bob", 2), 1)));
  // The operator revokes one: a slot is free again.
  ASSERT_TRUE(*store_->RevokeInvite(InviteCode::FromBytes(first.invite).hash(), unix_ms_));
  EXPECT_TRUE(std::holds_alternative<signal::AppInvite>(Ask(alice, 4)));
  EXPECT_TRUE(std::holds_alternative<signal::ErrorReply>(Ask(alice, 5)));
  // A day later the old ones no longer count.
  steady_ += std::chrono::hours(24) + std::chrono::seconds(1);
  unix_ms_ += (24 * 3600 + 1) * 1000;
  EXPECT_TRUE(std::holds_alternative<signal::AppInvite>(Ask(alice, 6)));
}

TEST_F(AppInviteHubTest, NoneWhenOnlyTheOperatorMakesInvites) {
  Start(0);
  const auto reply = Ask(Register("alice", 1), 1);
  ASSERT_TRUE(std::holds_alternative<signal::ErrorReply>(reply));
  EXPECT_EQ(std::get<signal::ErrorReply>(reply).code, signal::ErrorCode::kNotAllowed);
  EXPECT_TRUE(store_->ListInvites()->empty());
}

TEST_F(AppInviteHubTest, NoneBeforeLogin) {
  Start(5);
  const auto reply = Ask(Connect(), 1);
  ASSERT_TRUE(std::holds_alternative<signal::ErrorReply>(reply));
  EXPECT_EQ(std::get<signal::ErrorReply>(reply).code, signal::ErrorCode::kNotLoggedIn);
  EXPECT_TRUE(store_->ListInvites()->empty());
}

}  // namespace
}  // namespace parley::server
