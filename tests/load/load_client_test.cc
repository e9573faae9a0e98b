// parley-load's simulated clients: login then register on a fresh server, a whole call
// between two clients with the server's messages written by hand (real key agreement),
// failures, and the latency quantiles.
#include "load_client.h"

#include <gtest/gtest.h>

#include <variant>

#include "load_stats.h"

namespace parley::load {
namespace {

template <typename T>
T Sent(const LoadOutput& out, size_t index = 0) {
  EXPECT_GT(out.send.size(), index);
  auto parsed = signal::ParseMessage(out.send.at(index));
  EXPECT_TRUE(parsed.ok());
  EXPECT_TRUE(std::holds_alternative<T>(*parsed)) << out.send.at(index);
  return std::get<T>(*parsed);
}

std::string Text(const signal::Message& message) { return signal::SerializeMessage(message); }

signal::Hello AHello(uint8_t fill) {
  signal::Hello hello;
  hello.challenge.fill(fill);
  hello.server = "127.0.0.1";
  return hello;
}

void LogIn(LoadClient& client) {
  LoadOutput out = client.OnMessage(Text(AHello(1)));
  Sent<signal::Login>(out);
  out = client.OnMessage(Text(signal::ErrorReply{1, signal::ErrorCode::kNoSuchAccount, "No such account."}));
  EXPECT_TRUE(out.events.empty());
  out = client.OnMessage(Text(AHello(2)));
  signal::Register registered = Sent<signal::Register>(out);
  EXPECT_EQ(registered.user, client.user());
  out = client.OnMessage(Text(signal::Welcome{2, client.user(), "load", {}}));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, LoadEvent::Kind::kLoggedIn);
  EXPECT_TRUE(client.idle());
}

TEST(LoadClientTest, LogsInThenRegistersWhenTheAccountIsMissing) {
  crypto::SystemKeySource keys;
  LoadClient client("load-000001", "load", keys);
  EXPECT_FALSE(client.logged_in());
  LogIn(client);
}

TEST(LoadClientTest, SameNameSameIdentityAcrossRuns) {
  crypto::SystemKeySource keys;
  LoadClient first("load-000002", "load", keys), second("load-000002", "load", keys);
  LoadOutput a = first.OnMessage(Text(AHello(3)));
  LoadOutput b = second.OnMessage(Text(AHello(3)));
  EXPECT_EQ(a.send, b.send);  // the same signed login: the key derives from the name
}

TEST(LoadClientTest, AWholeCallAgreesOnKeys) {
  crypto::SystemKeySource keys;
  LoadClient caller("load-000010", "load", keys), callee("load-000011", "load", keys);
  LogIn(caller);
  LogIn(callee);
  signal::CallId id{};
  id.fill(7);
  signal::Invite invite = Sent<signal::Invite>(caller.StartCall(callee.user(), id));
  EXPECT_EQ(invite.to, callee.user());
  EXPECT_FALSE(caller.idle());

  signal::Offer offer = Sent<signal::Offer>(caller.OnMessage(Text(signal::Route{invite.id, id, "load"})));
  LoadOutput answered = callee.OnMessage(Text(signal::Incoming{{}, id, caller.user(), "load", offer.commit}));
  signal::Accept accept = Sent<signal::Accept>(answered);
  EXPECT_FALSE(callee.idle());

  signal::Reveal reveal = Sent<signal::Reveal>(caller.OnMessage(Text(signal::Accepted{{}, id, accept.key})));
  signal::Relay relay{{}, id, "127.0.0.1", 4000, {1, 2, 3}, false, std::vector<uint8_t>(32, 1),
                      std::vector<uint8_t>(32, 2)};
  LoadOutput caller_relay = caller.OnMessage(Text(relay));
  ASSERT_EQ(caller_relay.events.size(), 1u);
  EXPECT_EQ(caller_relay.events[0].kind, LoadEvent::Kind::kRelay);
  LoadOutput revealed = callee.OnMessage(Text(signal::Revealed{{}, id, reveal.key}));
  EXPECT_TRUE(revealed.events.empty()) << revealed.events[0].reason;  // keys agreed: no failure

  signal::Hangup hangup = Sent<signal::Hangup>(caller.EndCall());
  EXPECT_EQ(hangup.call_id, id);
  EXPECT_TRUE(caller.idle());
  LoadOutput ended = callee.OnMessage(Text(signal::Ended{{}, id, signal::EndReason::kHangup}));
  ASSERT_EQ(ended.events.size(), 1u);
  EXPECT_EQ(ended.events[0].reason, "hangup");
  EXPECT_TRUE(callee.idle());
}

TEST(LoadClientTest, ATamperedRevealFailsTheCall) {
  crypto::SystemKeySource keys;
  LoadClient caller("load-000020", "load", keys), callee("load-000021", "load", keys);
  LogIn(caller);
  LogIn(callee);
  signal::CallId id{};
  id.fill(9);
  signal::Invite invite = Sent<signal::Invite>(caller.StartCall(callee.user(), id));
  signal::Offer offer = Sent<signal::Offer>(caller.OnMessage(Text(signal::Route{invite.id, id, "load"})));
  signal::Accept accept =
      Sent<signal::Accept>(callee.OnMessage(Text(signal::Incoming{{}, id, caller.user(), "load", offer.commit})));
  signal::Reveal reveal = Sent<signal::Reveal>(caller.OnMessage(Text(signal::Accepted{{}, id, accept.key})));
  reveal.key[40] ^= 1;
  LoadOutput out = callee.OnMessage(Text(signal::Revealed{{}, id, reveal.key}));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, LoadEvent::Kind::kCallFailed);
  Sent<signal::Hangup>(out);
  EXPECT_TRUE(callee.idle());
}

TEST(LoadClientTest, ABusyCalleeEndsTheCallBeforeSetUp) {
  crypto::SystemKeySource keys;
  LoadClient caller("load-000030", "load", keys);
  LogIn(caller);
  signal::CallId id{};
  id.fill(3);
  Sent<signal::Invite>(caller.StartCall("load-000031", id));
  LoadOutput out = caller.OnMessage(Text(signal::Ended{1, id, signal::EndReason::kBusy}));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, LoadEvent::Kind::kEnded);
  EXPECT_EQ(out.events[0].reason, "busy");
  EXPECT_TRUE(caller.idle());
  // Cancel (not hangup) ends a call that was never answered.
  Sent<signal::Invite>(caller.StartCall("load-000031", id));
  Sent<signal::Cancel>(caller.EndCall());
}

TEST(LoadStatsTest, NearestRankQuantilesAndFailures) {
  LoadStats stats;
  EXPECT_EQ(stats.LatencyQuantileMs(0.5), 0);
  for (int ms = 100; ms >= 1; --ms) stats.CallSetUp(milliseconds(ms));
  EXPECT_DOUBLE_EQ(stats.LatencyQuantileMs(0.5), 50);
  EXPECT_DOUBLE_EQ(stats.LatencyQuantileMs(0.99), 99);
  EXPECT_DOUBLE_EQ(stats.LatencyQuantileMs(1.0), 100);
  stats.Failed("timeout");
  stats.Failed("timeout");
  stats.Failed("ended: busy");
  EXPECT_EQ(stats.failed(), 3u);
  EXPECT_EQ(stats.failures().at("timeout"), 2u);
  EXPECT_EQ(stats.set_up(), 100u);
}

}  // namespace
}  // namespace parley::load
