// PostgresStore beyond the conformance suite: migrations under concurrent opens, a
// newer schema, several nodes writing at once, lost connections (a terminated
// backend, kill -9 of the server and its restart), a held lock and a slow statement
// (busy errors after lock_timeout / statement_timeout), a SIGSTOPped server (bounded
// wait, then fail fast, then recovery), connection errors that hide the password,
// one round trip per read (a counting proxy), and `parleyd migrate` SQLite ->
// PostgreSQL -> SQLite.
#include "parley/server/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "parley/server/community_migration.h"
#include "parley/server/sqlite_store.h"
#include "parley/server/store_factory.h"
#include "postgres_fixture.h"

namespace parley::server {
namespace {

using testing::HasSubstr;
using testing::Not;
using testing_postgres::PostgresServer;

DeviceRecord Device(const std::string& name, uint8_t seed) {
  DeviceRecord device;
  device.device = name;
  for (size_t i = 0; i < device.identity_key.size(); ++i) device.identity_key[i] = static_cast<uint8_t>(seed + i);
  return device;
}

CallLogEntry Call(const std::string& id, const std::string& caller, const std::string& callee, int64_t started) {
  return CallLogEntry{id, caller, callee, started, started + 1, started + 10, CallOutcome::kAnswered};
}

std::string DatabaseOf(const std::string& url) { return url.substr(url.rfind('/') + 1); }

class PostgresStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = testing_postgres::SharedPostgres(&error);
    ASSERT_NE(server_, nullptr) << error;
    url_ = server_->CreateDatabase();
  }

