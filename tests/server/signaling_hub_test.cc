// The signaling hub in simulated time with a real (in-memory SQLite) store and real
// Ed25519 keys: logins, whole calls with key agreement and relay tickets, every way a
// call ends, privacy that looks exactly like a missing user, floods and bad input.
#include "parley/server/signaling_hub.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "parley/crypto/encoding.h"
#include "parley/crypto/handshake_message.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_agreement.h"
#include "parley/crypto/key_source.h"
#include "parley/server/sqlite_store.h"

namespace parley::server {
namespace {

using signal::CallId;
using signal::EndReason;
using signal::ErrorCode;
using signal::Message;

constexpr char kServer[] = "parley.test";
constexpr char kRelayHost[] = "relay.parley.test";
constexpr uint16_t kRelayPort = 3478;

crypto::IdentityKey KeyFor(uint64_t seed) {
  crypto::SeededKeySource source(seed);
  return crypto::IdentityKey::Generate(source);
}

CallId MakeCallId(uint64_t n) {
  CallId id{};
  for (std::size_t i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(n >> (8 * i));
  id[15] = 0xca;
  return id;
}

// Structurally valid key-agreement bytes for a call (the hub checks only type and
// call id; whole calls below use real KeyAgreement messages).
std::vector<uint8_t> Handshake(crypto::HandshakeType type, const CallId& call_id) {
  crypto::HandshakeMessage m;
  m.type = type;
  m.call_id = call_id;
  m.identity[0] = 1;
  m.key[0] = 2;
  return crypto::SerializeHandshakeMessage(m);
}

HubConfig TestConfig() {
  HubConfig config;
  config.server_name = kServer;
  config.relay_host = kRelayHost;
  config.relay_port = kRelayPort;
  return config;
}

std::array<uint8_t, 32> TicketKey() {
  std::array<uint8_t, 32> key{};
  key.fill(0x5a);
  return key;
}

// A hub, its store and everything its connections were sent, in simulated time.
class World {
 public:
  explicit World(HubConfig config = TestConfig())
      : store_(SqliteStore::OpenInMemory().value()),
        tickets_(std::span<const uint8_t, 32>(ticket_key_)),
        hub_(*store_, tickets_, std::move(config), Seed()) {}

  static std::array<uint8_t, 32> Seed() {
    std::array<uint8_t, 32> seed{};
    seed.fill(7);
    return seed;
  }

  HubTime Now() const { return HubTime{steady_, unix_ms_}; }
  Store& store() { return *store_; }
  SignalingHub& hub() { return hub_; }
  const RelayTicketIssuer& tickets() const { return tickets_; }

  // Moves time on, firing the hub's timer whenever it is due.
  void Advance(Duration d) {
    const TimePoint end = steady_ + d;
    while (auto next = hub_.NextTimerAt()) {
      if (*next > end) break;
      unix_ms_ += std::chrono::duration_cast<milliseconds>(std::max(*next, steady_) - steady_).count();
      steady_ = std::max(*next, steady_);
      Deliver(hub_.OnTimer(Now()));
    }
    unix_ms_ += std::chrono::duration_cast<milliseconds>(end - steady_).count();
    steady_ = end;
  }

  ConnectionId Connect(const std::string& ip = "192.0.2.10") {
    const ConnectionId id = next_connection_++;
    ips_.insert(ip);
    Deliver(hub_.OnConnect(id, ip, Now()));
    return id;
  }
  void Disconnect(ConnectionId id) { Deliver(hub_.OnDisconnect(id, Now())); }

  void SendRaw(ConnectionId id, std::string_view text) { Deliver(hub_.OnMessage(id, text, Now())); }
  void Send(ConnectionId id, const Message& m) { SendRaw(id, signal::SerializeMessage(m)); }

  // Everything sent to `id` since the last Take, parsed.
  std::vector<Message> Take(ConnectionId id) {
    std::vector<Message> out;
    for (const auto& text : inbox_[id]) out.push_back(signal::ParseMessage(text).value());
    inbox_[id].clear();
    return out;
  }
  std::vector<std::string> TakeRaw(ConnectionId id) { return std::exchange(inbox_[id], {}); }
  bool Closed(ConnectionId id) const { return closed_.count(id) != 0; }

  template <class T>
  T TakeOnly(ConnectionId id) {
    auto messages = Take(id);
    EXPECT_EQ(messages.size(), 1u) << Describe(messages);
    if (messages.size() != 1 || !std::holds_alternative<T>(messages[0])) {
      ADD_FAILURE() << "expected one '" << T::kType << "', got " << Describe(messages);
      return T{};
    }
    return std::get<T>(messages[0]);
  }

  static std::string Describe(const std::vector<Message>& messages) {
    std::string out;
    for (const auto& m : messages) out += signal::SerializeMessage(m) + "\n";
    return out.empty() ? "(nothing)" : out;
  }

  signal::Challenge ChallengeOf(ConnectionId id) const { return challenge_.at(id); }

  // Registers `user` on a new connection with the key of `seed`; returns the connection.
  ConnectionId Register(const std::string& user, const std::string& device, uint64_t seed,
                        const std::string& ip = "192.0.2.10") {
    const ConnectionId id = Connect(ip);
    Take(id);
    const auto key = KeyFor(seed);
    Send(id, signal::Register{1, user, device, key.public_key(), SignAuth(key, signal::AuthPurpose::kRegister, id, user, device)});
    auto welcome = TakeOnly<signal::Welcome>(id);
    EXPECT_EQ(welcome.user, user);
    return id;
  }

  ConnectionId Login(const std::string& user, const std::string& device, uint64_t seed,
                     signal::Welcome* welcome_out = nullptr) {
    const ConnectionId id = Connect();
    Take(id);
    Send(id, signal::Login{2, user, device, SignAuth(KeyFor(seed), signal::AuthPurpose::kLogin, id, user, device)});
    auto messages = Take(id);
    EXPECT_FALSE(messages.empty());
    if (!messages.empty() && std::holds_alternative<signal::Welcome>(messages[0])) {
      if (welcome_out) *welcome_out = std::get<signal::Welcome>(messages[0]);
    } else {
      ADD_FAILURE() << "login failed: " << Describe(messages);
    }
    return id;
  }

  signal::Signature SignAuth(const crypto::IdentityKey& key, signal::AuthPurpose purpose, ConnectionId id,
                             const std::string& user, const std::string& device,
                             const std::string& server = kServer) const {
    return key.Sign(signal::AuthSignedBytes(purpose, challenge_.at(id), user, device, server));
  }

  // Invite + offer; leaves the callee ringing. Returns the call id.
  CallId Ring(ConnectionId caller, ConnectionId callee, const std::string& to, uint64_t n) {
    const CallId call = MakeCallId(n);
    Send(caller, signal::Invite{10, call, to});
    auto route = TakeOnly<signal::Route>(caller);
    EXPECT_EQ(route.call_id, call);
    EXPECT_TRUE(Take(callee).empty()) << "the callee hears nothing before the offer";
    Send(caller, signal::Offer{11, call, Handshake(crypto::HandshakeType::kCommit, call)});
    EXPECT_EQ(TakeOnly<signal::Ringing>(caller).call_id, call);
    EXPECT_EQ(TakeOnly<signal::Incoming>(callee).call_id, call);
    return call;
  }

  std::vector<signal::CallRecord> History(ConnectionId id) {
    Send(id, signal::History{99, 100});
    return TakeOnly<signal::CallHistory>(id).calls;
  }

 private:
  void Deliver(std::vector<HubSend> sends) {
    hub_.CheckInvariants();
    for (auto& send : sends) {
      auto parsed = signal::ParseMessage(send.text);
      ASSERT_TRUE(parsed.ok()) << "the hub sent unparseable text: " << send.text;
      ASSERT_FALSE(signal::IsClientMessage(*parsed)) << send.text;
      for (const auto& ip : ips_) {
        ASSERT_EQ(send.text.find(ip), std::string::npos) << "a client IP in a message: " << send.text;
      }
      if (auto* hello = std::get_if<signal::Hello>(&*parsed)) challenge_[send.connection] = hello->challenge;
      if (send.close_after) closed_.insert(send.connection);
      inbox_[send.connection].push_back(std::move(send.text));
    }
  }

  std::array<uint8_t, 32> ticket_key_ = TicketKey();
  std::unique_ptr<SqliteStore> store_;
  RelayTicketIssuer tickets_;
  SignalingHub hub_;
  TimePoint steady_ = TimePoint{} + seconds(1000);
  int64_t unix_ms_ = 1'767'225'600'000;
  ConnectionId next_connection_ = 1;
  std::map<ConnectionId, std::vector<std::string>> inbox_;
  std::map<ConnectionId, signal::Challenge> challenge_;
  std::set<ConnectionId> closed_;
  std::set<std::string> ips_;
};

ErrorCode ErrorOf(World& w, ConnectionId id) {
  auto messages = w.Take(id);
  EXPECT_FALSE(messages.empty());
  if (messages.empty() || !std::holds_alternative<signal::ErrorReply>(messages[0])) {
    ADD_FAILURE() << "expected an error, got " << World::Describe(messages);
    return ErrorCode::kInternal;
  }
  const auto& error = std::get<signal::ErrorReply>(messages[0]);
  EXPECT_FALSE(error.message.empty());
  return error.code;
}

// --- Accounts -------------------------------------------------------------------

TEST(SignalingHubTest, HelloThenRegisterThenLoginLater) {
  World w;
  const ConnectionId c = w.Connect();
  auto hello = w.TakeOnly<signal::Hello>(c);
  EXPECT_EQ(hello.server, kServer);
  const auto key = KeyFor(1);
  w.Send(c, signal::Register{5, "alice", "laptop", key.public_key(),
                             w.SignAuth(key, signal::AuthPurpose::kRegister, c, "alice", "laptop")});
  auto welcome = w.TakeOnly<signal::Welcome>(c);
  EXPECT_EQ(welcome, (signal::Welcome{5, "alice", "laptop", {}}));
  auto account = w.store().FindAccount("alice").value();
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->devices.at(0).identity_key, key.public_key());
  w.Disconnect(c);
  signal::Welcome again;
  w.Login("alice", "laptop", 1, &again);
  EXPECT_EQ(again.user, "alice");
  EXPECT_EQ(again.device, "laptop");
}

TEST(SignalingHubTest, ChallengesDifferPerConnection) {
  World w;
  const ConnectionId a = w.Connect();
  const ConnectionId b = w.Connect();
  EXPECT_NE(w.ChallengeOf(a), w.ChallengeOf(b));
}

TEST(SignalingHubTest, BadSignatureGetsAnErrorAndAFreshChallenge) {
  World w;
  w.Register("alice", "laptop", 1);
  const ConnectionId c = w.Connect();
  w.Take(c);
  const auto first = w.ChallengeOf(c);
  w.Send(c, signal::Login{3, "alice", "laptop", KeyFor(2).Sign(std::vector<uint8_t>{1, 2, 3})});
  auto messages = w.Take(c);
  ASSERT_EQ(messages.size(), 2u) << World::Describe(messages);
  EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).code, ErrorCode::kBadSignature);
  EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).id, signal::RequestId{3});
  EXPECT_NE(std::get<signal::Hello>(messages[1]).challenge, first);
  // The fresh challenge works.
  w.Send(c, signal::Login{4, "alice", "laptop", w.SignAuth(KeyFor(1), signal::AuthPurpose::kLogin, c, "alice", "laptop")});
  EXPECT_EQ(w.TakeOnly<signal::Welcome>(c).id, signal::RequestId{4});
}

