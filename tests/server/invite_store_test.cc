// App invites: the invite's text form and hash, the store's invite table (add, find,
// list, revoke, count; across a restart; the migration from schema 1), and InviteAdmin
// (what `parleyd invite` and the hub do with them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "parley/crypto/key_source.h"
#include "parley/server/invite_admin.h"
#include "parley/server/invite_code.h"
#include "parley/server/sqlite_store.h"
#include "parley/server/store_invite_directory.h"

namespace parley::server {
namespace {

using testing::HasSubstr;
using testing::MatchesRegex;

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/parley-invite-XXXXXX";
    PARLEY_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<SqliteStore> Memory() {
  auto store = SqliteStore::OpenInMemory();
  PARLEY_CHECK(store.ok());
  return std::move(*store);
}

TEST(InviteCodeTest, GeneratedInvitesAre22Base64UrlCharsAndParseBack) {
  crypto::SeededKeySource random(7);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const InviteCode invite = InviteCode::Generate(random);
    EXPECT_THAT(invite.text(), MatchesRegex("[A-Za-z0-9_-]{22}"));
    auto back = InviteCode::Parse(invite.text());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->text(), invite.text());
    EXPECT_EQ(back->hash(), invite.hash());
    seen.insert(invite.text());
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(InviteCodeTest, ParsesAWholeLinkToo) {
  crypto::SeededKeySource random(1);
  const InviteCode invite = InviteCode::Generate(random);
  for (const std::string& link : {invite.Link("example.org", 443), invite.Link("example.org", 8443),
                                  invite.Link("::1", 8443), "http://h/" + invite.text()}) {
    auto parsed = InviteCode::Parse(link);
    ASSERT_TRUE(parsed.ok()) << link << ": " << parsed.error().message;
    EXPECT_EQ(parsed->text(), invite.text());
  }
  EXPECT_EQ(invite.Link("example.org", 443), "https://example.org/" + invite.text() + "/");
  EXPECT_EQ(invite.Link("::1", 8443), "https://[::1]:8443/" + invite.text() + "/");
}

TEST(InviteCodeTest, RefusesAnythingElseWithAClearError) {
  const std::string good = "AAAAAAAAAAAAAAAAAAAAAA";
  ASSERT_TRUE(InviteCode::Parse(good).ok());
  for (const std::string& bad : std::vector<std::string>{
           std::string(), good.substr(1), good + "A", "AAAAAAAAAAAAAAAAAAAAA+", "AAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAAB" /* trailing bits set */, "https://host", "https://host/", "/" + good,
        good + "\n"}) {
    auto parsed = InviteCode::Parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.error().message, HasSubstr("is not an invite: give the 22 characters"));
  }
}

TEST(InviteCodeTest, HashIsKeyedAndDiffersPerInvite) {
  auto a = InviteCode::Parse("AAAAAAAAAAAAAAAAAAAAAA");
  auto b = InviteCode::Parse("AAAAAAAAAAAAAAAAAAAAAQ");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->hash(), b->hash());
  EXPECT_EQ(InviteCode::ShortId(a->hash()).size(), 12u);
  // Not the invite's bytes, and not an unkeyed BLAKE2b of them.
  InviteHash zeros{};
  EXPECT_NE(a->hash(), zeros);
}

TEST(InviteStoreTest, AddFindListRevokeCount) {
  auto store = Memory();
  InviteRecord one{{1}, "", 1000, 0};
  InviteRecord two{{2}, "alice", 2000, 0};
  ASSERT_TRUE(store->AddInvite(two).ok());
  ASSERT_TRUE(store->AddInvite(one).ok());
  auto again = store->AddInvite(one);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.error().message, HasSubstr("already stored"));

  auto found = store->FindInvite(two.hash);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->created_by, "alice");
  EXPECT_EQ((*found)->created_unix_ms, 2000);
  EXPECT_EQ((*found)->revoked_unix_ms, 0);
  EXPECT_FALSE(store->FindInvite({3})->has_value());

  auto all = store->ListInvites();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].hash, one.hash);  // oldest first
  EXPECT_EQ((*all)[1].hash, two.hash);

  EXPECT_EQ(*store->CountInvitesBy("alice", 0), 1);
  EXPECT_EQ(*store->CountInvitesBy("alice", 2001), 0);
  EXPECT_EQ(*store->CountInvitesBy("bob", 0), 0);

  EXPECT_TRUE(*store->RevokeInvite(two.hash, 5000));
  EXPECT_FALSE(*store->RevokeInvite(two.hash, 6000));  // already revoked: harmless
  EXPECT_FALSE(*store->RevokeInvite({9}, 6000));       // unknown
  EXPECT_EQ((*store->FindInvite(two.hash))->revoked_unix_ms, 5000);
  EXPECT_EQ(*store->CountInvitesBy("alice", 0), 0);  // revoked ones do not count
}