  std::unique_ptr<PostgresStore> Open() {
    auto store = PostgresStore::Open(url_);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  PostgresServer* server_ = nullptr;
  std::string url_;
};

TEST_F(PostgresStoreTest, NodesOpeningANewDatabaseAtOnceMigrateItOnce) {
  constexpr int kNodes = 6;
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  std::vector<std::string> errors(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    nodes.emplace_back([&, i] {
      auto store = PostgresStore::Open(url_);
      if (store.ok() && *(*store)->SchemaVersion() == PostgresStore::kLatestSchemaVersion) {
        ++opened;
      } else if (!store.ok()) {
        errors[i] = store.error().message;
      }
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(opened.load(), kNodes) << errors[0];
  pqxx::connection db(url_);
  pqxx::work tx(db);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM schema_version")[0][0].as<int>(), PostgresStore::kLatestSchemaVersion);
}

TEST_F(PostgresStoreTest, ReopeningKeepsEverythingAndMigratesNothing) {
  {
    auto store = Open();
    ASSERT_TRUE(store->CreateAccount("alice", Device("laptop", 1), 10).ok());
  }
  auto store = Open();
  EXPECT_TRUE(store->FindAccount("alice")->has_value());
  EXPECT_EQ(*store->SchemaVersion(), PostgresStore::kLatestSchemaVersion);
}

TEST_F(PostgresStoreTest, RefusesASchemaFromANewerParleyd) {
  Open();
  server_->Exec(DatabaseOf(url_), "INSERT INTO schema_version (version) VALUES (99)");
  auto store = PostgresStore::Open(url_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message, HasSubstr("has schema version 99, newer than this parleyd knows (2)"));
}

// Two nodes (two connections, two threads) doing the same thing at the same moment:
// the database decides, one wins and the other gets the sentence a single node gives.
TEST_F(PostgresStoreTest, ConcurrentWritersGetOneSuccessAndOneClearError) {
  auto node_a = Open();
  auto node_b = Open();
  ASSERT_TRUE(node_a && node_b);
  ASSERT_TRUE(node_a->CreateAccount("anchor", Device("d", 1), 0).ok());
  ASSERT_TRUE(node_a->CreateAccount("friend", Device("d", 2), 0).ok());
  constexpr int kRounds = 40;
  int both_ok = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = "user" + std::to_string(round);
    const std::string call = "call" + std::to_string(round);
    std::array<uint8_t, 32> hash{};
    hash[0] = static_cast<uint8_t>(round + 1);
    Status register_a = Ok{}, register_b = Ok{}, call_a = Ok{}, call_b = Ok{}, invite_a = Ok{}, invite_b = Ok{};
    Status contact_a = Ok{}, contact_b = Ok{};
    std::atomic<int> ready{0};
    auto run = [&](PostgresStore& node, Status& reg, Status& logged, Status& invited, Status& contact) {
      ++ready;
      while (ready.load() < 2) {
      }
      reg = node.CreateAccount(name, Device("d", 3), round);
      logged = node.RecordCall(Call(call, "anchor", name, round));
      invited = node.AddInvite(InviteRecord{hash, "anchor", round, 0});
      contact = node.AddContact("anchor", "friend");
    };
    std::thread a([&] { run(*node_a, register_a, call_a, invite_a, contact_a); });
    std::thread b([&] { run(*node_b, register_b, call_b, invite_b, contact_b); });
    a.join();
    b.join();
    EXPECT_NE(register_a.ok(), register_b.ok()) << round;
    const Status& lost_register = register_a.ok() ? register_b : register_a;
    EXPECT_EQ(lost_register.error().message, "username \"" + name + "\" is taken: choose another");
    EXPECT_NE(call_a.ok(), call_b.ok()) << round;
    const Status& lost_call = call_a.ok() ? call_b : call_a;
    EXPECT_EQ(lost_call.error().message, "call \"" + call + "\" is already in the call log");
    EXPECT_NE(invite_a.ok(), invite_b.ok()) << round;
    const Status& lost_invite = invite_a.ok() ? invite_b : invite_a;
    EXPECT_EQ(lost_invite.error().message, "this invite is already stored: make a new one");
    EXPECT_TRUE(contact_a.ok() && contact_b.ok());  // idempotent: a retry is harmless
    both_ok += register_a.ok() && register_b.ok();
  }
  EXPECT_EQ(both_ok, 0);
  EXPECT_EQ(node_b->CountCommunity()->accounts, kRounds + 2);
  EXPECT_EQ(node_b->CountCommunity()->calls, kRounds);
  EXPECT_THAT(*node_b->Contacts("anchor"), testing::ElementsAre("friend"));
}

TEST_F(PostgresStoreTest, MissedCallsTakenByTwoNodesAtOnceAreDeliveredOnce) {
  auto node_a = Open();
  auto node_b = Open();
  ASSERT_TRUE(node_a && node_b);
  ASSERT_TRUE(node_a->CreateAccount("alice", Device("d", 1), 0).ok());
  ASSERT_TRUE(node_a->CreateAccount("bob", Device("d", 2), 0).ok());
  std::multiset<std::string> delivered;
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < 5; ++i) {
      const std::string id = "m" + std::to_string(round) + "-" + std::to_string(i);
      ASSERT_TRUE(node_a->AddMissedCall("bob", Call(id, "alice", "bob", i)).ok());
    }
    Result<std::vector<CallLogEntry>> taken_a = std::vector<CallLogEntry>{};
    Result<std::vector<CallLogEntry>> taken_b = std::vector<CallLogEntry>{};
    std::thread a([&] { taken_a = node_a->TakeMissedCalls("bob"); });
    std::thread b([&] { taken_b = node_b->TakeMissedCalls("bob"); });
    a.join();
    b.join();
    ASSERT_TRUE(taken_a.ok() && taken_b.ok());
    for (const auto* taken : {&*taken_a, &*taken_b}) {
      for (const auto& e : *taken) delivered.insert(e.call_id);
    }
  }
  EXPECT_EQ(delivered.size(), static_cast<size_t>(kRounds * 5));
  EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()).size(), delivered.size());
}

TEST_F(PostgresStoreTest, ATerminatedConnectionIsReconnectedWithinTheCall) {
  auto store = Open();
  ASSERT_TRUE(store->CreateAccount("alice", Device("d", 1), 0).ok());
  server_->Exec("postgres",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + DatabaseOf(url_) + "'");
  // The next call finds its connection gone, reconnects once and succeeds.
  EXPECT_TRUE(store->CreateAccount("bob", Device("d", 2), 0).ok());
  server_->Exec("postgres",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + DatabaseOf(url_) + "'");
  auto found = store->FindAccount("alice");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_TRUE(found->has_value());
}

