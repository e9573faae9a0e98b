// A store that fails account, contact and settings operations (issue #7): the client
// gets its error and the operator's log gets one line naming the operation and the
// store's message, with no user name, key or signature in it. The store is a real
// SQLite file whose writes a second connection makes fail with triggers (reads still
// work), so the hub sees the store's own error sentences.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "parley/crypto/encoding.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_source.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/sqlite_store.h"

namespace parley::server {
namespace {

using signal::ErrorCode;
using signal::Message;

constexpr char kServer[] = "parley.test";

crypto::IdentityKey KeyFor(uint64_t seed) {
  crypto::SeededKeySource source(seed);
  return crypto::IdentityKey::Generate(source);
}

// Captures spdlog's default logger for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(text_)));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string Take() { return std::exchange(text_, std::ostringstream()).str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
};

// A hub on a SQLite file, with a second connection to sabotage it.
class World {
 public:
  World()
      : path_(::testing::TempDir() + "/hub_store_errors_" + std::to_string(::getpid()) + ".db"),
        store_(OpenFresh(path_)),
        tickets_(std::span<const uint8_t, 32>(ticket_key_)),
        hub_(*store_, tickets_, Config(), Seed()) {}
  ~World() {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path_ + suffix);
  }

  // Runs SQL on another connection (triggers that make writes fail).
  void Sabotage(const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(raw);
  }

  ConnectionId Connect() {
    const ConnectionId id = next_++;
    Deliver(hub_.OnConnect(id, "192.0.2.10", Now()));
    return id;
  }
  void Send(ConnectionId id, const Message& m) { Deliver(hub_.OnMessage(id, signal::SerializeMessage(m), Now())); }
  std::vector<Message> Take(ConnectionId id) { return std::exchange(inbox_[id], {}); }

  signal::Signature SignAuth(const crypto::IdentityKey& key, signal::AuthPurpose purpose, ConnectionId id,
                             const std::string& user, const std::string& device) {
    return key.Sign(signal::AuthSignedBytes(purpose, challenge_.at(id), user, device, kServer));
  }

  // Sends a registration; returns the connection.
  ConnectionId Register(const std::string& user, uint64_t seed) {
    const ConnectionId id = Connect();
    Take(id);
    const auto key = KeyFor(seed);
    Send(id, signal::Register{1, user, "laptop", key.public_key(),
                              SignAuth(key, signal::AuthPurpose::kRegister, id, user, "laptop")});
    return id;
  }

 private:
  static std::unique_ptr<SqliteStore> OpenFresh(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix);
    return SqliteStore::Open(path).value();
  }
  static HubConfig Config() {
    HubConfig config;
    config.server_name = kServer;
    config.relay_host = "relay.parley.test";
    config.relay_port = 3478;
    return config;
  }
  static std::array<uint8_t, 32> Seed() {
    std::array<uint8_t, 32> seed{};
    seed.fill(7);
    return seed;
  }
  HubTime Now() const { return HubTime{TimePoint{} + std::chrono::seconds(1000), 1'767'225'600'000}; }
  void Deliver(std::vector<HubSend> sends) {
    for (auto& send : sends) {
      auto parsed = signal::ParseMessage(send.text);
      ASSERT_TRUE(parsed.ok()) << send.text;
      if (auto* hello = std::get_if<signal::Hello>(&*parsed)) challenge_[send.connection] = hello->challenge;
      inbox_[send.connection].push_back(std::move(*parsed));
    }
  }

  std::string path_;
  std::unique_ptr<SqliteStore> store_;
  std::array<uint8_t, 32> ticket_key_ = [] {
    std::array<uint8_t, 32> key{};
    key.fill(0x5a);
    return key;
  }();
  RelayTicketIssuer tickets_;
  SignalingHub hub_;
  ConnectionId next_ = 1;
  std::map<ConnectionId, std::vector<Message>> inbox_;
  std::map<ConnectionId, signal::Challenge> challenge_;
};

// The error the client got (after a failed login or registration, a fresh hello
// follows it), or a failure.
signal::ErrorReply OnlyError(World& w, ConnectionId id) {
  auto messages = w.Take(id);
  const bool hello_after = messages.size() == 2 && std::holds_alternative<signal::Hello>(messages[1]);
  if ((messages.size() != 1 && !hello_after) || !std::holds_alternative<signal::ErrorReply>(messages[0])) {
    ADD_FAILURE() << "expected one error, got " << messages.size() << " messages";
    return {};
  }
  return std::get<signal::ErrorReply>(messages[0]);
}

