// SqliteStore beyond the conformance suite (store_conformance_test.cc): persistence,
// migrations, file safety (permissions, foreign files, full disk, locks), kill -9.
#include "parley/server/sqlite_store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "parley/base/random.h"

namespace parley::server {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;

DeviceRecord Device(const std::string& name, uint8_t seed) {
  DeviceRecord device;
  device.device = name;
  for (size_t i = 0; i < device.identity_key.size(); ++i) {
    device.identity_key[i] = static_cast<uint8_t>(seed + i);
  }
  return device;
}

CallLogEntry Call(const std::string& id, const std::string& caller, const std::string& callee,
                  int64_t started, CallOutcome outcome = CallOutcome::kAnswered) {
  const int64_t answered = outcome == CallOutcome::kAnswered ? started + 1 : 0;
  return CallLogEntry{id, caller, callee, started, answered, started + 10, outcome};
}

std::vector<std::string> CallIds(const std::vector<CallLogEntry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) ids.push_back(e.call_id);
  return ids;
}

// A directory the test owns, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/parley-store-XXXXXX";
    PARLEY_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  PARLEY_CHECK(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// Runs one SQL statement on a connection of its own, bypassing the store.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(SqliteStoreMemoryTest, InMemoryStoresAreSeparate) {
  auto a = SqliteStore::OpenInMemory();
  auto b = SqliteStore::OpenInMemory();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->CreateAccount("alice", Device("laptop", 1), 0).ok());
  EXPECT_FALSE((*b)->FindAccount("alice")->has_value());
  EXPECT_EQ(*(*a)->SchemaVersion(), SqliteStore::kLatestSchemaVersion);
}

// --- Files ---

TEST(SqliteStoreFileTest, KeepsEverythingAcrossReopen) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto& s = **store;
    ASSERT_TRUE(s.CreateAccount("alice", Device("laptop", 1), 10).ok());
    ASSERT_TRUE(s.CreateAccount("bob", Device("phone", 2), 20).ok());
    ASSERT_TRUE(s.AddDevice("alice", Device("phone", 3)).ok());
    ASSERT_TRUE(s.SetPrivacy("alice", Audience::kContacts, Audience::kNobody).ok());
    ASSERT_TRUE(s.AddContact("alice", "bob").ok());
    ASSERT_TRUE(s.Block("bob", "alice").ok());
    ASSERT_TRUE(s.RecordCall(Call("c1", "alice", "bob", 100)).ok());
    ASSERT_TRUE(s.AddMissedCall("bob", Call("m1", "alice", "bob", 200)).ok());
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto& s = **store;
  const auto alice = **s.FindAccount("alice");
  EXPECT_EQ(alice.devices.size(), 2u);
  EXPECT_EQ(alice.created_unix_ms, 10);
  EXPECT_EQ(alice.who_may_call, Audience::kContacts);
  EXPECT_EQ(alice.p2p_with, Audience::kNobody);
  EXPECT_THAT(*s.Contacts("alice"), ElementsAre("bob"));
  EXPECT_THAT(*s.BlockList("bob"), ElementsAre("alice"));
  EXPECT_THAT(CallIds(*s.CallHistory("bob", 5)), ElementsAre("c1"));
  EXPECT_THAT(CallIds(*s.TakeMissedCalls("bob")), ElementsAre("m1"));
}

TEST(SqliteStoreFileTest, MigrationsRunOnceAndReopenIsIdempotent) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  for (int i = 0; i < 3; ++i) {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_EQ(*(*store)->SchemaVersion(), SqliteStore::kLatestSchemaVersion);
    ASSERT_TRUE((*store)->CreateAccount("user" + std::to_string(i), Device("d", 1), i).ok());
    for (int j = 0; j <= i; ++j) {
      EXPECT_TRUE((*store)->FindAccount("user" + std::to_string(j))->has_value());
    }
  }
}

TEST(SqliteStoreFileTest, RefusesASchemaFromANewerParleyd) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  RawExec(path, "PRAGMA user_version = 99");
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message, HasSubstr("has schema version 99, newer than this parleyd"));
}

TEST(SqliteStoreFileTest, LeavesAFileThatIsNotADatabaseUntouched) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  std::string text = "These are my notes, not a database.\n";
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + "\n";
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().message,
            path + " is not a parleyd database (it is not SQLite, or is encrypted): move it "
                   "away or point --data at another directory; the file was left as it was");
  EXPECT_EQ(ReadFile(path), text);
  EXPECT_EQ(ModeOf(path), 0644u);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(SqliteStoreFileTest, CreatesPrivateFilesAndDirectories) {
  TempDir dir;
  const std::string data = dir.File("var/lib/parley");
  const std::string path = data + "/parley.db";
  const mode_t old_umask = umask(0);  // even a permissive umask gives private files
  auto store = SqliteStore::Open(path);
  umask(old_umask);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->CreateAccount("alice", Device("laptop", 1), 0).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(path + "-wal"), 0600u);
  EXPECT_EQ(ModeOf(data), 0700u);
  EXPECT_EQ(ModeOf(dir.File("var")), 0700u);
}