TEST_F(PostgresStoreTest, AKilledServerIsAClearErrorAndTheStoreWorksAfterItsRestart) {
  auto store = Open();
  ASSERT_TRUE(store->CreateAccount("alice", Device("d", 1), 0).ok());
  server_->Kill9();
  const Status status = store->CreateAccount("bob", Device("d", 2), 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message,
              HasSubstr("lost the connection to the PostgreSQL database " + url_ +
                        " while creating an account and could not reconnect: check that PostgreSQL is running"));
  EXPECT_THAT(status.error().message, HasSubstr("nothing of this change was stored"));
  auto read = store->FindAccount("alice");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.error().message, HasSubstr("while looking up an account"));

  ASSERT_TRUE(server_->Restart().ok());
  EXPECT_TRUE(store->FindAccount("alice")->has_value());  // acknowledged before the kill
  EXPECT_FALSE(store->FindAccount("bob")->has_value());
  EXPECT_TRUE(store->CreateAccount("bob", Device("d", 2), 0).ok());
}

TEST(PostgresStoreOpenTest, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  auto store = PostgresStore::Open("postgres://parley:hunter2@127.0.0.1:1/community?connect_timeout=2");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message,
              HasSubstr("cannot connect to the PostgreSQL database postgres://parley:***@127.0.0.1:1/community ("));
  EXPECT_THAT(store.error().message, HasSubstr("check the store URL, that PostgreSQL is running"));
  EXPECT_THAT(store.error().message, Not(HasSubstr("hunter2")));
  EXPECT_EQ(store.error().message.find('\n'), std::string::npos);
}

// --- Round trips ---

