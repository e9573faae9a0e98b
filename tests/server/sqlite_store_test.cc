// SqliteStore: every method and its errors, deletion, persistence, migrations, file
// safety (permissions, foreign files, full disk, locks) and kill -9 durability.
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

class SqliteStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::OpenInMemory();
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    for (const char* name : {"alice", "bob", "carol"}) {
      ASSERT_TRUE(store_->CreateAccount(name, Device("laptop", 1), 1000).ok());
    }
  }

  std::unique_ptr<SqliteStore> store_;
};

// --- Accounts ---

TEST_F(SqliteStoreTest, CreatesAndFindsAnAccount) {
  ASSERT_TRUE(store_->CreateAccount("dave", Device("phone", 7), 123456).ok());
  auto found = store_->FindAccount("dave");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const AccountRecord& account = **found;
  EXPECT_EQ(account.user, "dave");
  EXPECT_EQ(account.created_unix_ms, 123456);
  EXPECT_EQ(account.who_may_call, Audience::kEveryone);
  EXPECT_EQ(account.p2p_with, Audience::kContacts);
  ASSERT_EQ(account.devices.size(), 1u);
  EXPECT_EQ(account.devices[0].device, "phone");
  EXPECT_EQ(account.devices[0].identity_key, Device("phone", 7).identity_key);
}

TEST_F(SqliteStoreTest, UnknownAccountIsNotFound) {
  auto found = store_->FindAccount("nobody-here");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(SqliteStoreTest, RefusesATakenName) {
  const Status status = store_->CreateAccount("alice", Device("phone", 2), 2000);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "username \"alice\" is taken: choose another");
  // The first owner is untouched.
  EXPECT_EQ((*store_->FindAccount("alice"))->devices[0].identity_key,
            Device("laptop", 1).identity_key);
}

TEST_F(SqliteStoreTest, RefusesAnInvalidNameOrDevice) {
  Status status = store_->CreateAccount("Al", Device("phone", 2), 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("is too short"));
  status = store_->CreateAccount("admin", Device("phone", 2), 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("is reserved"));
  status = store_->CreateAccount("erin", Device("", 2), 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("must be 1 to 64 bytes"));
  status = store_->CreateAccount("erin", Device("ph\none", 2), 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("control character"));
  DeviceRecord zero;
  zero.device = "phone";
  status = store_->CreateAccount("erin", zero, 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("all zeros"));
  EXPECT_FALSE(store_->FindAccount("erin")->has_value());
}

TEST_F(SqliteStoreTest, AddsDevicesInOrder) {
  ASSERT_TRUE(store_->AddDevice("alice", Device("phone", 3)).ok());
  ASSERT_TRUE(store_->AddDevice("alice", Device("desk", 4)).ok());
  auto account = **store_->FindAccount("alice");
  ASSERT_EQ(account.devices.size(), 3u);
  EXPECT_EQ(account.devices[0].device, "laptop");
  EXPECT_EQ(account.devices[1].device, "phone");
  EXPECT_EQ(account.devices[2].device, "desk");
  EXPECT_EQ(account.devices[2].identity_key, Device("desk", 4).identity_key);
}

TEST_F(SqliteStoreTest, AddDeviceErrors) {
  Status status = store_->AddDevice("alice", Device("laptop", 9));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            "\"alice\" already has a device named \"laptop\": choose another device name");
  status = store_->AddDevice("zed", Device("phone", 9));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "there is no account named \"zed\"");
  EXPECT_EQ((*store_->FindAccount("alice"))->devices.size(), 1u);
}

TEST_F(SqliteStoreTest, SetsPrivacy) {
  ASSERT_TRUE(store_->SetPrivacy("bob", Audience::kContacts, Audience::kNobody).ok());
  auto bob = **store_->FindAccount("bob");
  EXPECT_EQ(bob.who_may_call, Audience::kContacts);
  EXPECT_EQ(bob.p2p_with, Audience::kNobody);
  ASSERT_TRUE(store_->SetPrivacy("bob", Audience::kNobody, Audience::kEveryone).ok());
  bob = **store_->FindAccount("bob");
  EXPECT_EQ(bob.who_may_call, Audience::kNobody);
  EXPECT_EQ(bob.p2p_with, Audience::kEveryone);
  const Status status = store_->SetPrivacy("zed", Audience::kNobody, Audience::kNobody);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("no account named \"zed\""));
}