TEST(SignalingHubTest, ReplayedLoginIsRefused) {
  World w;
  w.Register("alice", "laptop", 1);
  const ConnectionId first = w.Connect();
  w.Take(first);
  const signal::Login login{1, "alice", "laptop",
                            w.SignAuth(KeyFor(1), signal::AuthPurpose::kLogin, first, "alice", "laptop")};
  w.Send(first, login);
  w.TakeOnly<signal::Welcome>(first);
  // The same bytes on another connection (another challenge).
  const ConnectionId second = w.Connect();
  w.Take(second);
  w.Send(second, login);
  EXPECT_EQ(ErrorOf(w, second), ErrorCode::kBadSignature);
  // And again on that connection, whose challenge has changed meanwhile.
  w.Send(second, login);
  EXPECT_EQ(ErrorOf(w, second), ErrorCode::kBadSignature);
  // A login signature is not a registration signature.
  const ConnectionId third = w.Connect();
  w.Take(third);
  w.Send(third, signal::Register{1, "carol", "laptop", KeyFor(3).public_key(),
                                 w.SignAuth(KeyFor(3), signal::AuthPurpose::kLogin, third, "carol", "laptop")});
  EXPECT_EQ(ErrorOf(w, third), ErrorCode::kBadSignature);
}

TEST(SignalingHubTest, LoginErrors) {
  World w;
  w.Register("alice", "laptop", 1);
  w.Register("bob", "phone", 2);
  const ConnectionId c = w.Connect();
  w.Take(c);
  // Alice's key claiming to be bob.
  w.Send(c, signal::Login{1, "bob", "phone", w.SignAuth(KeyFor(1), signal::AuthPurpose::kLogin, c, "bob", "phone")});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kBadSignature);
  // Signed for alice, sent as bob with bob's device name.
  w.Send(c, signal::Login{1, "bob", "phone", w.SignAuth(KeyFor(2), signal::AuthPurpose::kLogin, c, "alice", "phone")});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kBadSignature);
  // Signed for another server.
  w.Send(c, signal::Login{1, "bob", "phone",
                          w.SignAuth(KeyFor(2), signal::AuthPurpose::kLogin, c, "bob", "phone", "evil.example")});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kBadSignature);
  w.Send(c, signal::Login{1, "zed", "phone", w.SignAuth(KeyFor(2), signal::AuthPurpose::kLogin, c, "zed", "phone")});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kNoSuchAccount);
  w.Send(c, signal::Login{1, "bob", "tablet", w.SignAuth(KeyFor(2), signal::AuthPurpose::kLogin, c, "bob", "tablet")});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kNoSuchAccount);
}