// Forwards TCP connections (one at a time) from 127.0.0.1:port() to PostgreSQL and
// counts the client's separate writes: libpq sends a whole statement (or BEGIN, or
// COMMIT) in one write and waits for its answer, so each is one round trip. The
// count is taken before the bytes are forwarded, so it is complete when the store's
// call returns. Runs a thread of its own until destroyed.
class CountingProxy {
 public:
  explicit CountingProxy(uint16_t server_port) : server_port_(server_port) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PARLEY_CHECK(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    PARLEY_CHECK(listen(listener_, 4) == 0);
    socklen_t length = sizeof address;
    PARLEY_CHECK(getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    PARLEY_CHECK(pipe2(stop_, O_CLOEXEC) == 0);
    thread_ = std::thread([this] { Loop(); });
  }
  ~CountingProxy() {
    PARLEY_CHECK(write(stop_[1], "x", 1) == 1);
    thread_.join();
    for (int fd : {listener_, stop_[0], stop_[1], client_, server_}) {
      if (fd >= 0) close(fd);
    }
  }
  CountingProxy(const CountingProxy&) = delete;
  CountingProxy& operator=(const CountingProxy&) = delete;

  uint16_t port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  void ClosePair() {
    if (client_ >= 0) close(client_);
    if (server_ >= 0) close(server_);
    client_ = server_ = -1;
  }
  static bool SendAll(int fd, const char* data, ssize_t size) {
    while (size > 0) {
      const ssize_t sent = send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data += sent;
      size -= sent;
    }
    return true;
  }
  void Loop() {
    char buffer[65536];
    for (;;) {
      pollfd fds[4] = {{stop_[0], POLLIN, 0}, {listener_, POLLIN, 0}, {client_, POLLIN, 0}, {server_, POLLIN, 0}};
      if (poll(fds, 4, -1) < 0) continue;
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0) {
        const int accepted = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (accepted < 0) continue;
        ClosePair();  // the store reconnected: its old connection is gone
        client_ = accepted;
        server_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(server_port_);
        if (connect(server_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ClosePair();
        continue;
      }
      if (client_ >= 0 && fds[2].revents != 0) {
        const ssize_t n = recv(client_, buffer, sizeof buffer, 0);
        if (n > 0) ++requests_;
        if (n <= 0 || !SendAll(server_, buffer, n)) ClosePair();
        continue;
      }
      if (server_ >= 0 && fds[3].revents != 0) {
        const ssize_t n = recv(server_, buffer, sizeof buffer, 0);
        if (n <= 0 || !SendAll(client_, buffer, n)) ClosePair();
      }
    }
  }

  const uint16_t server_port_;
  uint16_t port_ = 0;
  int listener_ = -1;
  int stop_[2] = {-1, -1};
  int client_ = -1;  // proxy thread only (and the destructor, after join)
  int server_ = -1;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// Reads go out as one statement without BEGIN and COMMIT: one round trip each, found
// or not, including a clear error; a write is still one transaction.
TEST_F(PostgresStoreTest, EachReadIsOneRoundTripAndEachWriteOneTransaction) {
  std::array<uint8_t, 32> invite_hash{};
  invite_hash.fill(5);
  {
    auto seed = Open();
    for (const char* user : {"alice", "bob", "carol"}) ASSERT_TRUE(seed->CreateAccount(user, Device("d", 1), 0).ok());
    ASSERT_TRUE(seed->AddDevice("alice", Device("e", 2)).ok());
    ASSERT_TRUE(seed->AddContact("alice", "bob").ok());
    ASSERT_TRUE(seed->AddContact("alice", "carol").ok());
    ASSERT_TRUE(seed->Block("alice", "carol").ok());
    ASSERT_TRUE(seed->RecordCall(Call("c1", "alice", "bob", 100)).ok());
    ASSERT_TRUE(seed->RecordCall(Call("c2", "bob", "alice", 200)).ok());
    ASSERT_TRUE(seed->AddInvite(InviteRecord{invite_hash, "alice", 1000, 0}).ok());
  }
  CountingProxy proxy(server_->port());
  auto opened = PostgresStore::Open("postgres://parley@127.0.0.1:" + std::to_string(proxy.port()) + "/" +
                                    DatabaseOf(url_));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  PostgresStore& store = **opened;
  using Names = std::vector<std::string>;
  const std::vector<std::pair<const char*, std::function<bool()>>> reads = {
      {"FindAccount", [&] {
         auto r = store.FindAccount("alice");
         return r.ok() && r->has_value() && (*r)->devices.size() == 2 && (*r)->devices[1].device == "e";
       }},
      {"FindAccount of nobody", [&] { auto r = store.FindAccount("zed"); return r.ok() && !r->has_value(); }},
      {"Contacts", [&] { auto r = store.Contacts("alice"); return r.ok() && *r == Names{"bob", "carol"}; }},
      {"Contacts none", [&] { auto r = store.Contacts("bob"); return r.ok() && r->empty(); }},
      {"Contacts of nobody", [&] { return !store.Contacts("zed").ok(); }},
      {"BlockList", [&] { auto r = store.BlockList("alice"); return r.ok() && *r == Names{"carol"}; }},
      {"IsContact", [&] { auto r = store.IsContact("alice", "bob"); return r.ok() && *r; }},
      {"IsContact not", [&] { auto r = store.IsContact("bob", "alice"); return r.ok() && !*r; }},
      {"IsContact of nobody", [&] { return !store.IsContact("zed", "alice").ok(); }},
      {"IsBlocked", [&] { auto r = store.IsBlocked("alice", "carol"); return r.ok() && *r; }},
      {"CallHistory", [&] {
         auto r = store.CallHistory("alice", 10);
         return r.ok() && r->size() == 2 && (*r)[0].call_id == "c2";
       }},
      {"CallHistory of nobody", [&] { return !store.CallHistory("zed", 10).ok(); }},
      {"FindInvite", [&] { auto r = store.FindInvite(invite_hash); return r.ok() && r->has_value(); }},
      {"ListInvites", [&] { auto r = store.ListInvites(); return r.ok() && r->size() == 1; }},
      {"CountInvitesBy", [&] { auto r = store.CountInvitesBy("alice", 0); return r.ok() && *r == 1; }},
      {"SchemaVersion", [&] { auto r = store.SchemaVersion(); return r.ok() && *r == 2; }},
  };
  for (const auto& [name, read] : reads) {
    const int before = proxy.requests();
    EXPECT_TRUE(read()) << name;
    EXPECT_EQ(proxy.requests() - before, 1) << name;
  }
  const int before = proxy.requests();
  ASSERT_TRUE(store.AddContact("bob", "alice").ok());
  EXPECT_EQ(proxy.requests() - before, 5);  // BEGIN, two account ids, the insert, COMMIT
}

// --- A busy or stalled server: bounded waits, clear errors, recovery ---

using SteadyTime = std::chrono::steady_clock;

std::chrono::milliseconds Since(SteadyTime::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyTime::now() - start);
}

// Another node holding a lock for as long as it likes: the store's call waits
// lock_timeout (1 s by default), then says the database is busy, and works again once
// the lock is gone.
TEST_F(PostgresStoreTest, ALockHeldByAnotherSessionIsABusyErrorAfterLockTimeout) {
  auto store = Open();
  ASSERT_TRUE(store->CreateAccount("alice", Device("d", 1), 0).ok());
  pqxx::connection other(url_);
  auto holding = std::make_unique<pqxx::work>(other);
  holding->exec("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");

  const auto start = SteadyTime::now();
  const Status added = store->AddDevice("alice", Device("phone", 2));
  const auto waited = Since(start);
  ASSERT_FALSE(added.ok());
  EXPECT_THAT(added.error().message,
              HasSubstr("the PostgreSQL database " + url_ + " is busy: what adding a device needs stayed locked by "
                        "another session for longer than lock_timeout (1000 ms): retry"));
  EXPECT_THAT(added.error().message, HasSubstr("nothing of this change was stored"));
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::seconds(5));  // lock_timeout, not forever (and not the watchdog)

  holding->abort();
  holding.reset();
  const auto again = SteadyTime::now();
  EXPECT_TRUE(store->AddDevice("alice", Device("phone", 2)).ok());  // no breaker: the server answered
  EXPECT_LT(Since(again), std::chrono::seconds(1));
}

// The URL sets the session's timeouts with libpq's own `options`: here a statement
// may take 300 ms and a lock wait is unbounded, so statement_timeout ends the wait.
TEST_F(PostgresStoreTest, TheUrlSetsTheTimeoutsAndAStatementPastItsTimeoutIsABusyError) {
  const std::string tuned = url_ + "?options=-c%20statement_timeout%3D300%20-c%20lock_timeout%3D0";
  auto opened = PostgresStore::Open(tuned);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  PostgresStore& store = **opened;
  ASSERT_TRUE(store.CreateAccount("alice", Device("d", 1), 0).ok());
  pqxx::connection other(url_);
  pqxx::work holding(other);
  holding.exec("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");

  const auto start = SteadyTime::now();
  auto found = store.FindAccount("alice");
  const auto waited = Since(start);
  ASSERT_FALSE(found.ok());
  EXPECT_THAT(found.error().message,
              HasSubstr("is busy: looking up an account took longer than statement_timeout (300 ms) or was "
                        "cancelled: retry"));
  EXPECT_THAT(found.error().message, Not(HasSubstr("options")));  // the description leaves the query out
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(3));
  holding.abort();
  EXPECT_TRUE(store.FindAccount("alice")->has_value());
}