// --- Contacts and blocks ---

TEST_F(SqliteStoreTest, ContactsAreOneWaySortedAndIdempotent) {
  ASSERT_TRUE(store_->AddContact("alice", "carol").ok());
  ASSERT_TRUE(store_->AddContact("alice", "bob").ok());
  ASSERT_TRUE(store_->AddContact("alice", "bob").ok());  // a retry changes nothing
  EXPECT_THAT(*store_->Contacts("alice"), ElementsAre("bob", "carol"));
  EXPECT_THAT(*store_->Contacts("bob"), IsEmpty());
  EXPECT_TRUE(*store_->IsContact("alice", "bob"));
  EXPECT_FALSE(*store_->IsContact("bob", "alice"));
  EXPECT_FALSE(*store_->IsContact("alice", "zed"));

  ASSERT_TRUE(store_->RemoveContact("alice", "bob").ok());
  ASSERT_TRUE(store_->RemoveContact("alice", "bob").ok());
  ASSERT_TRUE(store_->RemoveContact("alice", "zed").ok());
  EXPECT_THAT(*store_->Contacts("alice"), ElementsAre("carol"));
  EXPECT_FALSE(*store_->IsContact("alice", "bob"));
}

TEST_F(SqliteStoreTest, ContactErrors) {
  Status status = store_->AddContact("alice", "zed");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            "cannot add a contact for \"alice\": there is no account named \"zed\"");
  status = store_->AddContact("zed", "alice");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "there is no account named \"zed\"");
  status = store_->AddContact("alice", "alice");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("cannot list themselves"));
  EXPECT_FALSE(store_->Contacts("zed").ok());
  EXPECT_FALSE(store_->IsContact("zed", "alice").ok());
  EXPECT_FALSE(store_->RemoveContact("zed", "alice").ok());
  EXPECT_THAT(*store_->Contacts("alice"), IsEmpty());
}

TEST_F(SqliteStoreTest, BlocksAreOneWayAndIndependentOfContacts) {
  ASSERT_TRUE(store_->AddContact("alice", "bob").ok());
  ASSERT_TRUE(store_->Block("alice", "bob").ok());
  ASSERT_TRUE(store_->Block("alice", "carol").ok());
  ASSERT_TRUE(store_->Block("alice", "carol").ok());
  EXPECT_THAT(*store_->BlockList("alice"), ElementsAre("bob", "carol"));
  EXPECT_TRUE(*store_->IsBlocked("alice", "bob"));
  EXPECT_FALSE(*store_->IsBlocked("bob", "alice"));
  EXPECT_TRUE(*store_->IsContact("alice", "bob"));
  ASSERT_TRUE(store_->Unblock("alice", "bob").ok());
  ASSERT_TRUE(store_->Unblock("alice", "bob").ok());
  EXPECT_THAT(*store_->BlockList("alice"), ElementsAre("carol"));
  EXPECT_FALSE(*store_->IsBlocked("alice", "bob"));

  Status status = store_->Block("alice", "zed");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("no account named \"zed\""));
  status = store_->Block("bob", "bob");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("cannot block themselves"));
  EXPECT_FALSE(store_->BlockList("zed").ok());
  EXPECT_FALSE(store_->IsBlocked("zed", "bob").ok());
  EXPECT_FALSE(store_->Unblock("zed", "bob").ok());
}

// --- Call log ---

TEST_F(SqliteStoreTest, BothPartiesSeeACallNewestFirst) {
  ASSERT_TRUE(store_->RecordCall(Call("c1", "alice", "bob", 100)).ok());
  ASSERT_TRUE(store_->RecordCall(Call("c2", "bob", "carol", 200, CallOutcome::kDeclined)).ok());
  ASSERT_TRUE(store_->RecordCall(Call("c3", "carol", "alice", 300, CallOutcome::kMissed)).ok());
  EXPECT_THAT(CallIds(*store_->CallHistory("alice", 10)), ElementsAre("c3", "c1"));
  EXPECT_THAT(CallIds(*store_->CallHistory("bob", 10)), ElementsAre("c2", "c1"));
  EXPECT_THAT(CallIds(*store_->CallHistory("bob", 1)), ElementsAre("c2"));

  const auto carol = *store_->CallHistory("carol", 10);
  ASSERT_EQ(carol.size(), 2u);
  EXPECT_EQ(carol[0].call_id, "c3");
  EXPECT_EQ(carol[0].caller, "carol");
  EXPECT_EQ(carol[0].callee, "alice");
  EXPECT_EQ(carol[0].started_unix_ms, 300);
  EXPECT_EQ(carol[0].answered_unix_ms, 0);
  EXPECT_EQ(carol[0].ended_unix_ms, 310);
  EXPECT_EQ(carol[0].outcome, CallOutcome::kMissed);
  EXPECT_EQ(carol[1].outcome, CallOutcome::kDeclined);
}