TEST(InviteStoreTest, RefusesAnOverlongCreator) {
  auto store = Memory();
  auto added = store->AddInvite(InviteRecord{{1}, std::string(65, 'x'), 1, 0});
  ASSERT_FALSE(added.ok());
  EXPECT_THAT(added.error().message, HasSubstr("at most 64 bytes"));
}

TEST(InviteStoreTest, InvitesSurviveARestartAndOnlyTheHashIsOnDisk) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  crypto::SeededKeySource random(3);
  std::string text, raw;
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto invite = InviteAdmin(**store).Create(random, "", 1234);
    ASSERT_TRUE(invite.ok()) << invite.error().message;
    text = invite->text();
    raw.assign(invite->bytes().begin(), invite->bytes().end());
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto invite = InviteCode::Parse(text);
  ASSERT_TRUE(invite.ok());
  auto found = (*store)->FindInvite(invite->hash());
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->created_unix_ms, 1234);
  store->reset();

  // Neither the text nor the raw 16 bytes are anywhere in the files.
  for (const std::string& file : {path, path + "-wal"}) {
    if (!std::filesystem::exists(file)) continue;
    std::string bytes(std::filesystem::file_size(file), '\0');
    FILE* f = std::fopen(file.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fread(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
    EXPECT_EQ(bytes.find(text), std::string::npos) << file;
    EXPECT_EQ(bytes.find(raw), std::string::npos) << file;
  }
}

TEST(InviteStoreTest, MigratesASchemaOneDatabaseKeepingItsAccounts) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok());
    DeviceRecord device{"laptop", {}};
    device.identity_key[0] = 1;
    ASSERT_TRUE((*store)->CreateAccount("alice", device, 10).ok());
  }
  {  // Back to what a schema-1 parleyd left: no invite table, user_version 1.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE app_invites; PRAGMA user_version = 1;", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(*(*store)->SchemaVersion(), 2);
  EXPECT_TRUE((*store)->FindAccount("alice")->has_value());
  EXPECT_TRUE((*store)->AddInvite(InviteRecord{{1}, "", 1, 0}).ok());
}

TEST(InviteAdminTest, CreateListAndRevokeByInviteLinkOrId) {
  auto store = Memory();
  InviteAdmin admin(*store);
  crypto::SeededKeySource random(11);
  auto a = admin.Create(random, "", 1'700'000'000'000);
  auto b = admin.Create(random, "alice", 1'700'000'060'000);
  auto c = admin.Create(random, "", 1'700'000'120'000);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());

  auto list = admin.List();
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, HasSubstr(InviteCode::ShortId(a->hash()) + "  created 2023-11-14 22:13:20 UTC  by operator  live\n"));
  EXPECT_THAT(*list, HasSubstr("by \"alice\"  live"));
  EXPECT_EQ(list->find(a->text()), std::string::npos);  // the invite itself is not kept

  auto by_text = admin.Revoke(a->text(), 1'700'000'200'000);
  ASSERT_TRUE(by_text.ok()) << by_text.error().message;
  auto by_link = admin.Revoke(b->Link("example.org", 8443), 1'700'000'200'000);
  ASSERT_TRUE(by_link.ok()) << by_link.error().message;
  auto by_id = admin.Revoke(InviteCode::ShortId(c->hash()), 1'700'000'200'000);
  ASSERT_TRUE(by_id.ok()) << by_id.error().message;
  EXPECT_THAT(*admin.List(), HasSubstr("revoked 2023-11-14 22:16:40 UTC"));

  auto twice = admin.Revoke(a->text(), 1'700'000'300'000);
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.error().message, HasSubstr("already revoked"));
  auto unknown = admin.Revoke("AAAAAAAAAAAAAAAAAAAAAA", 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("no such invite"));
  auto no_id = admin.Revoke("0123456789ab", 1);
  ASSERT_FALSE(no_id.ok());
  EXPECT_THAT(no_id.error().message, HasSubstr("no invite has the id"));
  auto garbage = admin.Revoke("what?", 1);
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message, HasSubstr("or the 12-digit id"));
}

TEST(StoreInviteDirectoryTest, SeesInvitesMadeAndRevokedThroughAnotherConnection) {
  TempDir dir;
  const std::string path = dir.File("parley.db");
  auto operator_store = SqliteStore::Open(path);
  auto front_store = SqliteStore::Open(path);
  ASSERT_TRUE(operator_store.ok() && front_store.ok());
  StoreInviteDirectory directory(std::move(*front_store));
  InviteAdmin admin(**operator_store);
  crypto::SeededKeySource random(5);
  auto invite = admin.Create(random, "", 1);
  ASSERT_TRUE(invite.ok());
  EXPECT_TRUE(directory.IsLive(*invite));
  EXPECT_FALSE(directory.IsLive(InviteCode::Generate(random)));
  ASSERT_TRUE(admin.Revoke(invite->text(), 2).ok());
  EXPECT_FALSE(directory.IsLive(*invite));
  EXPECT_EQ(directory.lookup_failures(), 0);
}

}  // namespace
}  // namespace parley::server
