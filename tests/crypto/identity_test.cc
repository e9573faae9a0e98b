// Identity keys and the trust-on-first-use store, in memory and on disk.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crypto_test_support.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/identity_store.h"
#include "parley/crypto/profile_files.h"

namespace parley::crypto {
namespace {

namespace fs = std::filesystem;
using testing::IdentityFromSeed;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "parley-crypto-XXXXXX").string();
    PARLEY_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  PARLEY_CHECK(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(IdentityKeyTest, SignsAndVerifies) {
  IdentityKey key = IdentityFromSeed(1);
  const std::vector<uint8_t> message = {1, 2, 3};
  Signature sig = key.Sign(message);
  EXPECT_TRUE(IdentityKey::Verify(key.public_key(), message, sig));
  sig[0] ^= 1;
  EXPECT_FALSE(IdentityKey::Verify(key.public_key(), message, sig));
  EXPECT_FALSE(IdentityKey::Verify(IdentityFromSeed(2).public_key(), message, key.Sign(message)));
  EXPECT_EQ(IdentityFromSeed(1).public_key(), key.public_key());
}

TEST(IdentityKeyTest, FileRoundTripsAndParseErrorsAreClear) {
  IdentityKey key = IdentityFromSeed(5);
  const std::string text = key.SerializeFile();
  EXPECT_EQ(IdentityKey::ParseFile(text)->public_key(), key.public_key());
  struct Case {
    std::string text;
    std::string error;
  };
  std::string wrong_public = text;
  wrong_public[wrong_public.size() - 2] = wrong_public[wrong_public.size() - 2] == '0' ? '1' : '0';
  const Case cases[] = {
      {"", "first line"},
      {"parley-identity-key 2\n", "first line"},
      {"parley-identity-key 1\n", "3 lines"},
      {"parley-identity-key 1\nseed 00\npublic 00\n", "64 hex"},
      {"parley-identity-key 1\nseeds 00\npublic 00\n", "line 2"},
      {text.substr(0, text.size() - 3) + "zz\n", "public key must be 64 hex"},
      {wrong_public, "damaged"},
      {text + "extra\n", "3 lines"},
  };
  for (const Case& c : cases) {
    auto parsed = IdentityKey::ParseFile(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.error().message.find(c.error), std::string::npos) << parsed.error().message;
  }
}

TEST(IdentityKeyTest, LoadOrCreateKeepsTheKeyPrivate) {
  TempDir dir;
  const fs::path profile = dir.path() / "profile";
  SeededKeySource keys(9);
  auto created = IdentityKey::LoadOrCreate(profile, keys);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(ModeOf(profile), 0700u);
  EXPECT_EQ(ModeOf(profile / "identity_key"), 0600u);
  auto loaded = IdentityKey::LoadOrCreate(profile, keys);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key(), created->public_key());
  // No temporary files left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(profile), fs::directory_iterator()), 1);
  ::chmod((profile / "identity_key").c_str(), 0644);
  auto refused = IdentityKey::LoadOrCreate(profile, keys);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("chmod 600"), std::string::npos);
}

TEST(IdentityKeyTest, DamagedKeyFileIsAnErrorNotANewKey) {
  TempDir dir;
  SeededKeySource keys(9);
  ASSERT_TRUE(IdentityKey::LoadOrCreate(dir.path(), keys).ok());
  ASSERT_TRUE(WriteFileAtomically(dir.path() / "identity_key", "garbage").ok());
  auto loaded = IdentityKey::LoadOrCreate(dir.path(), keys);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("identity_key"), std::string::npos);
  EXPECT_EQ(ReadAll(dir.path() / "identity_key"), "garbage");
}

const IdentityPublicKey kKeyA = IdentityFromSeed(21).public_key();
const IdentityPublicKey kKeyB = IdentityFromSeed(22).public_key();
const IdentityPublicKey kKeyC = IdentityFromSeed(23).public_key();

TEST(IdentityStoreTest, FirstContactKnownNewDeviceAndChanged) {
  IdentityStore store;
  auto first = store.CheckAndRemember("bob", "phone", kKeyA);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, PeerKeyStatus::kFirstContact);
  EXPECT_FALSE(first->needs_warning());
  auto again = store.CheckAndRemember("bob", "phone", kKeyA);
  EXPECT_EQ(again->status, PeerKeyStatus::kKnown);
  auto device = store.CheckAndRemember("bob", "laptop", kKeyB);
  EXPECT_EQ(device->status, PeerKeyStatus::kNewDevice);
  EXPECT_TRUE(device->needs_warning());
  EXPECT_FALSE(device->blocked());
  // A changed key of an unverified peer is reported (warn), then remembered.
  auto changed = store.CheckAndRemember("bob", "phone", kKeyC);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->status, PeerKeyStatus::kChanged);
  EXPECT_TRUE(changed->needs_warning());
  EXPECT_EQ(changed->previous_key, kKeyA);
  EXPECT_EQ(store.Check("bob", "phone", kKeyC).status, PeerKeyStatus::kKnown);
  EXPECT_EQ(store.DevicesOf("bob").size(), 2u);
  EXPECT_TRUE(store.DevicesOf("bo").empty());
}