// Thaws the server at the end of a test whatever happens, so the next test has one.
class FrozenServer {
 public:
  explicit FrozenServer(PostgresServer& server) : server_(server) { server_.Signal(/*stop=*/true); }
  ~FrozenServer() { Thaw(); }
  void Thaw() {
    if (frozen_) server_.Signal(/*stop=*/false);
    frozen_ = false;
  }

 private:
  PostgresServer& server_;
  bool frozen_ = true;
};

// SIGSTOP of every PostgreSQL process: the server can enforce no timeout of its own.
// The watchdog ends the first call after statement_timeout + answer_grace, the next
// calls fail at once (no reconnect, no wait) until the retry time, and after SIGCONT
// the store reconnects by itself.
TEST_F(PostgresStoreTest, AStoppedServerCostsOneBoundedWaitThenFailsFastAndTheStoreRecovers) {
  PostgresTimeouts timeouts;
  timeouts.statement_timeout = std::chrono::milliseconds(500);
  timeouts.answer_grace = std::chrono::milliseconds(500);
  auto opened = PostgresStore::Open(url_, timeouts);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  PostgresStore& store = **opened;
  ASSERT_TRUE(store.CreateAccount("alice", Device("d", 1), 0).ok());

  FrozenServer frozen(*server_);
  auto start = SteadyTime::now();
  const Status created = store.CreateAccount("bob", Device("d", 2), 1);
  auto waited = Since(start);
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.error().message,
              HasSubstr("the PostgreSQL database " + url_ + " did not answer within "));
  EXPECT_THAT(created.error().message,
              HasSubstr(" while creating an account (it is stopped, overloaded or unreachable): check PostgreSQL"));
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::seconds(4));

  // A hundred users logging in meanwhile: none of them waits.
  start = SteadyTime::now();
  for (int i = 0; i < 100; ++i) {
    auto found = store.FindAccount("alice");
    ASSERT_FALSE(found.ok());
    EXPECT_THAT(found.error().message,
                HasSubstr("the PostgreSQL database " + url_ + " is unavailable while looking up an account: it did "
                          "not answer a moment ago and parleyd tries it again in "));
  }
  EXPECT_LT(Since(start), std::chrono::milliseconds(900));

  // A node starting now gives up after connect_timeout (2 s), not never.
  start = SteadyTime::now();
  auto late = PostgresStore::Open(url_);
  ASSERT_FALSE(late.ok());
  EXPECT_THAT(late.error().message, HasSubstr("cannot connect to the PostgreSQL database " + url_));
  EXPECT_LT(Since(start), std::chrono::seconds(6));

  frozen.Thaw();
  start = SteadyTime::now();
  bool back = false;
  while (!back && Since(start) < std::chrono::seconds(20)) {
    auto found = store.FindAccount("alice");
    back = found.ok() && found->has_value();
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(back) << "the store did not recover within 20 s of SIGCONT";
  EXPECT_TRUE(store.CreateAccount("bob", Device("d", 2), 1).ok());
}

