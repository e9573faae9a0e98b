// The embedded default Store: one SQLite file in parleyd's data directory, schema
// applied as numbered migrations at open, every method one durable transaction.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "parley/base/result.h"
#include "parley/server/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace parley::server {

namespace detail {
struct SqlitePairTable;  // the SQL of contacts or blocks; defined in sqlite_store.cc
}  // namespace detail

// Durability: WAL journal with synchronous=FULL, so the WAL is fsync'd at every
// commit. A call that returned Ok survives kill -9 and power loss (NORMAL would only
// survive the former). The cost is one fsync per write, which a small community's
// signaling rate never notices.
//
// Called from the server's worker context; not thread-safe (the owner serialises
// calls, as Store says). Several processes may open the same file (SQLite locks);
// a writer that waits longer than the busy timeout gets a "locked" error and
// nothing of its write is stored.
class SqliteStore final : public Store {
 public:
  // The schema version this build creates and understands.
  static constexpr int kLatestSchemaVersion = 2;
  static constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};

  // Opens (creating if needed) the database at `path`: missing directories are made
  // with mode 0700, a new file with mode 0600, and an existing file readable by group
  // or others is narrowed to 0600. A file that is not a SQLite database, or one
  // written by a newer parleyd, is an error and is left untouched.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   std::chrono::milliseconds busy_timeout);
  // A private database that lives as long as the object, for tests.
  static Result<std::unique_ptr<SqliteStore>> OpenInMemory();

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<int> SchemaVersion() override;

  Status CreateAccount(const std::string& user, const DeviceRecord& first_device,
                       int64_t now_unix_ms) override;
  Result<std::optional<AccountRecord>> FindAccount(const std::string& user) override;
  Status AddDevice(const std::string& user, const DeviceRecord& device) override;
  Status DeleteAccount(const std::string& user) override;
  Status SetPrivacy(const std::string& user, Audience who_may_call, Audience p2p_with) override;

  Status AddContact(const std::string& owner, const std::string& contact) override;
  Status RemoveContact(const std::string& owner, const std::string& contact) override;
  Result<std::vector<std::string>> Contacts(const std::string& owner) override;
  Result<bool> IsContact(const std::string& owner, const std::string& contact) override;

  Status Block(const std::string& owner, const std::string& blocked) override;
  Status Unblock(const std::string& owner, const std::string& blocked) override;
  Result<std::vector<std::string>> BlockList(const std::string& owner) override;
  Result<bool> IsBlocked(const std::string& owner, const std::string& blocked) override;

  Status RecordCall(const CallLogEntry& entry) override;
  Result<std::vector<CallLogEntry>> CallHistory(const std::string& user, int limit) override;

  Status AddMissedCall(const std::string& callee, const CallLogEntry& entry) override;
  Result<std::vector<CallLogEntry>> TakeMissedCalls(const std::string& callee) override;

  Status AddInvite(const InviteRecord& invite) override;
  Result<std::optional<InviteRecord>> FindInvite(const std::array<uint8_t, 32>& hash) override;
  Result<std::vector<InviteRecord>> ListInvites() override;
  Result<bool> RevokeInvite(const std::array<uint8_t, 32>& hash, int64_t now_unix_ms) override;
  Result<int64_t> CountInvitesBy(const std::string& user, int64_t since_unix_ms) override;

  Result<CommunitySnapshot> ExportCommunity() override;
  Status ImportCommunity(const CommunitySnapshot& snapshot) override;
  Result<CommunityCounts> CountCommunity() override;

  // Caps the database at `pages` pages (SQLite's max_page_count), so tests can see
  // what a full disk does without filling one.
  Status LimitPagesForTesting(int pages);

 private:
  class Tx;
  class Stmt;

  SqliteStore(sqlite3* db, std::string path);

  Status Configure(std::chrono::milliseconds busy_timeout, bool on_disk);
  Status Migrate();
  Status Exec(const char* sql, const char* doing);
  Result<sqlite3_stmt*> Prepare(const char* sql, const char* doing);
  Error Fail(int code, const char* doing) const;

  // The account's row id; an error naming the user if there is none.
  Result<int64_t> AccountId(const std::string& user, const char* doing);
  Result<std::optional<int64_t>> FindAccountId(const std::string& user, const char* doing);
  // Shared bodies of the contact and block methods, which differ only in their SQL.
  using PairTable = detail::SqlitePairTable;
  Status AddPair(const PairTable& table, const std::string& owner, const std::string& other);
  Status RemovePair(const PairTable& table, const std::string& owner, const std::string& other);
  Result<std::vector<std::string>> ListPairs(const PairTable& table, const std::string& owner);
  Result<bool> HasPair(const PairTable& table, const std::string& owner, const std::string& other);
  Result<CommunityCounts> CountRows(const char* doing);

  sqlite3* db_;
  std::string path_;  // for error messages; ":memory:" for OpenInMemory
  // Prepared statements by their SQL text (a string literal, so the pointer is a key
  // that lives forever); finalized in the destructor.
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

}  // namespace parley::server