TEST(SqliteStoreFileTest, NarrowsAnExistingDatabaseToTheOwner) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(SqliteStoreFileTest, AFullDiskIsAClearErrorAndLosesNothing) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto& s = **store;
  ASSERT_TRUE(s.CreateAccount("alice", Device("laptop", 1), 0).ok());
  ASSERT_TRUE(s.LimitPagesForTesting(16).ok());  // the schema already takes most of it
  std::vector<std::string> stored;
  Status status = Ok{};
  for (int i = 0; i < 10000 && status.ok(); ++i) {
    CallLogEntry entry = Call("call-" + std::to_string(i) + std::string(40, 'x'), "alice",
                              "someone-" + std::to_string(i), i);
    status = s.RecordCall(entry);
    if (status.ok()) stored.push_back(entry.call_id);
  }
  ASSERT_FALSE(status.ok()) << "the page limit was never reached";
  EXPECT_THAT(status.error().message,
              HasSubstr("the disk holding " + dir.path() + " is full while recording a call: "
                        "free space there and retry"));
  ASSERT_FALSE(stored.empty());
  // The store stays usable for reads.
  EXPECT_EQ(s.CallHistory("alice", 100000)->size(), stored.size());
  store->reset();

  auto reopened = SqliteStore::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto history = *(*reopened)->CallHistory("alice", 100000);
  EXPECT_EQ(history.size(), stored.size());
  EXPECT_TRUE((*reopened)->CreateAccount("carol", Device("phone", 2), 0).ok());
}

TEST(SqliteStoreFileTest, ALockedDatabaseIsAClearErrorAndLosesNothing) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  auto store = SqliteStore::Open(path, std::chrono::milliseconds(50));
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto& s = **store;
  ASSERT_TRUE(s.CreateAccount("alice", Device("laptop", 1), 0).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const Status status = s.CreateAccount("bob", Device("phone", 2), 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message,
              HasSubstr("the database " + path + " is locked by another process while creating an "
                        "account"));
  EXPECT_THAT(status.error().message, HasSubstr("stop that process and retry"));
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);

  EXPECT_FALSE(s.FindAccount("bob")->has_value());
  EXPECT_TRUE(s.FindAccount("alice")->has_value());
  EXPECT_TRUE(s.CreateAccount("bob", Device("phone", 2), 0).ok());
}

// --- kill -9 ---

// What a child reports after a write returned Ok.
enum class Wrote : uint32_t { kAccount, kContact, kCall, kMissedCall };
struct Ack {
  Wrote what;
  uint32_t index;
};

std::string CrashName(int round, uint32_t i) {
  return "r" + std::to_string(round) + "n" + std::to_string(i);
}

// The child: writes rows as fast as it can and reports each acknowledged one. Never
// returns; exits with a code the parent treats as failure if anything goes wrong.
[[noreturn]] void WriteUntilKilled(const std::string& path, int round, int ack_fd) {
  auto opened = SqliteStore::Open(path);
  if (!opened.ok()) _exit(2);
  SqliteStore& store = **opened;
  auto report = [&](Wrote what, uint32_t i) {
    const Ack ack{what, i};
    if (write(ack_fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) _exit(3);
  };
  for (uint32_t i = 0;; ++i) {
    const std::string name = CrashName(round, i);
    if (!store.CreateAccount(name, Device("d", static_cast<uint8_t>(i + 1)), i).ok()) _exit(4);
    report(Wrote::kAccount, i);
    if (i > 0) {
      if (!store.AddContact(name, CrashName(round, i - 1)).ok()) _exit(5);
      report(Wrote::kContact, i);
    }
    if (!store.RecordCall(Call("c-" + name, name, "anchor", i)).ok()) _exit(6);
    report(Wrote::kCall, i);
    if (!store.AddMissedCall(name, Call("m-" + name, "anchor", name, i)).ok()) _exit(7);
    report(Wrote::kMissedCall, i);
  }
}

TEST(SqliteStoreCrashTest, EveryAcknowledgedWriteSurvivesKill9) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->CreateAccount("anchor", Device("d", 1), 0).ok());
  }
  Random random(20260401);
  constexpr int kRounds = 20;
  size_t total_acks = 0;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      WriteUntilKilled(path, round, fds[1]);
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(random.Between(5, 80)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "the writer stopped by itself with status " << wstatus;

    std::vector<Ack> acks;
    Ack ack{};
    while (true) {
      const ssize_t n = read(fds[0], &ack, sizeof ack);
      if (n == 0) break;
      if (n < 0 && errno == EINTR) continue;
      ASSERT_EQ(n, static_cast<ssize_t>(sizeof ack));
      acks.push_back(ack);
    }
    close(fds[0]);
    total_acks += acks.size();

    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.error().message;
    auto& s = **store;
    std::set<std::string> logged;
    auto anchor_log = s.CallHistory("anchor", 1 << 30);
    ASSERT_TRUE(anchor_log.ok()) << anchor_log.error().message;
    for (const auto& e : *anchor_log) logged.insert(e.call_id);
    for (const Ack& a : acks) {
      const std::string name = CrashName(round, a.index);
      switch (a.what) {
        case Wrote::kAccount:
          EXPECT_TRUE(s.FindAccount(name)->has_value()) << name;
          break;
        case Wrote::kContact: {
          auto is = s.IsContact(name, CrashName(round, a.index - 1));
          EXPECT_TRUE(is.ok() && *is) << name;
          break;
        }
        case Wrote::kCall:
          EXPECT_TRUE(logged.count("c-" + name)) << name;
          break;
        case Wrote::kMissedCall: {
          auto taken = s.TakeMissedCalls(name);
          ASSERT_TRUE(taken.ok()) << taken.error().message;
          EXPECT_THAT(CallIds(*taken), ElementsAre("m-" + name));
          break;
        }
      }
    }
  }
  EXPECT_GT(total_acks, 0u) << "no round got as far as one write";
  RecordProperty("acknowledged_writes", static_cast<int>(total_acks));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* check = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
  sqlite3_finalize(check);
  sqlite3_close(db);
}

}  // namespace
}  // namespace parley::server