TEST(SignalingHubTest, RegisterErrors) {
  World w;
  w.Register("alice", "laptop", 1);
  const ConnectionId c = w.Connect();
  w.Take(c);
  auto reg = [&](const std::string& user, const std::string& device, uint64_t seed) {
    w.Send(c, signal::Register{1, user, device, KeyFor(seed).public_key(),
                               w.SignAuth(KeyFor(seed), signal::AuthPurpose::kRegister, c, user, device)});
    return ErrorOf(w, c);
  };
  EXPECT_EQ(reg("alice", "phone", 9), ErrorCode::kUsernameTaken);
  EXPECT_EQ(reg("Alice", "phone", 9), ErrorCode::kInvalidUsername);
  EXPECT_EQ(reg("al", "phone", 9), ErrorCode::kInvalidUsername);
  EXPECT_EQ(reg("bob", "my phone", 9), ErrorCode::kInvalidDevice);
  // Key of one identity, signature of another.
  w.Send(c, signal::Register{1, "bob", "phone", KeyFor(8).public_key(),
                             w.SignAuth(KeyFor(9), signal::AuthPurpose::kRegister, c, "bob", "phone")});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kBadSignature);
  EXPECT_FALSE(w.store().FindAccount("bob").value().has_value());
}

TEST(SignalingHubTest, AuthAttemptsAreRateLimitedPerIp) {
  World w;
  const ConnectionId c = w.Connect("198.51.100.7");
  w.Take(c);
  int limited = 0;
  for (int i = 0; i < 30; ++i) {
    w.Send(c, signal::Login{1, "nobody", "phone", signal::Signature{}});
    if (ErrorOf(w, c) == ErrorCode::kRateLimited) ++limited;
    w.Take(c);
  }
  EXPECT_EQ(limited, 20);  // the burst of 10 passes
  // Another address is not affected, and the limit refills.
  const ConnectionId other = w.Connect("198.51.100.8");
  w.Take(other);
  w.Send(other, signal::Login{1, "nobody", "phone", signal::Signature{}});
  EXPECT_EQ(ErrorOf(w, other), ErrorCode::kNoSuchAccount);
  w.Advance(seconds(7));
  w.Send(c, signal::Login{1, "nobody", "phone", signal::Signature{}});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kNoSuchAccount);
}

TEST(SignalingHubTest, OnlyRegisterAndLoginBeforeLoginAndNotAfter) {
  World w;
  const ConnectionId c = w.Connect();
  w.Take(c);
  w.Send(c, signal::Invite{4, MakeCallId(1), "bob"});
  auto messages = w.Take(c);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).code, ErrorCode::kNotLoggedIn);
  EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).id, signal::RequestId{4});
  w.Send(c, signal::ContactsList{5});
  EXPECT_EQ(ErrorOf(w, c), ErrorCode::kNotLoggedIn);
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  w.Send(alice, signal::Login{6, "alice", "laptop", signal::Signature{}});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kAlreadyLoggedIn);
}

TEST(SignalingHubTest, DeleteAccount) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  // A wrong signature deletes nothing.
  w.Send(bob, signal::DeleteAccount{3, KeyFor(2).Sign(std::vector<uint8_t>{0})});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kBadSignature);
  EXPECT_TRUE(w.store().FindAccount("bob").value().has_value());
  // The login signature itself is not a deletion.
  w.Send(bob, signal::DeleteAccount{3, w.SignAuth(KeyFor(2), signal::AuthPurpose::kLogin, bob, "bob", "phone")});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kBadSignature);
  // Signed over the challenge bob logged in with: his registration hello.
  const auto challenge_after_login = w.ChallengeOf(bob);
  (void)challenge_after_login;
  w.Send(bob, signal::DeleteAccount{4, w.SignAuth(KeyFor(2), signal::AuthPurpose::kDeleteAccount, bob, "bob", "phone")});
  EXPECT_EQ(w.TakeOnly<signal::OkReply>(bob).id, signal::RequestId{4});
  EXPECT_TRUE(w.Closed(bob));
  EXPECT_FALSE(w.store().FindAccount("bob").value().has_value());
  w.Disconnect(bob);  // the front closes it: a no-op
  // Calling the deleted name looks like calling a name that never existed.
  const CallId call = MakeCallId(50);
  w.Send(alice, signal::Invite{7, call, "bob"});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{7, call, EndReason::kNotFound}));
  // And bob cannot log in any more.
  const ConnectionId again = w.Connect();
  w.Take(again);
  w.Send(again, signal::Login{1, "bob", "phone", w.SignAuth(KeyFor(2), signal::AuthPurpose::kLogin, again, "bob", "phone")});
  EXPECT_EQ(ErrorOf(w, again), ErrorCode::kNoSuchAccount);
}

TEST(SignalingHubTest, NewLoginReplacesTheOldConnectionAndEndsItsCall) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob_old = w.Register("bob", "phone", 2);
  const CallId call = w.Ring(alice, bob_old, "bob", 1);
  const ConnectionId bob_new = w.Login("bob", "phone", 2);
  auto old_messages = w.Take(bob_old);
  ASSERT_EQ(old_messages.size(), 1u) << World::Describe(old_messages);
  EXPECT_EQ(std::get<signal::ErrorReply>(old_messages[0]).code, ErrorCode::kReplaced);
  EXPECT_TRUE(w.Closed(bob_old));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kUnavailable}));
  // The new connection is bob now: it can be called.
  w.Ring(alice, bob_new, "bob", 2);
}

// --- Calls ----------------------------------------------------------------------

