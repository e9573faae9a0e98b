// Store URLs: what parses, the one-sentence errors for what does not, redaction of
// passwords, and OpenStore's default (SQLite in the data directory).
#include "parley/server/store_factory.h"

#include "parley/server/server_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace parley::server {
namespace {

using testing::HasSubstr;
using testing::Not;

TEST(StoreUrlTest, ParsesSqliteAndPostgresUrls) {
  auto sqlite = ParseStoreUrl("sqlite:///var/lib/parley/parley.db");
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
  EXPECT_EQ(sqlite->kind, StoreLocation::Kind::kSqlite);
  EXPECT_EQ(sqlite->sqlite_path, "/var/lib/parley/parley.db");
  for (const char* url : {"postgres://parley@db.example.org:5433/community",
                          "postgresql://parley:secret@10.0.0.5/community?sslmode=require&connect_timeout=5",
                          "postgres://parley@[::1]:5432/parley", "postgres:///parley"}) {
    auto pg = ParseStoreUrl(url);
    ASSERT_TRUE(pg.ok()) << url << ": " << pg.error().message;
    EXPECT_EQ(pg->kind, StoreLocation::Kind::kPostgres);
    EXPECT_EQ(pg->postgres_url, url);
  }
}

TEST(StoreUrlTest, RefusesWithOneClearSentence) {
  struct Case {
    std::string url;
    std::string error;
  };
  const Case cases[] = {
      {"", "the store URL is empty"},
      {"mysql://root@host/db", "must start with sqlite:/// or postgres://, not \"mysql\":"},
      {"/var/lib/parley.db", "must start with sqlite:/// or postgres://: for example"},
      {"sqlite://parley.db", "must name an absolute path with three slashes"},
      {"sqlite:///var/lib/parley/", "names a directory"},
      {"sqlite:///var/lib/my parley.db", "contains a space or a control character"},
      {"postgres://parley@host/db\n", "contains a space or a control character"},
      {"postgres://parley@host/db?nonsense=1", "is not valid (invalid URI query parameter: \"nonsense\")"},
      {"postgres://parley@host:port/db", "is not valid ("},
      {"sqlite:///" + std::string(5000, 'a'), "bytes long, more than 4096: shorten it"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseStoreUrl(c.url);
    ASSERT_FALSE(parsed.ok()) << c.url;
    EXPECT_THAT(parsed.error().message, HasSubstr(c.error)) << c.url;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos) << c.url;
  }
}

TEST(StoreUrlTest, ErrorsAndRedactionNeverShowThePassword) {
  auto parsed = ParseStoreUrl("postgres://parley:hunter2@host/db?bogus=1");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.error().message, Not(HasSubstr("hunter2")));
  EXPECT_THAT(parsed.error().message, HasSubstr("postgres://parley:***@host/db"));
  EXPECT_EQ(RedactStoreUrl("postgres://parley:hunter2@host:5432/db?password=x"), "postgres://parley:***@host:5432/db");
  EXPECT_EQ(RedactStoreUrl("postgres://parley@host/db"), "postgres://parley@host/db");
  EXPECT_EQ(RedactStoreUrl("sqlite:///a/b.db"), "sqlite:///a/b.db");
}

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/parley-factory-XXXXXX";
    PARLEY_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(OpenStoreTest, DefaultsToSqliteInTheDataDirectory) {
  TempDir tmp;
  auto dir = DataDirectory::Open(tmp.File("data"));
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(DefaultStoreUrl(*dir), "sqlite://" + tmp.File("data") + "/parley.db");
  {
    auto store = OpenStore("", *dir);
    ASSERT_TRUE(store.ok()) << store.error().message;
    DeviceRecord device{"laptop", {}};
    device.identity_key[0] = 1;
    ASSERT_TRUE((*store)->CreateAccount("alice", device, 1).ok());
  }
  EXPECT_TRUE(std::filesystem::exists(tmp.File("data/parley.db")));
  auto same = OpenStore("sqlite://" + tmp.File("data/parley.db"), *dir);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE((*same)->FindAccount("alice")->has_value());
  auto elsewhere = OpenStore("sqlite://" + tmp.File("other/x.db"), *dir);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_FALSE((*elsewhere)->FindAccount("alice")->has_value());
  auto bad = OpenStore("redis://host", *dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("must start with sqlite:/// or postgres://"));
}

TEST(StoreConfigTest, TheStoreSettingIsReadCheckedAndPrinted) {
  auto config = ParseServerConfig("data_dir = \"/d\"\nstore = \"postgres://parley@db:5432/parley\"\n", "t.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->store, "postgres://parley@db:5432/parley");
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
  EXPECT_THAT(PrintServerConfig(*config), HasSubstr("store = \"postgres://parley@db:5432/parley\""));

  ServerConfig defaults;
  defaults.data_dir = "/d";
  EXPECT_EQ(defaults.store, "");  // SQLite in the data directory
  EXPECT_TRUE(ValidateServerConfig(defaults).ok());
  ASSERT_TRUE(ApplyServerConfigOverride(defaults, "store", "sqlite:///srv/p.db").ok());
  EXPECT_EQ(defaults.store, "sqlite:///srv/p.db");
  ASSERT_TRUE(ApplyServerConfigOverride(defaults, "store", "mongodb://x").ok());
  const Status invalid = ValidateServerConfig(defaults);
  ASSERT_FALSE(invalid.ok());
  EXPECT_THAT(invalid.error().message, HasSubstr("store: the store URL must start with sqlite:/// or postgres://"));
}

}  // namespace
}  // namespace parley::server
