// Tests for parleyd's data directory: private creation, persistent ticket key and
// WebSocket path, atomic writes with exact modes.
#include "parley/server/data_directory.h"

#include <sys/stat.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace parley::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class DataDirectoryTest : public ::testing::Test {
 protected:
  DataDirectoryTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley_data_XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  ~DataDirectoryTest() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST_F(DataDirectoryTest, CreatesPrivateDirectoryWithParents) {
  auto dir = DataDirectory::Open(root_ + "/a/b/data/");
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(dir->path(), root_ + "/a/b/data");
  EXPECT_EQ(Mode(dir->path()), 0700u);
  EXPECT_TRUE(DataDirectory::Open(root_ + "/a/b/data").ok());  // reopening is fine
}

TEST_F(DataDirectoryTest, FileInPlaceOfDirectoryIsAnError) {
  ASSERT_TRUE(DataDirectory::WriteFileAtomically(root_ + "/file", "x", 0600).ok());
  auto dir = DataDirectory::Open(root_ + "/file");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.error().message, HasSubstr("is not a directory"));
}

TEST_F(DataDirectoryTest, TicketKeyPersistsAndIsPrivate) {
  auto dir = DataDirectory::Open(root_);
  ASSERT_TRUE(dir.ok());
  crypto::SeededKeySource random(1);
  auto first = dir->LoadOrCreateTicketKey(random);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(Mode(dir->File("relay_ticket.key")), 0600u);
  crypto::SeededKeySource other(2);
  auto again = dir->LoadOrCreateTicketKey(other);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*first == *again);

  ASSERT_TRUE(DataDirectory::WriteFileAtomically(dir->File("relay_ticket.key"), "short", 0600).ok());
  auto bad = dir->LoadOrCreateTicketKey(other);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("not 32"));
}

TEST_F(DataDirectoryTest, WebsocketPathIsRandomAndPersists) {
  auto dir = DataDirectory::Open(root_);
  ASSERT_TRUE(dir.ok());
  crypto::SeededKeySource random(1);
  auto path = dir->LoadOrCreateWebsocketPath(random);
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_THAT(*path, StartsWith("/ws/"));
  EXPECT_EQ(path->size(), 4u + 22u);
  crypto::SeededKeySource other(2);
  auto again = dir->LoadOrCreateWebsocketPath(other);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *path);

  std::filesystem::remove(dir->File("websocket_path"));
  auto fresh = dir->LoadOrCreateWebsocketPath(other);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(*fresh, *path);
}

}  // namespace
}  // namespace parley::server