TEST(SignalingHubTest, AcceptedCallEndToEndWithRealKeysAndTickets) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const auto alice_id = KeyFor(1);
  const auto bob_id = KeyFor(2);
  const CallId call = MakeCallId(7);

  w.Send(alice, signal::Invite{1, call, "bob"});
  auto route = w.TakeOnly<signal::Route>(alice);
  EXPECT_EQ(route, (signal::Route{1, call, "phone"}));

  crypto::CallContext context{call, {"alice", "laptop"}, {"bob", route.to_device}};
  crypto::SeededKeySource alice_keys(11), bob_keys(12);
  auto caller = crypto::KeyAgreement::Create(crypto::Role::kCaller, context, alice_id, alice_keys).value();
  w.Send(alice, signal::Offer{2, call, caller.MakeCommit().value()});
  EXPECT_EQ(w.TakeOnly<signal::Ringing>(alice), (signal::Ringing{2, call}));
  auto incoming = w.TakeOnly<signal::Incoming>(bob);
  EXPECT_EQ(incoming.from, "alice");
  EXPECT_EQ(incoming.from_device, "laptop");

  crypto::CallContext bob_context{incoming.call_id, {incoming.from, incoming.from_device}, {"bob", "phone"}};
  auto callee = crypto::KeyAgreement::Create(crypto::Role::kCallee, bob_context, bob_id, bob_keys).value();
  ASSERT_TRUE(callee.Receive(incoming.commit).ok());
  w.Send(bob, signal::Accept{3, call, callee.MakeAccept().value()});

  auto alice_messages = w.Take(alice);
  ASSERT_EQ(alice_messages.size(), 2u) << World::Describe(alice_messages);
  auto accepted = std::get<signal::Accepted>(alice_messages[0]);
  auto alice_relay = std::get<signal::Relay>(alice_messages[1]);
  auto bob_relay = w.TakeOnly<signal::Relay>(bob);
  EXPECT_EQ(bob_relay.id, signal::RequestId{3});  // the reply to bob's accept
  for (const auto* relay : {&alice_relay, &bob_relay}) {
    EXPECT_EQ(relay->host, kRelayHost);
    EXPECT_EQ(relay->port, kRelayPort);
    EXPECT_EQ(relay->call_id, call);
  }
  const int64_t now_s = w.Now().unix_ms / 1000;
  auto alice_claims = w.tickets().Verify(alice_relay.ticket, now_s);
  auto bob_claims = w.tickets().Verify(bob_relay.ticket, now_s);
  ASSERT_TRUE(alice_claims.ok() && bob_claims.ok());
  EXPECT_EQ(alice_claims->call_id, call);
  EXPECT_EQ(alice_claims->participant, 0);
  EXPECT_EQ(bob_claims->call_id, call);
  EXPECT_EQ(bob_claims->participant, 1);
  EXPECT_GT(alice_claims->expires_unix_s, now_s + 3600);

  ASSERT_TRUE(caller.Receive(accepted.key).ok());
  w.Send(alice, signal::Reveal{4, call, caller.MakeReveal().value()});
  EXPECT_EQ(w.TakeOnly<signal::OkReply>(alice).id, signal::RequestId{4});
  auto revealed = w.TakeOnly<signal::Revealed>(bob);
  ASSERT_TRUE(callee.Receive(revealed.key).ok());
  ASSERT_TRUE(caller.complete() && callee.complete());
  EXPECT_EQ(caller.fingerprint(), callee.fingerprint());

  w.Advance(seconds(60));  // no ring timeout once answered
  EXPECT_TRUE(w.Take(alice).empty());
  w.Send(bob, signal::Hangup{5, call});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(bob), (signal::Ended{5, call, EndReason::kHangup}));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kHangup}));
  for (ConnectionId c : {alice, bob}) {
    auto history = w.History(c);
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].outcome, signal::CallOutcome::kAnswered);
    EXPECT_EQ(history[0].call_id, call);
    EXPECT_GT(history[0].answered_unix_ms, 0);
    EXPECT_EQ(history[0].ended_unix_ms - history[0].answered_unix_ms, 60000);
  }
  EXPECT_EQ(w.hub().call_count(), 0u);
}

TEST(SignalingHubTest, Decline) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  w.Send(alice, signal::Decline{1, call});  // not the caller's to decline
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
  w.Send(bob, signal::Decline{2, call});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(bob), (signal::Ended{2, call, EndReason::kDeclined}));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kDeclined}));
  EXPECT_EQ(w.History(alice).at(0).outcome, signal::CallOutcome::kDeclined);
  // Both are free again.
  w.Ring(bob, alice, "alice", 2);
}

TEST(SignalingHubTest, BusyWhileRingingOrInACall) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const ConnectionId carol = w.Register("carol", "tablet", 3);
  w.Ring(alice, bob, "bob", 1);
  for (const char* target : {"bob", "alice"}) {
    const CallId call = MakeCallId(100 + target[0]);
    w.Send(carol, signal::Invite{3, call, target});
    EXPECT_EQ(w.TakeOnly<signal::Ended>(carol), (signal::Ended{3, call, EndReason::kBusy}));
  }
  EXPECT_TRUE(w.Take(bob).empty());
  EXPECT_TRUE(w.Take(alice).empty());
  // The caller itself cannot start a second call.
  w.Send(alice, signal::Invite{4, MakeCallId(200), "carol"});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kInCall);
  auto history = w.History(carol);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].outcome, signal::CallOutcome::kBusy);
}

TEST(SignalingHubTest, CancelWhileRingingAndBeforeTheOffer) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  w.Send(bob, signal::Cancel{1, call});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNotAllowed);
  w.Send(alice, signal::Cancel{2, call});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{2, call, EndReason::kCancelled}));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(bob), (signal::Ended{std::nullopt, call, EndReason::kCancelled}));
  EXPECT_EQ(w.History(bob).at(0).outcome, signal::CallOutcome::kCancelled);
  // Cancelled after route, before offer: the callee never hears of it.
  const CallId quiet = MakeCallId(2);
  w.Send(alice, signal::Invite{3, quiet, "bob"});
  w.TakeOnly<signal::Route>(alice);
  w.Send(alice, signal::Cancel{4, quiet});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{4, quiet, EndReason::kCancelled}));
  EXPECT_TRUE(w.Take(bob).empty());
  EXPECT_EQ(w.History(bob).size(), 1u);
  // Bob cannot act on a call he has not seen.
  const CallId unseen = MakeCallId(3);
  w.Send(alice, signal::Invite{5, unseen, "bob"});
  w.TakeOnly<signal::Route>(alice);
  w.Send(bob, signal::Accept{6, unseen, Handshake(crypto::HandshakeType::kAccept, unseen)});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNoSuchCall);
}

TEST(SignalingHubTest, RingTimeoutAt45SecondsAndTheMissedCallIsDeliveredOnce) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  EXPECT_EQ(w.hub().NextTimerAt(), w.Now().steady + seconds(45));
  w.Advance(seconds(45) - milliseconds(1));
  EXPECT_TRUE(w.Take(alice).empty());
  EXPECT_TRUE(w.Take(bob).empty());
  w.Advance(milliseconds(1));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kTimeout}));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(bob), (signal::Ended{std::nullopt, call, EndReason::kTimeout}));
  EXPECT_EQ(w.hub().NextTimerAt(), std::nullopt);
  EXPECT_EQ(w.History(alice).at(0).outcome, signal::CallOutcome::kMissed);
  w.Disconnect(bob);
  signal::Welcome welcome;
  w.Login("bob", "phone", 2, &welcome);
  ASSERT_EQ(welcome.missed_calls.size(), 1u);
  EXPECT_EQ(welcome.missed_calls[0].call_id, call);
  EXPECT_EQ(welcome.missed_calls[0].caller, "alice");
  w.Login("bob", "phone", 2, &welcome);
  EXPECT_TRUE(welcome.missed_calls.empty());
}

TEST(SignalingHubTest, UnansweredRouteTimesOutQuietly) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const CallId call = MakeCallId(1);
  w.Send(alice, signal::Invite{1, call, "bob"});
  w.TakeOnly<signal::Route>(alice);
  w.Advance(seconds(45));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kTimeout}));
  EXPECT_TRUE(w.Take(bob).empty());
  EXPECT_TRUE(w.History(bob).empty());
}

TEST(SignalingHubTest, RingTimeoutIsConfigurable) {
  HubConfig config = TestConfig();
  config.ring_timeout = seconds(5);
  World w(config);
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  w.Advance(seconds(5));
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice).reason, EndReason::kTimeout);
  (void)call;
}

TEST(SignalingHubTest, CalleeOfflineGetsTheMissedCallAtNextLoginExactlyOnce) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  w.Disconnect(w.Register("bob", "phone", 2));
  const CallId call = MakeCallId(9);
  w.Send(alice, signal::Invite{1, call, "bob"});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{1, call, EndReason::kUnavailable}));
  signal::Welcome welcome;
  const ConnectionId bob = w.Login("bob", "phone", 2, &welcome);
  ASSERT_EQ(welcome.missed_calls.size(), 1u);
  EXPECT_EQ(welcome.missed_calls[0].call_id, call);
  EXPECT_EQ(welcome.missed_calls[0].outcome, signal::CallOutcome::kMissed);
  w.Disconnect(bob);
  w.Login("bob", "phone", 2, &welcome);
  EXPECT_TRUE(welcome.missed_calls.empty());
}