TEST_F(SqliteStoreTest, EveryOutcomeRoundTrips) {
  const CallOutcome outcomes[] = {CallOutcome::kAnswered, CallOutcome::kDeclined,
                                  CallOutcome::kBusy,     CallOutcome::kCancelled,
                                  CallOutcome::kMissed,   CallOutcome::kFailed};
  int t = 0;
  for (CallOutcome o : outcomes) {
    ASSERT_TRUE(store_->RecordCall(Call("o" + std::to_string(t), "alice", "bob", t, o)).ok());
    ++t;
  }
  const auto history = *store_->CallHistory("bob", 100);
  ASSERT_EQ(history.size(), std::size(outcomes));
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].outcome, outcomes[std::size(outcomes) - 1 - i]);
  }
}

TEST_F(SqliteStoreTest, CallLogErrors) {
  ASSERT_TRUE(store_->RecordCall(Call("c1", "alice", "bob", 100)).ok());
  Status status = store_->RecordCall(Call("c1", "alice", "carol", 200));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "call \"c1\" is already in the call log");
  status = store_->RecordCall(Call("c2", "zed", "yan", 200));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("neither \"zed\" nor \"yan\" has an account"));
  status = store_->RecordCall(Call("", "alice", "bob", 200));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("call id"));
  status = store_->RecordCall(Call("c3", "alice", "alice", 200));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("both caller and callee"));
  status = store_->RecordCall(Call("c4", "", "bob", 200));
  ASSERT_FALSE(status.ok());
  CallLogEntry bad = Call("c5", "alice", "bob", 200);
  bad.outcome = static_cast<CallOutcome>(99);
  EXPECT_FALSE(store_->RecordCall(bad).ok());

  auto history = store_->CallHistory("alice", 0);
  ASSERT_FALSE(history.ok());
  EXPECT_THAT(history.error().message, HasSubstr("ask for at least one entry"));
  history = store_->CallHistory("zed", 10);
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().message, "there is no account named \"zed\"");
  EXPECT_THAT(CallIds(*store_->CallHistory("alice", 10)), ElementsAre("c1"));
}

TEST_F(SqliteStoreTest, ACallWithOneUnknownPartyIsLoggedForTheOther) {
  ASSERT_TRUE(store_->RecordCall(Call("c1", "alice", "gone", 100)).ok());
  EXPECT_THAT(CallIds(*store_->CallHistory("alice", 10)), ElementsAre("c1"));
  // Registering the name later does not reveal the call to the new owner.
  ASSERT_TRUE(store_->CreateAccount("gone", Device("phone", 5), 2000).ok());
  EXPECT_THAT(*store_->CallHistory("gone", 10), IsEmpty());
}

// --- Missed calls ---

TEST_F(SqliteStoreTest, MissedCallsAreDeliveredOnceInOrder) {
  constexpr auto kMissed = CallOutcome::kMissed;
  ASSERT_TRUE(store_->AddMissedCall("bob", Call("m1", "alice", "bob", 100, kMissed)).ok());
  ASSERT_TRUE(store_->AddMissedCall("bob", Call("m2", "carol", "", 200, kMissed)).ok());
  ASSERT_TRUE(store_->AddMissedCall("bob", Call("m1", "alice", "bob", 100, kMissed)).ok());
  ASSERT_TRUE(store_->AddMissedCall("carol", Call("m3", "alice", "carol", 300, kMissed)).ok());

  const auto taken = *store_->TakeMissedCalls("bob");
  EXPECT_THAT(CallIds(taken), ElementsAre("m1", "m2"));
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[1].caller, "carol");
  EXPECT_EQ(taken[1].callee, "bob");  // filled in
  EXPECT_EQ(taken[1].started_unix_ms, 200);
  EXPECT_EQ(taken[1].outcome, CallOutcome::kMissed);
  EXPECT_THAT(*store_->TakeMissedCalls("bob"), IsEmpty());
  EXPECT_THAT(CallIds(*store_->TakeMissedCalls("carol")), ElementsAre("m3"));
  EXPECT_THAT(*store_->TakeMissedCalls("alice"), IsEmpty());
}

