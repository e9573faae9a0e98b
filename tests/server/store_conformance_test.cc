// The Store conformance suite: every behaviour of the Store interface (results, error
// sentences, deletion, ordering, moving a community), run against SqliteStore and
// PostgresStore alike. PostgreSQL runs as one private server for this binary
// (postgres_fixture.h); each test gets a new database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "parley/server/postgres_store.h"
#include "parley/server/sqlite_store.h"
#include "parley/server/store_validation.h"
#include "postgres_fixture.h"

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

enum class Engine { kSqlite, kPostgres };

std::string EngineName(const testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "Sqlite" : "Postgres";
}

class StoreConformanceTest : public testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    store_ = OpenNew();
    ASSERT_NE(store_, nullptr);
    for (const char* name : {"alice", "bob", "carol"}) {
      ASSERT_TRUE(store_->CreateAccount(name, Device("laptop", 1), 1000).ok());
    }
  }

  // A new, empty store of this test's engine (nullptr after a test failure).
  std::unique_ptr<Store> OpenNew() {
    if (GetParam() == Engine::kSqlite) {
      auto store = SqliteStore::OpenInMemory();
      EXPECT_TRUE(store.ok()) << store.error().message;
      return store.ok() ? std::move(*store) : nullptr;
    }
    std::string error;
    auto* server = testing_postgres::SharedPostgres(&error);
    EXPECT_NE(server, nullptr) << error;
    if (server == nullptr) return nullptr;
    auto store = PostgresStore::Open(server->CreateDatabase());
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(BothEngines, StoreConformanceTest,
                         testing::Values(Engine::kSqlite, Engine::kPostgres), EngineName);

TEST_P(StoreConformanceTest, StartsAtTheLatestSchemaVersion) {
  EXPECT_EQ(*store_->SchemaVersion(), SqliteStore::kLatestSchemaVersion);
  EXPECT_EQ(*store_->SchemaVersion(), PostgresStore::kLatestSchemaVersion);
}

// --- Accounts ---

TEST_P(StoreConformanceTest, CreatesAndFindsAnAccount) {
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

TEST_P(StoreConformanceTest, UnknownAccountIsNotFound) {
  auto found = store_->FindAccount("nobody-here");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_P(StoreConformanceTest, RefusesATakenName) {
  const Status status = store_->CreateAccount("alice", Device("phone", 2), 2000);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "username \"alice\" is taken: choose another");
  // The first owner is untouched.
  EXPECT_EQ((*store_->FindAccount("alice"))->devices[0].identity_key,
            Device("laptop", 1).identity_key);
}

TEST_P(StoreConformanceTest, RefusesAnInvalidNameOrDevice) {
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

TEST_P(StoreConformanceTest, AddsDevicesInOrder) {
  ASSERT_TRUE(store_->AddDevice("alice", Device("phone", 3)).ok());
  ASSERT_TRUE(store_->AddDevice("alice", Device("desk", 4)).ok());
  auto account = **store_->FindAccount("alice");
  ASSERT_EQ(account.devices.size(), 3u);
  EXPECT_EQ(account.devices[0].device, "laptop");
  EXPECT_EQ(account.devices[1].device, "phone");
  EXPECT_EQ(account.devices[2].device, "desk");
  EXPECT_EQ(account.devices[2].identity_key, Device("desk", 4).identity_key);
}

TEST_P(StoreConformanceTest, AddDeviceErrors) {
  Status status = store_->AddDevice("alice", Device("laptop", 9));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            "\"alice\" already has a device named \"laptop\": choose another device name");
  status = store_->AddDevice("zed", Device("phone", 9));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "there is no account named \"zed\"");
  EXPECT_EQ((*store_->FindAccount("alice"))->devices.size(), 1u);
}

TEST_P(StoreConformanceTest, SetsPrivacy) {
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

TEST_P(StoreConformanceTest, ContactsAreOneWaySortedAndIdempotent) {
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

TEST_P(StoreConformanceTest, ContactErrors) {
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

TEST_P(StoreConformanceTest, BlocksAreOneWayAndIndependentOfContacts) {
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

TEST_P(StoreConformanceTest, BothPartiesSeeACallNewestFirst) {
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

TEST_P(StoreConformanceTest, EveryOutcomeRoundTrips) {
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

TEST_P(StoreConformanceTest, CallLogErrors) {
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

TEST_P(StoreConformanceTest, ACallWithOneUnknownPartyIsLoggedForTheOther) {
  ASSERT_TRUE(store_->RecordCall(Call("c1", "alice", "gone", 100)).ok());
  EXPECT_THAT(CallIds(*store_->CallHistory("alice", 10)), ElementsAre("c1"));
  // Registering the name later does not reveal the call to the new owner.
  ASSERT_TRUE(store_->CreateAccount("gone", Device("phone", 5), 2000).ok());
  EXPECT_THAT(*store_->CallHistory("gone", 10), IsEmpty());
}

// --- Missed calls ---

TEST_P(StoreConformanceTest, MissedCallsAreDeliveredOnceInOrder) {
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

TEST_P(StoreConformanceTest, MissedCallErrors) {
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

TEST_P(StoreConformanceTest, DeletionRemovesWhatBelongsToTheAccountAndKeepsOthersLogs) {
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

TEST_P(StoreConformanceTest, ErrorsEscapeHostileNames) {
  const Status status = store_->AddContact("alice", "x\n2026 fake log line\"\x01");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("\"x\\x0a2026 fake log line\\x22\\x01\""));
}

TEST_P(StoreConformanceTest, NamesSortBytewiseWhateverTheLocale) {
  for (const char* name : {"zza", "zz_1", "zz1", "zz.1", "zz-1"}) {
    ASSERT_TRUE(store_->CreateAccount(name, Device("d", 2), 0).ok()) << name;
    ASSERT_TRUE(store_->AddContact("alice", name).ok());
    ASSERT_TRUE(store_->Block("bob", name).ok());
  }
  EXPECT_THAT(*store_->Contacts("alice"), ElementsAre("zz-1", "zz.1", "zz1", "zz_1", "zza"));
  EXPECT_THAT(*store_->BlockList("bob"), ElementsAre("zz-1", "zz.1", "zz1", "zz_1", "zza"));
}

TEST_P(StoreConformanceTest, TextThatIsNotUtf8IsRefusedOrUnknownAlike) {
  Status status = store_->AddDevice("alice", Device("ph\xff" "ne", 3));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("is not UTF-8 text"));
  status = store_->RecordCall(Call("c\xc3", "alice", "bob", 1));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("not UTF-8 text without NUL bytes"));
  status = store_->RecordCall(Call(std::string("c\0d", 3), "alice", "bob", 1));
  ASSERT_FALSE(status.ok());
  status = store_->AddInvite(InviteRecord{{1}, "\xfe", 1, 0});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("not UTF-8 text"));
  // Lookups by such a name find nothing, as for any unknown name.
  EXPECT_FALSE(store_->FindAccount("al\xffice")->has_value());
  EXPECT_EQ(store_->Contacts("al\xffice").error().message, "there is no account named \"al\\xffice\"");
  EXPECT_FALSE(*store_->IsContact("alice", std::string("b\0b", 3)));
  EXPECT_EQ(*store_->CountInvitesBy("\xff", 0), 0);
  EXPECT_EQ(store_->DeleteAccount("\xff").error().message, "there is no account named \"\\xff\"");
  EXPECT_EQ(store_->SetPrivacy("\xff", Audience::kNobody, Audience::kNobody).error().message,
            "there is no account named \"\\xff\"");
  // UTF-8 device names are fine.
  EXPECT_TRUE(store_->AddDevice("alice", Device("t\xc3\xa9l\xc3\xa9phone", 4)).ok());
  EXPECT_EQ((*store_->FindAccount("alice"))->devices[1].device, "t\xc3\xa9l\xc3\xa9phone");
}

// --- App invites ---

TEST_P(StoreConformanceTest, InvitesAddFindListRevokeCount) {
  InviteRecord one{{1}, "", 1000, 0};
  InviteRecord two{{2}, "alice", 2000, 0};
  ASSERT_TRUE(store_->AddInvite(two).ok());
  ASSERT_TRUE(store_->AddInvite(one).ok());
  auto again = store_->AddInvite(one);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "this invite is already stored: make a new one");

  auto found = store_->FindInvite(two.hash);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->created_by, "alice");
  EXPECT_EQ((*found)->created_unix_ms, 2000);
  EXPECT_EQ((*found)->revoked_unix_ms, 0);
  EXPECT_FALSE(store_->FindInvite({3})->has_value());

  auto all = store_->ListInvites();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].hash, one.hash);  // oldest first
  EXPECT_EQ((*all)[1].hash, two.hash);

  EXPECT_EQ(*store_->CountInvitesBy("alice", 0), 1);
  EXPECT_EQ(*store_->CountInvitesBy("alice", 2001), 0);
  EXPECT_EQ(*store_->CountInvitesBy("bob", 0), 0);

  EXPECT_TRUE(*store_->RevokeInvite(two.hash, 5000));
  EXPECT_FALSE(*store_->RevokeInvite(two.hash, 6000));  // already revoked: harmless
  EXPECT_FALSE(*store_->RevokeInvite({9}, 6000));       // unknown
  EXPECT_EQ((*store_->FindInvite(two.hash))->revoked_unix_ms, 5000);
  EXPECT_EQ(*store_->CountInvitesBy("alice", 0), 0);  // revoked ones do not count
  EXPECT_TRUE(*store_->RevokeInvite(one.hash, 0));     // time 0 still marks it revoked
  EXPECT_EQ((*store_->FindInvite(one.hash))->revoked_unix_ms, 1);
}

TEST_P(StoreConformanceTest, RefusesAnOverlongInviteCreator) {
  auto added = store_->AddInvite(InviteRecord{{1}, std::string(65, 'x'), 1, 0});
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().message, "the creator of an invite must be a name of at most 64 bytes");
  EXPECT_THAT(*store_->ListInvites(), IsEmpty());
}

// --- Moving a community ---

// A community with something of every kind, including a deleted account whose name
// was registered again (its old calls must stay unlinked after a move).
void Populate(Store& s) {
  ASSERT_TRUE(s.AddDevice("alice", Device("phone", 3)).ok());
  ASSERT_TRUE(s.SetPrivacy("bob", Audience::kContacts, Audience::kNobody).ok());
  ASSERT_TRUE(s.AddContact("alice", "bob").ok());
  ASSERT_TRUE(s.AddContact("alice", "carol").ok());
  ASSERT_TRUE(s.AddContact("bob", "alice").ok());
  ASSERT_TRUE(s.Block("carol", "bob").ok());
  ASSERT_TRUE(s.RecordCall(Call("c1", "alice", "bob", 100)).ok());
  ASSERT_TRUE(s.RecordCall(Call("c2", "carol", "alice", 100, CallOutcome::kMissed)).ok());  // same time: id order
  ASSERT_TRUE(s.RecordCall(Call("c3", "carol", "ghost", 300, CallOutcome::kFailed)).ok());
  ASSERT_TRUE(s.RecordCall(Call("c4", "dave", "carol", 400, CallOutcome::kBusy)).ok());
  ASSERT_TRUE(s.AddMissedCall("bob", Call("m1", "carol", "bob", 500, CallOutcome::kMissed)).ok());
  ASSERT_TRUE(s.AddMissedCall("bob", Call("m2", "alice", "bob", 450, CallOutcome::kMissed)).ok());
  ASSERT_TRUE(s.AddInvite(InviteRecord{{7}, "alice", 10, 0}).ok());
  ASSERT_TRUE(s.AddInvite(InviteRecord{{8}, "", 20, 30}).ok());
  // carol is deleted and registered again: c2, c3, c4 lose their link to her.
  ASSERT_TRUE(s.CreateAccount("dave", Device("tablet", 5), 2000).ok());
  ASSERT_TRUE(s.RecordCall(Call("c5", "dave", "alice", 600)).ok());
  ASSERT_TRUE(s.DeleteAccount("carol").ok());
  ASSERT_TRUE(s.CreateAccount("carol", Device("new", 9), 3000).ok());
}

void ExpectSameCommunity(const CommunitySnapshot& a, const CommunitySnapshot& b) {
  ASSERT_EQ(a.accounts.size(), b.accounts.size());
  for (size_t i = 0; i < a.accounts.size(); ++i) {
    EXPECT_EQ(a.accounts[i].user, b.accounts[i].user);
    EXPECT_EQ(a.accounts[i].who_may_call, b.accounts[i].who_may_call);
    EXPECT_EQ(a.accounts[i].p2p_with, b.accounts[i].p2p_with);
    EXPECT_EQ(a.accounts[i].created_unix_ms, b.accounts[i].created_unix_ms);
    ASSERT_EQ(a.accounts[i].devices.size(), b.accounts[i].devices.size());
    for (size_t d = 0; d < a.accounts[i].devices.size(); ++d) {
      EXPECT_EQ(a.accounts[i].devices[d].device, b.accounts[i].devices[d].device);
      EXPECT_EQ(a.accounts[i].devices[d].identity_key, b.accounts[i].devices[d].identity_key);
    }
  }
  EXPECT_EQ(a.contacts, b.contacts);
  EXPECT_EQ(a.blocks, b.blocks);
  ASSERT_EQ(a.call_log.size(), b.call_log.size());
  for (size_t i = 0; i < a.call_log.size(); ++i) {
    const auto& x = a.call_log[i];
    const auto& y = b.call_log[i];
    EXPECT_EQ(x.entry.call_id, y.entry.call_id);
    EXPECT_EQ(x.entry.caller, y.entry.caller);
    EXPECT_EQ(x.entry.callee, y.entry.callee);
    EXPECT_EQ(x.entry.started_unix_ms, y.entry.started_unix_ms);
    EXPECT_EQ(x.entry.answered_unix_ms, y.entry.answered_unix_ms);
    EXPECT_EQ(x.entry.ended_unix_ms, y.entry.ended_unix_ms);
    EXPECT_EQ(x.entry.outcome, y.entry.outcome);
    EXPECT_EQ(x.caller_linked, y.caller_linked) << x.entry.call_id;
    EXPECT_EQ(x.callee_linked, y.callee_linked) << x.entry.call_id;
  }
  EXPECT_EQ(CallIds(a.missed_calls), CallIds(b.missed_calls));
  ASSERT_EQ(a.invites.size(), b.invites.size());
  for (size_t i = 0; i < a.invites.size(); ++i) {
    EXPECT_EQ(a.invites[i].hash, b.invites[i].hash);
    EXPECT_EQ(a.invites[i].created_by, b.invites[i].created_by);
    EXPECT_EQ(a.invites[i].created_unix_ms, b.invites[i].created_unix_ms);
    EXPECT_EQ(a.invites[i].revoked_unix_ms, b.invites[i].revoked_unix_ms);
  }
}

TEST_P(StoreConformanceTest, ExportsEverythingAndCountsIt) {
  Populate(*store_);
  auto snapshot = store_->ExportCommunity();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  ASSERT_EQ(snapshot->accounts.size(), 4u);
  EXPECT_EQ(snapshot->accounts[0].user, "alice");
  EXPECT_EQ(snapshot->accounts[0].devices.size(), 2u);
  EXPECT_EQ(snapshot->accounts[3].user, "carol");  // registered again: newest
  using Pair = std::pair<std::string, std::string>;
  EXPECT_THAT(snapshot->contacts, ElementsAre(Pair{"alice", "bob"}, Pair{"bob", "alice"}));
  EXPECT_THAT(snapshot->blocks, IsEmpty());  // carol's block went with her account
  ASSERT_EQ(snapshot->call_log.size(), 3u);  // c3 and c4 no longer belonged to anyone
  EXPECT_EQ(snapshot->call_log[1].entry.call_id, "c2");
  EXPECT_FALSE(snapshot->call_log[1].caller_linked);
  EXPECT_TRUE(snapshot->call_log[1].callee_linked);
  EXPECT_THAT(CallIds(snapshot->missed_calls), ElementsAre("m1", "m2"));
  EXPECT_EQ(snapshot->invites.size(), 2u);
  const CommunityCounts expected{4, 5, 2, 0, 3, 2, 2};
  EXPECT_EQ(CountsOf(*snapshot), expected);
  EXPECT_EQ(*store_->CountCommunity(), expected);
  EXPECT_EQ(DescribeCounts(expected),
            "4 accounts, 5 devices, 2 contacts, 0 blocks, 3 logged calls, 2 missed calls, 2 invites");
}

TEST_P(StoreConformanceTest, ImportsASnapshotThatBehavesLikeTheOriginal) {
  Populate(*store_);
  auto snapshot = store_->ExportCommunity();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  auto copy = OpenNew();
  ASSERT_NE(copy, nullptr);
  ASSERT_TRUE(copy->ImportCommunity(*snapshot).ok());
  auto again = copy->ExportCommunity();
  ASSERT_TRUE(again.ok()) << again.error().message;
  ExpectSameCommunity(*snapshot, *again);
  EXPECT_EQ(*copy->CountCommunity(), *store_->CountCommunity());
  // What users see is the same: histories (with the tie broken by age), the new
  // carol's empty history, missed calls, privacy, and the store keeps working.
  for (Store* s : {store_.get(), copy.get()}) {
    EXPECT_THAT(CallIds(*s->CallHistory("alice", 10)), ElementsAre("c5", "c2", "c1"));
    EXPECT_THAT(*s->CallHistory("carol", 10), IsEmpty());
    EXPECT_THAT(CallIds(*s->CallHistory("dave", 10)), ElementsAre("c5"));
    EXPECT_EQ((*s->FindAccount("bob"))->p2p_with, Audience::kNobody);
    EXPECT_THAT(CallIds(*s->TakeMissedCalls("bob")), ElementsAre("m1", "m2"));
    EXPECT_TRUE(s->CreateAccount("erin", Device("d", 1), 1).ok());
    EXPECT_TRUE(s->RecordCall(Call("c6", "erin", "alice", 700)).ok());
    EXPECT_FALSE(s->RecordCall(Call("c1", "erin", "alice", 700)).ok());
  }
}

TEST_P(StoreConformanceTest, ImportRefusesAStoreThatHasAccounts) {
  auto snapshot = store_->ExportCommunity();
  ASSERT_TRUE(snapshot.ok());
  const Status status = store_->ImportCommunity(*snapshot);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("already has 3 accounts: migrate only into a new, empty store"));
  EXPECT_EQ(store_->CountCommunity()->accounts, 3);
}

TEST_P(StoreConformanceTest, AnInconsistentSnapshotStoresNothing) {
  Populate(*store_);
  auto snapshot = store_->ExportCommunity();
  ASSERT_TRUE(snapshot.ok());
  const auto refused = [&](CommunitySnapshot bad, const std::string& why) {
    auto copy = OpenNew();
    ASSERT_NE(copy, nullptr);
    const Status status = copy->ImportCommunity(bad);
    ASSERT_FALSE(status.ok()) << why;
    EXPECT_THAT(status.error().message, HasSubstr("the community to import is inconsistent")) << why;
    EXPECT_EQ(*copy->CountCommunity(), CommunityCounts{}) << why;
  };
  CommunitySnapshot bad = *snapshot;
  bad.contacts.emplace_back("alice", "nobody-here");
  refused(bad, "a contact naming an unknown account");
  bad = *snapshot;
  bad.call_log.push_back(bad.call_log.front());
  refused(bad, "a repeated call");
  bad = *snapshot;
  bad.accounts.back().devices.push_back(bad.accounts.back().devices.front());
  refused(bad, "two devices of one name");
  bad = *snapshot;
  bad.missed_calls.back().callee = "zed";
  refused(bad, "a missed call for nobody");
  bad = *snapshot;
  bad.invites.push_back(bad.invites.front());
  refused(bad, "a repeated invite");
}

}  // namespace
}  // namespace parley::server