// The refused caller's answer, byte for byte, against a world where bob never existed.
enum class Refusal { kBlocked, kNobody, kContactsOnly, kDeleted };

class SignalingHubPrivacyTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(SignalingHubPrivacyTest, RefusedCallerGetsExactlyTheNonexistentUserAnswer) {
  const CallId call = MakeCallId(77);
  World without_bob;
  const ConnectionId a0 = without_bob.Register("alice", "laptop", 1);
  without_bob.Register("carol", "tablet", 3);
  without_bob.Send(a0, signal::Invite{5, call, "bob"});
  const auto expected = without_bob.TakeRaw(a0);

  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  w.Register("carol", "tablet", 3);
  w.Send(bob, signal::ContactsAdd{1, "carol"});  // bob has contacts, just not alice
  switch (GetParam()) {
    case Refusal::kBlocked:
      w.Send(bob, signal::BlockUser{1, "alice"});
      break;
    case Refusal::kNobody:
      w.Send(bob, signal::Settings{1, signal::Audience::kNobody, std::nullopt});
      break;
    case Refusal::kContactsOnly:
      w.Send(bob, signal::Settings{1, signal::Audience::kContacts, std::nullopt});
      break;
    case Refusal::kDeleted:
      w.Send(bob, signal::DeleteAccount{1, w.SignAuth(KeyFor(2), signal::AuthPurpose::kDeleteAccount, bob, "bob", "phone")});
      break;
  }
  w.Take(bob);
  w.Send(alice, signal::Invite{5, call, "bob"});
  EXPECT_EQ(w.TakeRaw(alice), expected);
  EXPECT_TRUE(w.Take(bob).empty()) << "a refused call must not ring";
  if (GetParam() != Refusal::kDeleted) {
    EXPECT_TRUE(w.History(bob).empty());
    w.Disconnect(bob);
    signal::Welcome welcome;
    w.Login("bob", "phone", 2, &welcome);
    EXPECT_TRUE(welcome.missed_calls.empty());
  }
  EXPECT_TRUE(w.History(alice).empty());
}

INSTANTIATE_TEST_SUITE_P(Refusals, SignalingHubPrivacyTest,
                         ::testing::Values(Refusal::kBlocked, Refusal::kNobody, Refusal::kContactsOnly,
                                           Refusal::kDeleted));

TEST(SignalingHubTest, WhoMayCallContactsLetsContactsThrough) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  w.Send(bob, signal::Settings{1, signal::Audience::kContacts, signal::Audience::kNobody});
  EXPECT_EQ(w.TakeOnly<signal::CurrentSettings>(bob),
            (signal::CurrentSettings{1, signal::Audience::kContacts, signal::Audience::kNobody}));
  w.Send(bob, signal::ContactsAdd{2, "alice"});
  w.TakeOnly<signal::OkReply>(bob);
  w.Ring(alice, bob, "bob", 1);
  // A block wins over the contact list.
  w.Send(bob, signal::BlockUser{3, "alice"});
  w.Take(bob);
  w.Send(alice, signal::Cancel{4, MakeCallId(1)});
  w.Take(alice);
  w.Take(bob);
  const CallId call = MakeCallId(2);
  w.Send(alice, signal::Invite{5, call, "bob"});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice).reason, EndReason::kNotFound);
  // Reading settings changes nothing.
  w.Send(bob, signal::Settings{6, std::nullopt, std::nullopt});
  EXPECT_EQ(w.TakeOnly<signal::CurrentSettings>(bob).who_may_call, signal::Audience::kContacts);
}

TEST(SignalingHubTest, OnlyTheCalleeAcceptsAndOnlyTheCurrentCall) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const ConnectionId carol = w.Register("carol", "tablet", 3);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  const auto accept = Handshake(crypto::HandshakeType::kAccept, call);
  // From the caller.
  w.Send(alice, signal::Accept{1, call, accept});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
  // From a third party.
  w.Send(carol, signal::Accept{2, call, accept});
  EXPECT_EQ(ErrorOf(w, carol), ErrorCode::kNoSuchCall);
  // For another call id.
  const CallId other = MakeCallId(2);
  w.Send(bob, signal::Accept{3, other, Handshake(crypto::HandshakeType::kAccept, other)});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNoSuchCall);
  // The right call id outside, another inside; or not an accept at all.
  w.Send(bob, signal::Accept{4, call, Handshake(crypto::HandshakeType::kAccept, other)});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kBadMessage);
  w.Send(bob, signal::Accept{5, call, Handshake(crypto::HandshakeType::kCommit, call)});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kBadMessage);
  // Out of order: reveal before accept; the callee sending caller messages.
  w.Send(alice, signal::Reveal{6, call, Handshake(crypto::HandshakeType::kReveal, call)});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
  w.Send(bob, signal::Offer{7, call, Handshake(crypto::HandshakeType::kCommit, call)});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNotAllowed);
  EXPECT_TRUE(w.Take(alice).empty()) << "nothing reached the caller";
  // Still ringing: the real accept works, once.
  w.Send(bob, signal::Accept{8, call, accept});
  EXPECT_EQ(w.Take(alice).size(), 2u);
  w.Take(bob);
  w.Send(bob, signal::Accept{9, call, accept});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNotAllowed);
  w.Send(bob, signal::Reveal{10, call, Handshake(crypto::HandshakeType::kReveal, call)});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNotAllowed);
  EXPECT_TRUE(w.Take(alice).empty());
}

TEST(SignalingHubTest, CallIdsAreNotReused) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  w.Send(alice, signal::Cancel{1, call});
  w.Take(alice);
  w.Take(bob);
  w.Send(alice, signal::Invite{2, call, "bob"});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
  w.Send(alice, signal::Invite{3, MakeCallId(2), "alice"});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
}