// --- parleyd migrate ---

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/parley-migrate-XXXXXX";
    PARLEY_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST_F(PostgresStoreTest, MigratesSqliteToPostgresAndBackAlike) {
  TempDir dir;
  const std::string sqlite_url = "sqlite://" + dir.File("parley.db");
  {
    auto sqlite = OpenStoreUrl(sqlite_url);
    ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
    Store& s = **sqlite;
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(s.CreateAccount("user" + std::to_string(i), Device("d", static_cast<uint8_t>(i + 1)), i).ok());
      if (i > 0) {
        ASSERT_TRUE(s.AddContact("user" + std::to_string(i), "user" + std::to_string(i - 1)).ok());
      }
      ASSERT_TRUE(s.RecordCall(Call("c" + std::to_string(i), "user" + std::to_string(i), "user0x", i)).ok());
    }
    ASSERT_TRUE(s.AddDevice("user3", Device("phone", 9)).ok());
    ASSERT_TRUE(s.Block("user4", "user5").ok());
    ASSERT_TRUE(s.SetPrivacy("user6", Audience::kNobody, Audience::kEveryone).ok());
    ASSERT_TRUE(s.AddMissedCall("user7", Call("m1", "user8", "user7", 5)).ok());
    ASSERT_TRUE(s.AddInvite(InviteRecord{{4}, "user9", 77, 0}).ok());
    ASSERT_TRUE(s.DeleteAccount("user10").ok());
  }
  auto from = OpenStoreUrl(sqlite_url);
  auto to = OpenStoreUrl(url_);
  ASSERT_TRUE(from.ok() && to.ok());
  auto counts = MigrateCommunity(**from, **to);
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->accounts, 49);
  EXPECT_EQ(counts->devices, 50);
  EXPECT_EQ(counts->contacts, 47);  // user10's two went with it
  EXPECT_EQ(counts->blocks, 1);
  EXPECT_EQ(counts->calls, 49);
  EXPECT_EQ(counts->missed_calls, 1);
  EXPECT_EQ(counts->invites, 1);
  EXPECT_EQ(*(*to)->CountCommunity(), *counts);
  EXPECT_EQ((*to)->FindAccount("user6")->value().who_may_call, Audience::kNobody);
  EXPECT_EQ((*to)->CallHistory("user5", 10)->size(), 1u);

  // A second run refuses the now-used destination and changes nothing.
  auto again = MigrateCommunity(**from, **to);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.error().message, HasSubstr("already has 49 accounts"));
  EXPECT_EQ(*(*to)->CountCommunity(), *counts);

  // And back into a new SQLite file: the same community.
  auto back = OpenStoreUrl("sqlite://" + dir.File("back.db"));
  ASSERT_TRUE(back.ok());
  auto back_counts = MigrateCommunity(**to, **back);
  ASSERT_TRUE(back_counts.ok()) << back_counts.error().message;
  EXPECT_EQ(*back_counts, *counts);
  auto original = (*from)->ExportCommunity();
  auto returned = (*back)->ExportCommunity();
  ASSERT_TRUE(original.ok() && returned.ok());
  ASSERT_EQ(original->accounts.size(), returned->accounts.size());
  for (size_t i = 0; i < original->accounts.size(); ++i) {
    EXPECT_EQ(original->accounts[i].user, returned->accounts[i].user);
    EXPECT_EQ(original->accounts[i].devices.size(), returned->accounts[i].devices.size());
  }
  EXPECT_EQ(original->contacts, returned->contacts);
  EXPECT_EQ(original->blocks, returned->blocks);
  ASSERT_EQ(original->call_log.size(), returned->call_log.size());
  for (size_t i = 0; i < original->call_log.size(); ++i) {
    EXPECT_EQ(original->call_log[i].entry.call_id, returned->call_log[i].entry.call_id);
    EXPECT_EQ(original->call_log[i].caller_linked, returned->call_log[i].caller_linked);
    EXPECT_EQ(original->call_log[i].callee_linked, returned->call_log[i].callee_linked);
  }
}