TEST_F(SqliteStoreTest, MissedCallErrors) {
  Status status = store_->AddMissedCall("bob", Call("m1", "alice", "carol", 100));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "missed call \"m1\" is for \"carol\", not \"bob\"");
  status = store_->AddMissedCall("zed", Call("m1", "alice", "zed", 100));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "there is no account named \"zed\"");
  status = store_->AddMissedCall("bob", Call("", "alice", "bob", 100));
  ASSERT_FALSE(status.ok());
  auto taken = store_->TakeMissedCalls("zed");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().message, "there is no account named \"zed\"");
}

// --- Deletion ---

TEST_F(SqliteStoreTest, DeletionRemovesWhatBelongsToTheAccountAndKeepsOthersLogs) {
  ASSERT_TRUE(store_->AddDevice("bob", Device("phone", 3)).ok());
  ASSERT_TRUE(store_->AddContact("bob", "alice").ok());
  ASSERT_TRUE(store_->AddContact("alice", "bob").ok());
  ASSERT_TRUE(store_->AddContact("alice", "carol").ok());
  ASSERT_TRUE(store_->Block("bob", "carol").ok());
  ASSERT_TRUE(store_->Block("carol", "bob").ok());
  ASSERT_TRUE(store_->Block("carol", "alice").ok());
  ASSERT_TRUE(store_->RecordCall(Call("c1", "alice", "bob", 100)).ok());
  ASSERT_TRUE(store_->RecordCall(Call("c2", "bob", "carol", 200)).ok());
  ASSERT_TRUE(store_->RecordCall(Call("c3", "bob", "ghost", 300)).ok());
  ASSERT_TRUE(store_->AddMissedCall("bob", Call("m1", "alice", "bob", 400)).ok());
  ASSERT_TRUE(store_->AddMissedCall("alice", Call("m2", "bob", "alice", 500)).ok());

  ASSERT_TRUE(store_->DeleteAccount("bob").ok());

  EXPECT_FALSE(store_->FindAccount("bob")->has_value());
  EXPECT_THAT(*store_->Contacts("alice"), ElementsAre("carol"));
  EXPECT_THAT(*store_->BlockList("carol"), ElementsAre("alice"));
  // Others' logs keep the name.
  const auto alice_log = *store_->CallHistory("alice", 10);
  ASSERT_EQ(alice_log.size(), 1u);
  EXPECT_EQ(alice_log[0].callee, "bob");
  EXPECT_THAT(CallIds(*store_->CallHistory("carol", 10)), ElementsAre("c2"));
  // A missed call from bob still reaches alice.
  EXPECT_THAT(CallIds(*store_->TakeMissedCalls("alice")), ElementsAre("m2"));

  // The name registered again is a new person: no history, contacts, blocks or
  // missed calls of the old one, and nobody lists it.
  ASSERT_TRUE(store_->CreateAccount("bob", Device("new", 8), 9000).ok());
  EXPECT_THAT(*store_->CallHistory("bob", 10), IsEmpty());
  EXPECT_THAT(*store_->Contacts("bob"), IsEmpty());
  EXPECT_THAT(*store_->BlockList("bob"), IsEmpty());
  EXPECT_THAT(*store_->TakeMissedCalls("bob"), IsEmpty());
  EXPECT_FALSE(*store_->IsContact("alice", "bob"));
  EXPECT_FALSE(*store_->IsBlocked("carol", "bob"));
  ASSERT_EQ((*store_->FindAccount("bob"))->devices.size(), 1u);
  EXPECT_EQ((*store_->FindAccount("bob"))->devices[0].device, "new");

  const Status status = store_->DeleteAccount("zed");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "there is no account named \"zed\"");
}

TEST_F(SqliteStoreTest, ErrorsEscapeHostileNames) {
  const Status status = store_->AddContact("alice", "x\n2026 fake log line\"\x01");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("\"x\\x0a2026 fake log line\\x22\\x01\""));
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