TEST(SignalingHubTest, InviteFloodIsRateLimitedAndAnotherCallStillConnects) {
  World w;
  const ConnectionId mallory = w.Register("mallory", "bot", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const ConnectionId carol = w.Register("carol", "laptop", 3);
  const ConnectionId dave = w.Register("dave", "phone", 4);
  int rings = 0, limited = 0;
  for (int i = 0; i < 1000; ++i) {
    const CallId call = MakeCallId(1000 + i);
    w.Send(mallory, signal::Invite{1, call, "bob"});
    w.Send(mallory, signal::Offer{2, call, Handshake(crypto::HandshakeType::kCommit, call)});
    w.Send(mallory, signal::Cancel{3, call});
    for (const auto& m : w.Take(mallory)) {
      if (auto* e = std::get_if<signal::Ended>(&m); e && e->reason == EndReason::kRateLimited) ++limited;
      if (auto* e = std::get_if<signal::ErrorReply>(&m); e && e->code == ErrorCode::kRateLimited) ++limited;
    }
    for (const auto& m : w.Take(bob)) rings += std::holds_alternative<signal::Incoming>(m) ? 1 : 0;
    if (i == 500) {  // meanwhile, another call connects
      const CallId other = w.Ring(carol, dave, "dave", 1);
      w.Send(dave, signal::Accept{1, other, Handshake(crypto::HandshakeType::kAccept, other)});
      EXPECT_TRUE(std::holds_alternative<signal::Accepted>(w.Take(carol).at(0)));
      w.Take(dave);
    }
    w.Advance(milliseconds(1));
  }
  EXPECT_GE(rings, 1);
  EXPECT_LE(rings, 5) << "the target rings at most the burst";
  EXPECT_GT(limited, 900);
  // And bob can still be called by someone else once carol is free.
  const ConnectionId erin = w.Register("erin", "phone", 5);
  w.Ring(erin, bob, "bob", 2);
}

TEST(SignalingHubTest, DisconnectEndsTheCall) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  ConnectionId bob = w.Register("bob", "phone", 2);
  // Mid-call: the other side hears hangup; the log says answered.
  CallId call = w.Ring(alice, bob, "bob", 1);
  w.Send(bob, signal::Accept{1, call, Handshake(crypto::HandshakeType::kAccept, call)});
  w.Take(alice);
  w.Take(bob);
  w.Disconnect(bob);
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kHangup}));
  EXPECT_EQ(w.History(alice).at(0).outcome, signal::CallOutcome::kAnswered);
  // Callee gone while ringing: unavailable, and a missed call for later.
  bob = w.Login("bob", "phone", 2);
  call = w.Ring(alice, bob, "bob", 2);
  w.Disconnect(bob);
  EXPECT_EQ(w.TakeOnly<signal::Ended>(alice), (signal::Ended{std::nullopt, call, EndReason::kUnavailable}));
  signal::Welcome welcome;
  bob = w.Login("bob", "phone", 2, &welcome);
  ASSERT_EQ(welcome.missed_calls.size(), 1u);
  // Caller gone while ringing.
  call = w.Ring(alice, bob, "bob", 3);
  w.Disconnect(alice);
  EXPECT_EQ(w.TakeOnly<signal::Ended>(bob), (signal::Ended{std::nullopt, call, EndReason::kUnavailable}));
  EXPECT_EQ(w.hub().call_count(), 0u);
  // Messages on a closed connection are ignored.
  w.Send(alice, signal::Hangup{1, call});
  EXPECT_TRUE(w.Take(alice).empty());
}

TEST(SignalingHubTest, UnknownAndServerTypesAreRefusedInEveryState) {
  World w;
  const std::string unknown = R"({"type":"sdp_update","id":9,"call_id":"AAAAAAAAAAAAAAAAAAAAAA"})";
  const std::string server_type = R"({"type":"accepted","id":8,"call_id":"AAAAAAAAAAAAAAAAAAAAAA","key":")" +
                                   crypto::ToBase64(Handshake(crypto::HandshakeType::kAccept, CallId{})) + R"("})";
  auto check = [&](ConnectionId c) {
    w.SendRaw(c, unknown);
    auto messages = w.Take(c);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).code, ErrorCode::kUnknownType);
    EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).id, signal::RequestId{9});
    w.SendRaw(c, server_type);
    messages = w.Take(c);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).code, ErrorCode::kUnexpected);
    EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).id, signal::RequestId{8});
    w.SendRaw(c, R"({"type":"invite","id":7,"to":5})");
    messages = w.Take(c);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).code, ErrorCode::kBadMessage);
    EXPECT_EQ(std::get<signal::ErrorReply>(messages[0]).id, signal::RequestId{7});
    w.SendRaw(c, std::string(70000, '['));
    EXPECT_EQ(ErrorOf(w, c), ErrorCode::kBadMessage);
  };
  const ConnectionId anonymous = w.Connect();
  w.Take(anonymous);
  check(anonymous);
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  check(alice);
  // Routing, ringing, accepted, active: refused each time, and the call goes on.
  const CallId call = MakeCallId(1);
  w.Send(alice, signal::Invite{1, call, "bob"});
  w.Take(alice);
  check(alice);
  check(bob);
  w.Send(alice, signal::Offer{2, call, Handshake(crypto::HandshakeType::kCommit, call)});
  w.Take(alice);
  w.Take(bob);
  check(alice);
  check(bob);
  w.Send(bob, signal::Accept{3, call, Handshake(crypto::HandshakeType::kAccept, call)});
  w.Take(alice);
  w.Take(bob);
  check(alice);
  check(bob);
  w.Send(alice, signal::Reveal{4, call, Handshake(crypto::HandshakeType::kReveal, call)});
  w.Take(alice);
  EXPECT_EQ(w.TakeOnly<signal::Revealed>(bob).call_id, call);
  check(alice);
  check(bob);
  w.Send(alice, signal::Hangup{5, call});
  EXPECT_EQ(w.TakeOnly<signal::Ended>(bob).reason, EndReason::kHangup);
}

TEST(SignalingHubTest, MessageFloodFromOneConnectionIsLimited) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  int limited = 0;
  for (int i = 0; i < 200; ++i) {
    w.Send(alice, signal::ContactsList{1});
    for (const auto& m : w.Take(alice)) {
      if (auto* e = std::get_if<signal::ErrorReply>(&m); e && e->code == ErrorCode::kRateLimited) ++limited;
    }
  }
  EXPECT_GT(limited, 150);
  w.Advance(seconds(2));
  w.Send(alice, signal::ContactsList{2});
  EXPECT_EQ(w.TakeOnly<signal::ContactList>(alice).id, signal::RequestId{2});
}

// --- Contacts, blocks and presence ------------------------------------------------

TEST(SignalingHubTest, ContactsBlocksAndPresenceBetweenMutualContacts) {
  World w;
  ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  w.Send(alice, signal::ContactsAdd{1, "bob"});
  EXPECT_EQ(w.TakeOnly<signal::OkReply>(alice).id, signal::RequestId{1});
  EXPECT_TRUE(w.Take(bob).empty()) << "one-way: no presence yet";
  w.Send(bob, signal::ContactsAdd{2, "alice"});
  auto bob_messages = w.Take(bob);
  ASSERT_EQ(bob_messages.size(), 2u) << World::Describe(bob_messages);
  EXPECT_EQ(std::get<signal::Presence>(bob_messages[1]), (signal::Presence{std::nullopt, "alice", true}));
  EXPECT_EQ(w.TakeOnly<signal::Presence>(alice), (signal::Presence{std::nullopt, "bob", true}));

  w.Disconnect(alice);
  EXPECT_EQ(w.TakeOnly<signal::Presence>(bob), (signal::Presence{std::nullopt, "alice", false}));
  alice = w.Login("alice", "laptop", 1);  // the login reply was taken; presence came after it
  EXPECT_EQ(w.TakeOnly<signal::Presence>(bob), (signal::Presence{std::nullopt, "alice", true}));

  w.Send(alice, signal::ContactsList{3});
  EXPECT_EQ(w.TakeOnly<signal::ContactList>(alice), (signal::ContactList{3, {"bob"}}));
  w.Send(alice, signal::BlockUser{4, "bob"});
  auto alice_messages = w.Take(alice);
  ASSERT_EQ(alice_messages.size(), 2u);
  EXPECT_EQ(std::get<signal::Presence>(alice_messages[1]), (signal::Presence{std::nullopt, "bob", false}));
  EXPECT_EQ(w.TakeOnly<signal::Presence>(bob), (signal::Presence{std::nullopt, "alice", false}));
  w.Send(alice, signal::Blocks{5});
  EXPECT_EQ(w.TakeOnly<signal::BlockList>(alice), (signal::BlockList{5, {"bob"}}));
  w.Send(alice, signal::UnblockUser{6, "bob"});
  EXPECT_EQ(w.Take(alice).size(), 2u);
  EXPECT_EQ(w.TakeOnly<signal::Presence>(bob).online, true);
  w.Send(alice, signal::ContactsRemove{7, "bob"});
  EXPECT_EQ(w.Take(alice).size(), 2u);
  EXPECT_EQ(w.TakeOnly<signal::Presence>(bob).online, false);

  w.Send(alice, signal::ContactsAdd{8, "nobody-here"});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNoSuchUser);
  w.Send(alice, signal::BlockUser{9, "alice"});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
}