// `parleyd migrate` itself: output, exit codes, refusal of a used destination.
std::string RunParleyd(const std::string& args, int* exit_code) {
  const std::string command = std::string(PARLEYD_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  PARLEY_CHECK(pipe != nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

TEST_F(PostgresStoreTest, ParleydMigrateCopiesPrintsAndRefusesAUsedDestination) {
  TempDir dir;
  {
    auto sqlite = SqliteStore::Open(dir.File("parley.db"));
    ASSERT_TRUE(sqlite.ok());
    ASSERT_TRUE((*sqlite)->CreateAccount("alice", Device("laptop", 1), 1).ok());
    ASSERT_TRUE((*sqlite)->CreateAccount("bob", Device("phone", 2), 2).ok());
    ASSERT_TRUE((*sqlite)->AddContact("alice", "bob").ok());
    ASSERT_TRUE((*sqlite)->RecordCall(Call("c1", "alice", "bob", 5)).ok());
  }
  const std::string from = "sqlite://" + dir.File("parley.db");
  int code = -1;
  std::string out = RunParleyd("migrate --from " + from + " --to " + url_, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "copied 2 accounts, 2 devices, 1 contact, 0 blocks, 1 logged call, 0 missed calls, 0 invites\n"
                 "  from " + from + "\n  to   " + url_ + "\n");
  auto copied = PostgresStore::Open(url_);
  ASSERT_TRUE(copied.ok());
  EXPECT_TRUE(*(*copied)->IsContact("alice", "bob"));

  out = RunParleyd("migrate --from " + from + " --to " + url_, &code);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out, HasSubstr("parleyd: the destination store already has 2 accounts: migrate only into a new, empty store"));
  out = RunParleyd("migrate --from sqlite://" + dir.File("missing.db") + " --to " + url_, &code);
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("missing.db does not exist"));
  EXPECT_FALSE(std::filesystem::exists(dir.File("missing.db")));
  out = RunParleyd("migrate --from " + from + " --to mysql://x/y", &code);
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("--to: the store URL must start with sqlite:/// or postgres://"));
}

}  // namespace
}  // namespace parley::server