// Lines of `log` containing `needle`.
int CountLines(const std::string& log, const std::string& needle) {
  int count = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) count += line.find(needle) != std::string::npos ? 1 : 0;
  return count;
}

std::string Trigger(const std::string& name, const std::string& event) {
  return "CREATE TRIGGER " + name + " BEFORE " + event + " BEGIN SELECT RAISE(ABORT, 'injected " + name +
         " failure'); END;";
}

TEST(HubStoreErrorsTest, AFailedRegistrationIsLoggedForTheOperator) {
  CapturedLog log;
  World w;
  w.Sabotage(Trigger("no_accounts", "INSERT ON accounts"));
  const ConnectionId c = w.Register("alice", 1);
  const auto error = OnlyError(w, c);
  EXPECT_EQ(error.code, ErrorCode::kInternal);
  EXPECT_NE(error.message.find("The server could not create the account"), std::string::npos) << error.message;
  const std::string text = log.Take();
  // One line: what failed, for which operation, the store's own sentence.
  EXPECT_EQ(CountLines(text, "The store failed to create an account ("), 1) << text;
  EXPECT_EQ(CountLines(text, "injected no_accounts failure"), 1) << text;
  EXPECT_EQ(CountLines(text, "while creating an account"), 1) << text;
  // No user name, identity key or signature.
  EXPECT_EQ(text.find("alice"), std::string::npos) << text;
  EXPECT_EQ(text.find(crypto::ToBase64(KeyFor(1).public_key())), std::string::npos) << text;
}

TEST(HubStoreErrorsTest, FailedContactBlockAndSettingsWritesAreLogged) {
  CapturedLog log;
  World w;
  const ConnectionId alice = w.Register("alice", 1);
  const ConnectionId bob = w.Register("bob", 2);
  ASSERT_TRUE(std::holds_alternative<signal::Welcome>(w.Take(alice).at(0)));
  ASSERT_TRUE(std::holds_alternative<signal::Welcome>(w.Take(bob).at(0)));
  w.Take(alice);
  EXPECT_EQ(log.Take(), "");  // nothing failed yet

  w.Sabotage(Trigger("no_contacts", "INSERT ON contacts") + Trigger("no_blocks", "INSERT ON blocks") +
             Trigger("no_settings", "UPDATE ON accounts"));
  struct Case {
    Message request;
    std::string operation;
    std::string injected;
  };
  const std::vector<Case> cases = {
      {signal::ContactsAdd{3, "bob"}, "add a contact", "no_contacts"},
      {signal::BlockUser{4, "bob"}, "block a user", "no_blocks"},
      {signal::Settings{5, signal::Audience::kContacts, std::nullopt}, "save a user's privacy settings",
       "no_settings"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.operation);
    w.Send(alice, c.request);
    EXPECT_EQ(OnlyError(w, alice).code, ErrorCode::kInternal);
    const std::string text = log.Take();
    EXPECT_EQ(CountLines(text, "The store failed to " + c.operation + " ("), 1) << text;
    EXPECT_EQ(CountLines(text, "injected " + c.injected + " failure"), 1) << text;
    EXPECT_EQ(text.find("bob"), std::string::npos) << text;
    EXPECT_EQ(text.find("alice"), std::string::npos) << text;
  }
}

TEST(HubStoreErrorsTest, AFailedAccountLookupAtLoginIsLogged) {
  CapturedLog log;
  World w;
  const ConnectionId first = w.Register("alice", 1);
  ASSERT_TRUE(std::holds_alternative<signal::Welcome>(w.Take(first).at(0)));
  log.Take();
  w.Sabotage("ALTER TABLE devices RENAME TO devices_gone;");
  const ConnectionId c = w.Connect();
  w.Take(c);
  w.Send(c, signal::Login{2, "alice", "laptop",
                          w.SignAuth(KeyFor(1), signal::AuthPurpose::kLogin, c, "alice", "laptop")});
  EXPECT_EQ(OnlyError(w, c).code, ErrorCode::kInternal);
  const std::string text = log.Take();
  EXPECT_EQ(CountLines(text, "The store failed to look up an account for a login ("), 1) << text;
  EXPECT_EQ(text.find("alice"), std::string::npos) << text;
}

}  // namespace
}  // namespace parley::server