TEST(SignalingHubTest, HistoryLimit) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  w.Disconnect(w.Register("bob", "phone", 2));
  for (int i = 0; i < 5; ++i) {
    w.Send(alice, signal::Invite{1, MakeCallId(i), "bob"});
    w.Take(alice);
    w.Advance(seconds(1));
  }
  w.Send(alice, signal::History{2, 3});
  auto history = w.TakeOnly<signal::CallHistory>(alice);
  ASSERT_EQ(history.calls.size(), 3u);
  EXPECT_EQ(history.calls[0].call_id, MakeCallId(4));  // newest first
}

// --- Direct P2P: the policy decision at accept and candidate forwarding -------------

net::UdpEndpoint Candidate(const std::string& text) { return net::UdpEndpoint::Parse(text).value(); }

// Addresses that appear nowhere else in the world (the connections use 192.0.2.10).
const std::vector<net::UdpEndpoint> kAliceCandidates{Candidate("198.51.100.21:40001"),
                                                     Candidate("[2001:db8::21]:40001")};
const std::vector<net::UdpEndpoint> kBobCandidates{Candidate("203.0.113.42:50002")};

bool MentionsAny(const std::vector<std::string>& texts, const std::vector<net::UdpEndpoint>& addresses) {
  for (const auto& text : texts) {
    for (const auto& a : addresses) {
      const std::string host = a.ToString().substr(0, a.ToString().rfind(':'));
      if (text.find(host) != std::string::npos) return true;
      const std::string bare = host.front() == '[' ? host.substr(1, host.size() - 2) : host;
      if (text.find(bare) != std::string::npos) return true;
    }
  }
  return false;
}

struct P2PCase {
  signal::Audience caller_p2p, callee_p2p;
  bool mutual_contacts;
  bool allowed;
};

void PrintTo(const P2PCase& c, std::ostream* os) {
  *os << signal::ToString(c.caller_p2p) << "_" << signal::ToString(c.callee_p2p)
      << (c.mutual_contacts ? "_contacts" : "_strangers");
}

class SignalingHubP2PTest : public ::testing::TestWithParam<P2PCase> {};

TEST_P(SignalingHubP2PTest, BothPoliciesDecideAndCandidatesGoOnlyWhereAllowed) {
  const P2PCase& c = GetParam();
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  if (c.mutual_contacts) {
    w.Send(alice, signal::ContactsAdd{3, "bob"});
    w.Send(bob, signal::ContactsAdd{3, "alice"});
  }
  w.Send(alice, signal::Settings{4, std::nullopt, c.caller_p2p});
  w.Send(bob, signal::Settings{4, std::nullopt, c.callee_p2p});
  w.Take(alice);
  w.Take(bob);

  const CallId call = w.Ring(alice, bob, "bob", 1);
  w.Send(bob, signal::Accept{5, call, Handshake(crypto::HandshakeType::kAccept, call)});
  auto alice_messages = w.Take(alice);
  ASSERT_EQ(alice_messages.size(), 2u) << World::Describe(alice_messages);
  const auto alice_relay = std::get<signal::Relay>(alice_messages[1]);
  const auto bob_relay = w.TakeOnly<signal::Relay>(bob);
  EXPECT_EQ(alice_relay.p2p, c.allowed);
  EXPECT_EQ(bob_relay.p2p, c.allowed);

  w.Send(alice, signal::Candidates{6, call, kAliceCandidates});
  if (c.allowed) {
    EXPECT_EQ(w.TakeOnly<signal::OkReply>(alice).id, signal::RequestId{6});
    EXPECT_EQ(w.TakeOnly<signal::PeerCandidates>(bob),
              (signal::PeerCandidates{std::nullopt, call, kAliceCandidates}));
  } else {
    EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
    EXPECT_FALSE(MentionsAny(w.TakeRaw(bob), kAliceCandidates));
  }
  // After the reveal too, and from the callee.
  w.Send(alice, signal::Reveal{7, call, Handshake(crypto::HandshakeType::kReveal, call)});
  w.Take(alice);
  EXPECT_EQ(w.TakeOnly<signal::Revealed>(bob).call_id, call);
  w.Send(bob, signal::Candidates{8, call, kBobCandidates});
  if (c.allowed) {
    EXPECT_EQ(w.TakeOnly<signal::OkReply>(bob).id, signal::RequestId{8});
    EXPECT_EQ(w.TakeOnly<signal::PeerCandidates>(alice).candidates, kBobCandidates);
  } else {
    EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNotAllowed);
    // Nothing alice ever received names bob's address, and nothing bob received names
    // alice's (the relay message included).
    const auto alice_inbox = w.TakeRaw(alice);
    EXPECT_FALSE(MentionsAny(alice_inbox, kBobCandidates));
    for (const auto& text : alice_inbox) EXPECT_EQ(text.find("candidates"), std::string::npos) << text;
  }
  w.Send(alice, signal::Hangup{9, call});
  w.Take(alice);
  w.Take(bob);
}

using signal::Audience;
INSTANTIATE_TEST_SUITE_P(
    Matrix, SignalingHubP2PTest,
    ::testing::Values(
        P2PCase{Audience::kEveryone, Audience::kEveryone, false, true},
        P2PCase{Audience::kEveryone, Audience::kEveryone, true, true},
        P2PCase{Audience::kEveryone, Audience::kContacts, false, false},
        P2PCase{Audience::kEveryone, Audience::kContacts, true, true},
        P2PCase{Audience::kEveryone, Audience::kNobody, true, false},
        P2PCase{Audience::kContacts, Audience::kEveryone, false, false},
        P2PCase{Audience::kContacts, Audience::kEveryone, true, true},
        P2PCase{Audience::kContacts, Audience::kContacts, false, false},
        P2PCase{Audience::kContacts, Audience::kContacts, true, true},
        P2PCase{Audience::kContacts, Audience::kNobody, true, false},
        P2PCase{Audience::kNobody, Audience::kEveryone, true, false},
        P2PCase{Audience::kNobody, Audience::kContacts, true, false},
        P2PCase{Audience::kNobody, Audience::kNobody, true, false},
        P2PCase{Audience::kNobody, Audience::kNobody, false, false}));