TEST(IdentityStoreTest, VerifiedPeerWithChangedKeyIsAnErrorUntilApproved) {
  IdentityStore store;
  ASSERT_TRUE(store.CheckAndRemember("bob", "phone", kKeyA).ok());
  EXPECT_FALSE(store.MarkVerified("bob", "phone", kKeyB).ok());  // not the key shown
  ASSERT_TRUE(store.MarkVerified("bob", "phone", kKeyA).ok());
  auto known = store.CheckAndRemember("bob", "phone", kKeyA);
  EXPECT_TRUE(known->verified);
  auto changed = store.CheckAndRemember("bob", "phone", kKeyB);
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(changed.error().message.find("changed since you verified"), std::string::npos);
  EXPECT_TRUE(store.Check("bob", "phone", kKeyB).blocked());
  // Still blocked on retry: nothing was remembered.
  EXPECT_FALSE(store.CheckAndRemember("bob", "phone", kKeyB).ok());
  // A new device of a verified user is blocked too: the server decides what devices exist.
  auto device = store.CheckAndRemember("bob", "tablet", kKeyC);
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.error().message.find("new device"), std::string::npos);
  // The user re-approves; the key is stored unverified and the call may go ahead.
  ASSERT_TRUE(store.Approve("bob", "phone", kKeyB).ok());
  auto approved = store.Check("bob", "phone", kKeyB);
  EXPECT_EQ(approved.status, PeerKeyStatus::kKnown);
  EXPECT_FALSE(approved.verified);
}

TEST(IdentityStoreTest, PersistsAtomicallyAndReloads) {
  TempDir dir;
  {
    auto store = IdentityStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE(store->CheckAndRemember("bob", "phone", kKeyA).ok());
    ASSERT_TRUE(store->CheckAndRemember("zoë 🙂", "a device\nwith%newline", kKeyB).ok());
    ASSERT_TRUE(store->MarkVerified("bob", "phone", kKeyA).ok());
  }
  EXPECT_EQ(ModeOf(dir.path() / "known_peers"), 0600u);
  auto reloaded = IdentityStore::Open(dir.path());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->size(), 2u);
  EXPECT_TRUE(reloaded->Check("bob", "phone", kKeyA).verified);
  EXPECT_EQ(reloaded->Check("zoë 🙂", "a device\nwith%newline", kKeyB).status, PeerKeyStatus::kKnown);
  EXPECT_EQ(IdentityStore::Parse(reloaded->Serialize())->Serialize(), reloaded->Serialize());
}

TEST(IdentityStoreTest, FailedWriteKeepsFileAndMemoryAsTheyWere) {
  TempDir dir;
  const fs::path profile = dir.path() / "profile", moved = dir.path() / "moved";
  auto store = IdentityStore::Open(profile);
  ASSERT_TRUE(store->CheckAndRemember("bob", "phone", kKeyA).ok());
  const std::string before = ReadAll(profile / "known_peers");
  // The profile disappears under the store (even root cannot create a file there).
  fs::rename(profile, moved);
  auto failed = store->CheckAndRemember("carol", "phone", kKeyB);
  fs::rename(moved, profile);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("could not save"), std::string::npos);
  EXPECT_EQ(store->Check("carol", "phone", kKeyB).status, PeerKeyStatus::kFirstContact);
  EXPECT_EQ(ReadAll(profile / "known_peers"), before);
  ASSERT_TRUE(store->CheckAndRemember("carol", "phone", kKeyB).ok());  // and it recovers
  EXPECT_EQ(IdentityStore::Open(profile)->size(), 2u);
}

TEST(IdentityStoreTest, ParseErrorsNameTheLine) {
  const std::string key = ToHex(kKeyA);
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"", "line 1"},
      {"parley-known-peers 2\n", "line 1"},
      {"parley-known-peers 1\nbob phone " + key + "\n", "line 2: expected 4 fields"},
      {"parley-known-peers 1\nbob phone " + key + " trusted\n", "line 2: trust must be"},
      {"parley-known-peers 1\nbob phone " + key.substr(2) + " tofu\n", "line 2: the key must be"},
      {"parley-known-peers 1\nbob phone " + key + " tofu\nbob phone " + key + " tofu\n", "line 3: this user"},
      {"parley-known-peers 1\nb%zz phone " + key + " tofu\n", "two hex digits"},
      {"parley-known-peers 1\nbob% phone " + key + " tofu\n", "cut short"},
      {"parley-known-peers 1\nb\xc3\xa9 phone " + key + " tofu\n", "must be %-escaped"},
      {"parley-known-peers 1\n\n", "line 2"},
  };
  for (const Case& c : cases) {
    auto parsed = IdentityStore::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.error().message.find(c.error), std::string::npos) << parsed.error().message;
  }
  EXPECT_EQ(IdentityStore::Parse("parley-known-peers 1\n")->size(), 0u);
  EXPECT_EQ(IdentityStore::Parse("parley-known-peers 1")->size(), 0u);
}

TEST(IdentityStoreTest, DamagedFileIsAnErrorAndIsLeftAlone) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.path() / "known_peers", "parley-known-peers 1\nbroken\n").ok());
  auto store = IdentityStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("line 2"), std::string::npos);
  EXPECT_EQ(ReadAll(dir.path() / "known_peers"), "parley-known-peers 1\nbroken\n");
}

}  // namespace
}  // namespace parley::crypto