TEST(SignalingHubP2PRulesTest, ContactsMeansMyListOneWay) {
  // bob lists alice, alice does not list bob: bob (contacts) allows, alice (contacts)
  // does not, so no P2P.
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  w.Send(bob, signal::ContactsAdd{3, "alice"});
  w.Take(bob);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  w.Send(bob, signal::Accept{5, call, Handshake(crypto::HandshakeType::kAccept, call)});
  w.Take(alice);
  EXPECT_FALSE(w.TakeOnly<signal::Relay>(bob).p2p);
  w.Send(alice, signal::Hangup{6, call});
  w.Take(alice);
  w.Take(bob);
  // Once alice lists bob too, the next call may go direct.
  w.Send(alice, signal::ContactsAdd{7, "bob"});
  w.Take(alice);
  w.Take(bob);  // presence: now mutual contacts
  const CallId second = w.Ring(alice, bob, "bob", 2);
  w.Send(bob, signal::Accept{8, second, Handshake(crypto::HandshakeType::kAccept, second)});
  w.Take(alice);
  EXPECT_TRUE(w.TakeOnly<signal::Relay>(bob).p2p);
}

TEST(SignalingHubP2PRulesTest, ABlockSaysNoEvenToEveryone) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  for (ConnectionId c : {alice, bob}) w.Send(c, signal::Settings{3, std::nullopt, Audience::kEveryone});
  w.Send(alice, signal::BlockUser{4, "bob"});  // alice blocks bob, yet calls him
  w.Take(alice);
  w.Take(bob);
  const CallId call = w.Ring(alice, bob, "bob", 1);
  w.Send(bob, signal::Accept{5, call, Handshake(crypto::HandshakeType::kAccept, call)});
  w.Take(alice);
  EXPECT_FALSE(w.TakeOnly<signal::Relay>(bob).p2p);
}

TEST(SignalingHubP2PRulesTest, NoCandidatesBeforeAcceptForAnotherCallOrAfterTheEnd) {
  World w;
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);
  const ConnectionId carol = w.Register("carol", "tablet", 3);
  for (ConnectionId c : {alice, bob, carol}) w.Send(c, signal::Settings{4, std::nullopt, Audience::kEveryone});
  for (ConnectionId c : {alice, bob, carol}) w.Take(c);

  // Routing: only the caller knows of the call.
  const CallId call = MakeCallId(1);
  w.Send(alice, signal::Invite{5, call, "bob"});
  w.Take(alice);
  w.Send(alice, signal::Candidates{6, call, kAliceCandidates});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
  w.Send(bob, signal::Candidates{6, call, kBobCandidates});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNoSuchCall);
  // Ringing.
  w.Send(alice, signal::Offer{7, call, Handshake(crypto::HandshakeType::kCommit, call)});
  w.Take(alice);
  w.Take(bob);
  w.Send(alice, signal::Candidates{8, call, kAliceCandidates});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNotAllowed);
  w.Send(bob, signal::Candidates{8, call, kBobCandidates});
  EXPECT_EQ(ErrorOf(w, bob), ErrorCode::kNotAllowed);
  EXPECT_FALSE(MentionsAny(w.TakeRaw(alice), kBobCandidates));
  EXPECT_FALSE(MentionsAny(w.TakeRaw(bob), kAliceCandidates));

  // Accepted and allowed; a third party and a wrong call id get nothing through.
  w.Send(bob, signal::Accept{9, call, Handshake(crypto::HandshakeType::kAccept, call)});
  w.Take(alice);
  EXPECT_TRUE(w.TakeOnly<signal::Relay>(bob).p2p);
  w.Send(carol, signal::Candidates{10, call, kAliceCandidates});
  EXPECT_EQ(ErrorOf(w, carol), ErrorCode::kNoSuchCall);
  w.Send(alice, signal::Candidates{11, MakeCallId(2), kAliceCandidates});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNoSuchCall);
  EXPECT_TRUE(w.TakeRaw(bob).empty());
  // A client cannot inject a server push.
  w.Send(alice, signal::PeerCandidates{12, call, kAliceCandidates});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kUnexpected);
  EXPECT_TRUE(w.TakeRaw(bob).empty());
  // New candidates later in the call are forwarded again (a moved peer).
  w.Send(alice, signal::Candidates{13, call, kAliceCandidates});
  w.Take(alice);
  EXPECT_EQ(w.TakeOnly<signal::PeerCandidates>(bob).candidates, kAliceCandidates);

  w.Send(bob, signal::Hangup{14, call});
  w.Take(alice);
  w.Take(bob);
  w.Send(alice, signal::Candidates{15, call, kAliceCandidates});
  EXPECT_EQ(ErrorOf(w, alice), ErrorCode::kNoSuchCall);
  EXPECT_TRUE(w.TakeRaw(bob).empty());
}

// Both parties get the same relays in the same order (so a failover meets), from the
// chooser when it answers, else from the configured relay and its alternates.
TEST(SignalingHubTest, BothRelayMessagesListTheSameRelaysInOrder) {
  HubConfig config = TestConfig();
  config.relay_alternates = {{"relay2.example", 3479}, {"relay3.example", 3480}};
  int chooser_calls = 0;
  std::vector<signal::RelayAddress> chosen;
  config.choose_relays = [&] {
    ++chooser_calls;
    return chosen;
  };
  World w(std::move(config));
  const ConnectionId alice = w.Register("alice", "laptop", 1);
  const ConnectionId bob = w.Register("bob", "phone", 2);

  const CallId first = w.Ring(alice, bob, "bob", 1);
  w.Send(bob, signal::Accept{5, first, Handshake(crypto::HandshakeType::kAccept, first)});
  auto alice_messages = w.Take(alice);
  ASSERT_EQ(alice_messages.size(), 2u) << World::Describe(alice_messages);
  const auto alice_relay = std::get<signal::Relay>(alice_messages[1]);
  const auto bob_relay = w.TakeOnly<signal::Relay>(bob);
  EXPECT_EQ(chooser_calls, 1);
  for (const auto* relay : {&alice_relay, &bob_relay}) {
    EXPECT_EQ(relay->host, kRelayHost);  // the chooser had nothing: the configured list
    EXPECT_EQ(relay->port, kRelayPort);
    EXPECT_EQ(relay->alternates,
              (std::vector<signal::RelayAddress>{{"relay2.example", 3479}, {"relay3.example", 3480}}));
  }
  w.Send(alice, signal::Hangup{6, first});
  w.Take(alice);
  w.Take(bob);

  // The chooser's answer wins, cut to one relay plus kMaxRelayAlternates.
  chosen = {{"a.example", 1}, {"b.example", 2}, {"c.example", 3}, {"d.example", 4}, {"e.example", 5}};
  const CallId second = w.Ring(alice, bob, "bob", 2);
  w.Send(bob, signal::Accept{7, second, Handshake(crypto::HandshakeType::kAccept, second)});
  alice_messages = w.Take(alice);
  ASSERT_EQ(alice_messages.size(), 2u) << World::Describe(alice_messages);
  const auto alice_second = std::get<signal::Relay>(alice_messages[1]);
  const auto bob_second = w.TakeOnly<signal::Relay>(bob);
  for (const auto* relay : {&alice_second, &bob_second}) {
    EXPECT_EQ(relay->host, "a.example");
    EXPECT_EQ(relay->port, 1);
    EXPECT_EQ(relay->alternates,
              (std::vector<signal::RelayAddress>{{"b.example", 2}, {"c.example", 3}, {"d.example", 4}}));
  }
  EXPECT_EQ(chooser_calls, 2);
}

}  // namespace
}  // namespace parley::server
