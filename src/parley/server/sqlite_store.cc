// SqliteStore: parleyd's accounts, contacts, blocks, call log and missed calls in
// one SQLite file, with numbered migrations and one transaction per method.
#include "parley/server/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "parley/base/quote.h"
#include "parley/server/store_validation.h"
#include "parley/server/username.h"

// Propagates the error of a Result/Status to the caller, whatever its value type.
#define STORE_TRY(expr)                       \
  do {                                        \
    if (auto store_try_ = (expr); !store_try_.ok()) return store_try_.error(); \
  } while (false)

namespace parley::server {
namespace {

// Schema migrations, applied in order inside one transaction at open; the database
// remembers the last one applied in PRAGMA user_version. Never edit a migration that
// has shipped: add the next one. The PostgreSQL store keeps the same numbering.
//
// Accounts are referenced by row id, not by name, so that a deleted name registered
// again is a new person: cascades remove contacts and blocks in both directions and
// the missed calls waiting for the account; the call log keeps the names as text
// and only forgets which account a side belonged to (SET NULL).
struct Migration {
  int version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  who_may_call INTEGER NOT NULL CHECK (who_may_call BETWEEN 0 AND 2),
  p2p_with INTEGER NOT NULL CHECK (p2p_with BETWEEN 0 AND 2),
  created_unix_ms INTEGER NOT NULL
);
CREATE TABLE devices (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  identity_key BLOB NOT NULL CHECK (length(identity_key) = 32),
  UNIQUE (account_id, name)
);
CREATE TABLE contacts (
  owner_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  PRIMARY KEY (owner_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX contacts_by_contact ON contacts(contact_id);
CREATE TABLE blocks (
  owner_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  blocked_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  PRIMARY KEY (owner_id, blocked_id)
) WITHOUT ROWID;
CREATE INDEX blocks_by_blocked ON blocks(blocked_id);
CREATE TABLE call_log (
  id INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL UNIQUE,
  caller TEXT NOT NULL,
  callee TEXT NOT NULL,
  caller_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
  callee_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
  started_unix_ms INTEGER NOT NULL,
  answered_unix_ms INTEGER NOT NULL,
  ended_unix_ms INTEGER NOT NULL,
  outcome INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 5)
);
CREATE INDEX call_log_by_caller ON call_log(caller_id, started_unix_ms);
CREATE INDEX call_log_by_callee ON call_log(callee_id, started_unix_ms);
CREATE TABLE missed_calls (
  id INTEGER PRIMARY KEY,
  callee_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id TEXT NOT NULL,
  caller TEXT NOT NULL,
  callee TEXT NOT NULL,
  started_unix_ms INTEGER NOT NULL,
  answered_unix_ms INTEGER NOT NULL,
  ended_unix_ms INTEGER NOT NULL,
  outcome INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 5),
  UNIQUE (callee_id, call_id)
);
)sql"},
    // App invites (docs/protocol.md, "Web app and invites"): only the keyed hash of
    // each invite, so a copy of the database opens no app path.
    {2, R"sql(
CREATE TABLE app_invites (
  hash BLOB PRIMARY KEY CHECK (length(hash) = 32),
  created_by TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  revoked_unix_ms INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX app_invites_by_creator ON app_invites(created_by, created_unix_ms);
)sql"},
};
static_assert(std::size(kMigrations) == SqliteStore::kLatestSchemaVersion);

Error Damaged(const std::string& path, const std::string& what) {
  return Error{"the database " + path + " holds " + what +
               " that this parleyd does not understand: it may be damaged or written by a newer "
               "parleyd; restore a backup or upgrade parleyd"};
}

std::string DirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

std::string Errno(int err) { return std::strerror(err); }

// Makes every missing directory on the way to `dir` with mode 0700: the data
// directory holds who talks to whom.
Status MakeDirectories(const std::string& dir) {
  std::filesystem::path so_far;
  for (const auto& part : std::filesystem::path(dir)) {
    so_far /= part;
    if (mkdir(so_far.c_str(), 0700) != 0 && errno != EEXIST) {
      return Error{"cannot create the data directory " + so_far.string() + " (" + Errno(errno) +
                   "): create it yourself or choose another --data directory"};
    }
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error{dir + " is not a directory: point --data at a directory"};
  }
  return Ok{};
}

// Creates the database file with mode 0600 if it does not exist; never changes an
// existing file's contents.
Status CreateFileIfMissing(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error{"cannot open the database " + path + " for writing (" + Errno(errno) +
                 "): give parleyd write permission on it and its directory"};
  }
  struct stat st {};
  const int stat_rc = fstat(fd, &st);
  close(fd);
  if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
    return Error{path + " is not a regular file: point --data at a directory of its own"};
  }
  return Ok{};
}

// Narrows the database and its WAL files to the owner (0600) if anyone else may read
// them; called only once the file is known to be a SQLite database.
Status NarrowPermissions(const std::string& path) {
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) continue;  // the WAL files may not exist yet
    if ((st.st_mode & 0777) == 0600) continue;
    if (chmod(file.c_str(), 0600) != 0) {
      return Error{"cannot make " + file + " private to parleyd (" + Errno(errno) +
                   "): run `chmod 600 " + file + "` as its owner"};
    }
  }
  return Ok{};
}

}  // namespace

// The SQL of one kind of one-way relation between accounts (contacts, blocks).
struct detail::SqlitePairTable {
  const char* noun;        // for errors: "contact"
  const char* self_error;  // for errors: "cannot list themselves as a contact"
  const char* adding;      // what each method is doing, for errors
  const char* removing;
  const char* listing;
  const char* checking;
  const char* insert;  // ?1 owner id, ?2 other id
  const char* remove;  // ?1 owner id, ?2 other id
  const char* list;    // ?1 owner id -> names, sorted
  const char* has;     // ?1 owner id, ?2 other id -> a row if present
};

// A transaction that rolls back unless committed. Write transactions take the write
// lock at BEGIN (IMMEDIATE), so a busy database fails before any work is done and a
// read-then-write inside one method cannot deadlock against another process.
class SqliteStore::Tx {
 public:
  explicit Tx(SqliteStore& store) : store_(store) {}
  ~Tx() {
    if (!sqlite3_get_autocommit(store_.db_)) {
      sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  Status BeginRead(const char* doing) { return store_.Exec("BEGIN", doing); }
  Status BeginWrite(const char* doing) { return store_.Exec("BEGIN IMMEDIATE", doing); }
  Status Commit(const char* doing) { return store_.Exec("COMMIT", doing); }

 private:
  SqliteStore& store_;
};

// One use of a cached prepared statement: binds, steps, reads columns, and resets
// the statement when it goes out of scope. A failure to prepare or bind is kept and
// reported by the next Step(), so call sites check once.
class SqliteStore::Stmt {
 public:
  Stmt(SqliteStore& store, const char* sql, const char* doing) : store_(store), doing_(doing) {
    auto prepared = store.Prepare(sql, doing);
    if (prepared.ok()) {
      stmt_ = *prepared;
    } else {
      error_ = prepared.error();
    }
  }
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int index, int64_t value) {
    if (stmt_ != nullptr) Check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Stmt& Bind(int index, std::string_view text) {
    if (stmt_ != nullptr) {
      Check(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8));
    }
    return *this;
  }
  Stmt& BindBlob(int index, const uint8_t* data, size_t size) {
    if (stmt_ != nullptr) Check(sqlite3_bind_blob64(stmt_, index, data, size, SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& BindOptional(int index, const std::optional<int64_t>& value) {
    if (stmt_ != nullptr) {
      Check(value ? sqlite3_bind_int64(stmt_, index, *value) : sqlite3_bind_null(stmt_, index));
    }
    return *this;
  }

  // True if a row is ready, false when the statement is done.
  Result<bool> Step() {
    if (error_) return *error_;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return store_.Fail(rc, doing_);
  }
  // For statements that return no rows.
  Status Run() {
    auto row = Step();
    if (!row.ok()) return row.error();
    return Ok{};
  }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt_, column));
    return text == nullptr ? std::string() : std::string(text, size);
  }
  std::string_view Blob(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt_, column));
    return data == nullptr ? std::string_view()
                           : std::string_view(static_cast<const char*>(data), size);
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && !error_) error_ = store_.Fail(rc, doing_);
  }

  SqliteStore& store_;
  const char* doing_;
  sqlite3_stmt* stmt_ = nullptr;
  std::optional<Error> error_;
};

SqliteStore::SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

SqliteStore::~SqliteStore() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  return Open(path, kDefaultBusyTimeout);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       std::chrono::milliseconds busy_timeout) {
  if (path.empty()) return Error{"the database path is empty: pass parleyd --data DIR"};
  STORE_TRY(MakeDirectories(DirectoryOf(path)));
  STORE_TRY(CreateFileIfMissing(path));
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  // The object owns the handle from here, even if opening failed.
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  if (rc != SQLITE_OK) return store->Fail(rc, "opening the database");
  STORE_TRY(store->Configure(busy_timeout, /*on_disk=*/true));
  STORE_TRY(store->Migrate());
  return store;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenInMemory() {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(":memory:", &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, ":memory:"));
  if (rc != SQLITE_OK) return store->Fail(rc, "opening an in-memory database");
  STORE_TRY(store->Configure(kDefaultBusyTimeout, /*on_disk=*/false));
  STORE_TRY(store->Migrate());
  return store;
}

Status SqliteStore::Configure(std::chrono::milliseconds busy_timeout, bool on_disk) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
  // Read before anything can write, so a file that is not a database is refused
  // (SQLITE_NOTADB) with its bytes untouched.
  STORE_TRY(Exec("SELECT count(*) FROM sqlite_schema", "reading the database"));
  if (on_disk) {
    STORE_TRY(NarrowPermissions(path_));
    Stmt wal(*this, "PRAGMA journal_mode = WAL", "switching to write-ahead logging");
    auto row = wal.Step();
    if (!row.ok()) return row.error();
    const std::string mode = *row ? wal.Text(0) : std::string();
    if (mode != "wal") {
      return Error{"cannot use write-ahead logging for the database " + path_ +
                   " (journal mode stays \"" + mode +
                   "\"): put the --data directory on a local filesystem"};
    }
  }
  // FULL: with WAL, fsync the log at every commit, so an acknowledged write survives
  // power loss, not only a crash of the process.
  STORE_TRY(Exec("PRAGMA synchronous = FULL", "setting synchronous mode"));
  // Deleted accounts' rows are overwritten, not left readable in free pages.
  STORE_TRY(Exec("PRAGMA secure_delete = ON", "setting secure delete"));
  STORE_TRY(Exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  Stmt fk(*this, "PRAGMA foreign_keys", "checking foreign keys");
  auto row = fk.Step();
  if (!row.ok()) return row.error();
  if (!*row || fk.Int(0) != 1) {
    return Error{"this SQLite library has no foreign key support, which parleyd needs to delete "
                 "accounts cleanly: install Debian's libsqlite3-0"};
  }
  return Ok{};
}

Status SqliteStore::Migrate() {
  const char* doing = "applying schema migrations";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  int64_t version = 0;
  {
    Stmt q(*this, "PRAGMA user_version", doing);
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (*row) version = q.Int(0);
  }
  if (version > kLatestSchemaVersion || version < 0) {
    return Error{"the database " + path_ + " has schema version " + std::to_string(version) +
                 ", newer than this parleyd knows (" + std::to_string(kLatestSchemaVersion) +
                 "): run a newer parleyd, or restore a backup made by this one"};
  }
  if (version == kLatestSchemaVersion) return Ok{};  // nothing to do; the Tx rolls back
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    const std::string doing_m = "applying schema migration " + std::to_string(m.version);
    STORE_TRY(Exec(m.sql, doing_m.c_str()));
  }
  // PRAGMA takes no bound parameters; the number is ours.
  const std::string set = "PRAGMA user_version = " + std::to_string(kLatestSchemaVersion);
  STORE_TRY(Exec(set.c_str(), doing));
  return tx.Commit(doing);
}

Status SqliteStore::Exec(const char* sql, const char* doing) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Fail(rc, doing);
  return Ok{};
}

Result<sqlite3_stmt*> SqliteStore::Prepare(const char* sql, const char* doing) {
  if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Fail(rc, doing);
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

Error SqliteStore::Fail(int code, const char* doing) const {
  const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  const std::string what = doing;
  switch (code & 0xff) {
    case SQLITE_FULL:
      return Error{"the disk holding " + DirectoryOf(path_) + " is full while " + what +
                   ": free space there and retry (nothing of this change was stored)"};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error{"the database " + path_ + " is locked by another process while " + what +
                   " (a second parleyd on the same --data directory, or a tool holding it "
                   "open): stop that process and retry (nothing of this change was stored)"};
    case SQLITE_NOTADB:
      return Error{path_ +
                   " is not a parleyd database (it is not SQLite, or is encrypted): move it away "
                   "or point --data at another directory; the file was left as it was"};
    case SQLITE_CORRUPT:
      return Error{"the database " + path_ + " is damaged (" + detail + ") while " + what +
                   ": restore it from a backup"};
    case SQLITE_CANTOPEN:
      return Error{"cannot open the database " + path_ + " (" + detail +
                   "): check that its directory exists and parleyd may write to it"};
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error{"parleyd may not write to the database " + path_ + " while " + what + " (" +
                   detail + "): give it write permission on the file and its directory"};
    case SQLITE_IOERR:
      return Error{"an I/O error happened on " + path_ + " while " + what + " (" + detail +
                   "): check the disk and the system log, then retry"};
    case SQLITE_NOMEM:
      return Error{"parleyd ran out of memory while " + what + ": free memory and retry"};
    default:
      return Error{"the store failed while " + what + " (" + detail + ", SQLite code " +
                   std::to_string(code) + "): report this as a parleyd bug"};
  }
}

Status SqliteStore::LimitPagesForTesting(int pages) {
  const std::string sql = "PRAGMA max_page_count = " + std::to_string(pages);
  return Exec(sql.c_str(), "limiting the database size");
}

Result<int> SqliteStore::SchemaVersion() {
  Stmt q(*this, "PRAGMA user_version", "reading the schema version");
  auto row = q.Step();
  if (!row.ok()) return row.error();
  return *row ? static_cast<int>(q.Int(0)) : 0;
}

Result<std::optional<int64_t>> SqliteStore::FindAccountId(const std::string& user,
                                                          const char* doing) {
  Stmt q(*this, "SELECT id FROM accounts WHERE name = ?1", doing);
  q.Bind(1, user);
  auto row = q.Step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(q.Int(0));
}

Result<int64_t> SqliteStore::AccountId(const std::string& user, const char* doing) {
  auto id = FindAccountId(user, doing);
  if (!id.ok()) return id.error();
  if (!*id) return NoAccountError(user);
  return **id;
}

// --- Accounts ---

Status SqliteStore::CreateAccount(const std::string& user, const DeviceRecord& first_device,
                                  int64_t now_unix_ms) {
  STORE_TRY(ValidateUsername(user));
  STORE_TRY(ValidateDevice(first_device));
  const char* doing = "creating an account";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto existing = FindAccountId(user, doing);
  if (!existing.ok()) return existing.error();
  if (*existing) return Error{"username " + QuoteUntrusted(user) + " is taken: choose another"};
  const AccountRecord defaults;
  STORE_TRY(Stmt(*this,
                 "INSERT INTO accounts (name, who_may_call, p2p_with, created_unix_ms) "
                 "VALUES (?1, ?2, ?3, ?4)",
                 doing)
                .Bind(1, user)
                .Bind(2, AudienceCode(defaults.who_may_call))
                .Bind(3, AudienceCode(defaults.p2p_with))
                .Bind(4, now_unix_ms)
                .Run());
  const int64_t id = sqlite3_last_insert_rowid(db_);
  STORE_TRY(Stmt(*this,
                 "INSERT INTO devices (account_id, name, identity_key) VALUES (?1, ?2, ?3)", doing)
                .Bind(1, id)
                .Bind(2, first_device.device)
                .BindBlob(3, first_device.identity_key.data(), first_device.identity_key.size())
                .Run());
  return tx.Commit(doing);
}

Result<std::optional<AccountRecord>> SqliteStore::FindAccount(const std::string& user) {
  const char* doing = "looking up an account";
  Tx tx(*this);
  STORE_TRY(tx.BeginRead(doing));
  AccountRecord account;
  int64_t id = 0;
  {
    Stmt q(*this,
           "SELECT id, who_may_call, p2p_with, created_unix_ms FROM accounts WHERE name = ?1",
           doing);
    q.Bind(1, user);
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (!*row) return std::optional<AccountRecord>();
    id = q.Int(0);
    const auto who = AudienceFromCode(q.Int(1));
    const auto p2p = AudienceFromCode(q.Int(2));
    if (!who || !p2p) return Damaged(path_, "a privacy setting");
    account.user = user;
    account.who_may_call = *who;
    account.p2p_with = *p2p;
    account.created_unix_ms = q.Int(3);
  }
  Stmt q(*this, "SELECT name, identity_key FROM devices WHERE account_id = ?1 ORDER BY id", doing);
  q.Bind(1, id);
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    DeviceRecord device;
    device.device = q.Text(0);
    const std::string_view key = q.Blob(1);
    if (key.size() != device.identity_key.size()) return Damaged(path_, "an identity key");
    std::memcpy(device.identity_key.data(), key.data(), key.size());
    account.devices.push_back(std::move(device));
  }
  STORE_TRY(tx.Commit(doing));
  return std::optional<AccountRecord>(std::move(account));
}

Status SqliteStore::AddDevice(const std::string& user, const DeviceRecord& device) {
  STORE_TRY(ValidateDevice(device));
  const char* doing = "adding a device";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto id = AccountId(user, doing);
  if (!id.ok()) return id.error();
  {
    Stmt q(*this, "SELECT 1 FROM devices WHERE account_id = ?1 AND name = ?2", doing);
    q.Bind(1, *id).Bind(2, device.device);
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (*row) {
      return Error{QuoteUntrusted(user) + " already has a device named " + QuoteUntrusted(device.device) +
                   ": choose another device name"};
    }
  }
  STORE_TRY(Stmt(*this,
                 "INSERT INTO devices (account_id, name, identity_key) VALUES (?1, ?2, ?3)", doing)
                .Bind(1, *id)
                .Bind(2, device.device)
                .BindBlob(3, device.identity_key.data(), device.identity_key.size())
                .Run());
  return tx.Commit(doing);
}

Status SqliteStore::DeleteAccount(const std::string& user) {
  const char* doing = "deleting an account";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto id = AccountId(user, doing);
  if (!id.ok()) return id.error();
  // Cascades take devices, contacts and blocks both ways, and its missed calls; the
  // call log keeps the name but forgets the account.
  STORE_TRY(Stmt(*this, "DELETE FROM accounts WHERE id = ?1", doing).Bind(1, *id).Run());
  // A log row that no account can see any more is of no use to anyone.
  STORE_TRY(Stmt(*this, "DELETE FROM call_log WHERE caller_id IS NULL AND callee_id IS NULL",
                 doing)
                .Run());
  return tx.Commit(doing);
}

Status SqliteStore::SetPrivacy(const std::string& user, Audience who_may_call,
                               Audience p2p_with) {
  if (AudienceCode(who_may_call) < 0 || AudienceCode(p2p_with) < 0) {
    return Error{"unknown privacy setting for " + QuoteUntrusted(user) +
                 ": use everyone, contacts or nobody"};
  }
  const char* doing = "changing privacy settings";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto id = AccountId(user, doing);
  if (!id.ok()) return id.error();
  STORE_TRY(Stmt(*this, "UPDATE accounts SET who_may_call = ?2, p2p_with = ?3 WHERE id = ?1",
                 doing)
                .Bind(1, *id)
                .Bind(2, AudienceCode(who_may_call))
                .Bind(3, AudienceCode(p2p_with))
                .Run());
  return tx.Commit(doing);
}

// --- Contacts and blocks ---

namespace {
const detail::SqlitePairTable kContacts{
    "contact",
    "cannot list themselves as a contact",
    "adding a contact",
    "removing a contact",
    "listing contacts",
    "checking a contact",
    "INSERT INTO contacts (owner_id, contact_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    "DELETE FROM contacts WHERE owner_id = ?1 AND contact_id = ?2",
    "SELECT a.name FROM contacts c JOIN accounts a ON a.id = c.contact_id "
    "WHERE c.owner_id = ?1 ORDER BY a.name",
    "SELECT 1 FROM contacts WHERE owner_id = ?1 AND contact_id = ?2",
};
const detail::SqlitePairTable kBlocks{
    "block",
    "cannot block themselves",
    "blocking a user",
    "unblocking a user",
    "listing blocked users",
    "checking a block",
    "INSERT INTO blocks (owner_id, blocked_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    "DELETE FROM blocks WHERE owner_id = ?1 AND blocked_id = ?2",
    "SELECT a.name FROM blocks b JOIN accounts a ON a.id = b.blocked_id "
    "WHERE b.owner_id = ?1 ORDER BY a.name",
    "SELECT 1 FROM blocks WHERE owner_id = ?1 AND blocked_id = ?2",
};
}  // namespace

Status SqliteStore::AddPair(const PairTable& table, const std::string& owner,
                            const std::string& other) {
  const char* doing = table.adding;
  if (owner == other) {
    return Error{QuoteUntrusted(owner) + " " + table.self_error};
  }
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto owner_id = AccountId(owner, doing);
  if (!owner_id.ok()) return owner_id.error();
  auto other_id = FindAccountId(other, doing);
  if (!other_id.ok()) return other_id.error();
  if (!*other_id) {
    return Error{"cannot add a " + std::string(table.noun) + " for " + QuoteUntrusted(owner) + ": " +
                 NoAccountError(other).message};
  }
  STORE_TRY(Stmt(*this, table.insert, doing).Bind(1, *owner_id).Bind(2, **other_id).Run());
  return tx.Commit(doing);
}

Status SqliteStore::RemovePair(const PairTable& table, const std::string& owner,
                               const std::string& other) {
  const char* doing = table.removing;
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto owner_id = AccountId(owner, doing);
  if (!owner_id.ok()) return owner_id.error();
  auto other_id = FindAccountId(other, doing);
  if (!other_id.ok()) return other_id.error();
  if (!*other_id) return Ok{};  // nothing can point at an account that does not exist
  STORE_TRY(Stmt(*this, table.remove, doing).Bind(1, *owner_id).Bind(2, **other_id).Run());
  return tx.Commit(doing);
}

Result<std::vector<std::string>> SqliteStore::ListPairs(const PairTable& table,
                                                        const std::string& owner) {
  const char* doing = table.listing;
  Tx tx(*this);
  STORE_TRY(tx.BeginRead(doing));
  auto owner_id = AccountId(owner, doing);
  if (!owner_id.ok()) return owner_id.error();
  std::vector<std::string> names;
  {
    Stmt q(*this, table.list, doing);
    q.Bind(1, *owner_id);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      names.push_back(q.Text(0));
    }
  }
  STORE_TRY(tx.Commit(doing));
  return names;
}

Result<bool> SqliteStore::HasPair(const PairTable& table, const std::string& owner,
                                  const std::string& other) {
  const char* doing = table.checking;
  Tx tx(*this);
  STORE_TRY(tx.BeginRead(doing));
  auto owner_id = AccountId(owner, doing);
  if (!owner_id.ok()) return owner_id.error();
  auto other_id = FindAccountId(other, doing);
  if (!other_id.ok()) return other_id.error();
  bool present = false;
  if (*other_id) {
    Stmt q(*this, table.has, doing);
    q.Bind(1, *owner_id).Bind(2, **other_id);
    auto row = q.Step();
    if (!row.ok()) return row.error();
    present = *row;
  }
  STORE_TRY(tx.Commit(doing));
  return present;
}

Status SqliteStore::AddContact(const std::string& owner, const std::string& contact) {
  return AddPair(kContacts, owner, contact);
}
Status SqliteStore::RemoveContact(const std::string& owner, const std::string& contact) {
  return RemovePair(kContacts, owner, contact);
}
Result<std::vector<std::string>> SqliteStore::Contacts(const std::string& owner) {
  return ListPairs(kContacts, owner);
}
Result<bool> SqliteStore::IsContact(const std::string& owner, const std::string& contact) {
  return HasPair(kContacts, owner, contact);
}
Status SqliteStore::Block(const std::string& owner, const std::string& blocked) {
  return AddPair(kBlocks, owner, blocked);
}
Status SqliteStore::Unblock(const std::string& owner, const std::string& blocked) {
  return RemovePair(kBlocks, owner, blocked);
}
Result<std::vector<std::string>> SqliteStore::BlockList(const std::string& owner) {
  return ListPairs(kBlocks, owner);
}
Result<bool> SqliteStore::IsBlocked(const std::string& owner, const std::string& blocked) {
  return HasPair(kBlocks, owner, blocked);
}

// --- Call log and missed calls ---

Status SqliteStore::RecordCall(const CallLogEntry& entry) {
  STORE_TRY(ValidateCallLogEntry(entry));
  const char* doing = "recording a call";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto caller_id = FindAccountId(entry.caller, doing);
  if (!caller_id.ok()) return caller_id.error();
  auto callee_id = FindAccountId(entry.callee, doing);
  if (!callee_id.ok()) return callee_id.error();
  if (!*caller_id && !*callee_id) {
    return Error{"neither " + QuoteUntrusted(entry.caller) + " nor " + QuoteUntrusted(entry.callee) +
                 " has an account, so call " + QuoteUntrusted(entry.call_id) + " was not logged"};
  }
  {
    Stmt q(*this, "SELECT 1 FROM call_log WHERE call_id = ?1", doing);
    q.Bind(1, entry.call_id);
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (*row) return Error{"call " + QuoteUntrusted(entry.call_id) + " is already in the call log"};
  }
  STORE_TRY(Stmt(*this,
                 "INSERT INTO call_log (call_id, caller, callee, caller_id, callee_id, "
                 "started_unix_ms, answered_unix_ms, ended_unix_ms, outcome) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                 doing)
                .Bind(1, entry.call_id)
                .Bind(2, entry.caller)
                .Bind(3, entry.callee)
                .BindOptional(4, *caller_id)
                .BindOptional(5, *callee_id)
                .Bind(6, entry.started_unix_ms)
                .Bind(7, entry.answered_unix_ms)
                .Bind(8, entry.ended_unix_ms)
                .Bind(9, OutcomeCode(entry.outcome))
                .Run());
  return tx.Commit(doing);
}

Result<std::vector<CallLogEntry>> SqliteStore::CallHistory(const std::string& user, int limit) {
  if (limit <= 0) {
    return Error{"the call history limit is " + std::to_string(limit) +
                 ": ask for at least one entry"};
  }
  const char* doing = "reading the call log";
  Tx tx(*this);
  STORE_TRY(tx.BeginRead(doing));
  auto id = AccountId(user, doing);
  if (!id.ok()) return id.error();
  std::vector<CallLogEntry> entries;
  {
    Stmt q(*this,
           "SELECT call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, "
           "outcome FROM call_log WHERE caller_id = ?1 OR callee_id = ?1 "
           "ORDER BY started_unix_ms DESC, id DESC LIMIT ?2",
           doing);
    q.Bind(1, *id).Bind(2, limit);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      const auto outcome = OutcomeFromCode(q.Int(6));
      if (!outcome) return Damaged(path_, "a call outcome");
      entries.push_back(CallLogEntry{q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4),
                                     q.Int(5), *outcome});
    }
  }
  STORE_TRY(tx.Commit(doing));
  return entries;
}

Status SqliteStore::AddMissedCall(const std::string& callee, const CallLogEntry& entry) {
  CallLogEntry e = entry;
  if (e.callee.empty()) e.callee = callee;
  if (e.callee != callee) {
    return Error{"missed call " + QuoteUntrusted(e.call_id) + " is for " + QuoteUntrusted(e.callee) + ", not " +
                 QuoteUntrusted(callee)};
  }
  STORE_TRY(ValidateCallLogEntry(e));
  const char* doing = "saving a missed call";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto id = AccountId(callee, doing);
  if (!id.ok()) return id.error();
  // A repeated call id is the same missed call retried: keep one.
  STORE_TRY(Stmt(*this,
                 "INSERT INTO missed_calls (callee_id, call_id, caller, callee, started_unix_ms, "
                 "answered_unix_ms, ended_unix_ms, outcome) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                 doing)
                .Bind(1, *id)
                .Bind(2, e.call_id)
                .Bind(3, e.caller)
                .Bind(4, e.callee)
                .Bind(5, e.started_unix_ms)
                .Bind(6, e.answered_unix_ms)
                .Bind(7, e.ended_unix_ms)
                .Bind(8, OutcomeCode(e.outcome))
                .Run());
  return tx.Commit(doing);
}

Result<std::vector<CallLogEntry>> SqliteStore::TakeMissedCalls(const std::string& callee) {
  const char* doing = "delivering missed calls";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  auto id = AccountId(callee, doing);
  if (!id.ok()) return id.error();
  std::vector<CallLogEntry> entries;
  {
    Stmt q(*this,
           "SELECT call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, "
           "outcome FROM missed_calls WHERE callee_id = ?1 ORDER BY id",
           doing);
    q.Bind(1, *id);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      const auto outcome = OutcomeFromCode(q.Int(6));
      if (!outcome) return Damaged(path_, "a call outcome");
      entries.push_back(CallLogEntry{q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4),
                                     q.Int(5), *outcome});
    }
  }
  if (!entries.empty()) {
    STORE_TRY(
        Stmt(*this, "DELETE FROM missed_calls WHERE callee_id = ?1", doing).Bind(1, *id).Run());
  }
  STORE_TRY(tx.Commit(doing));
  return entries;
}

// --- App invites ---

Status SqliteStore::AddInvite(const InviteRecord& invite) {
  STORE_TRY(ValidateInviteCreator(invite.created_by));
  const char* doing = "adding an app invite";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  {
    Stmt q(*this, "SELECT 1 FROM app_invites WHERE hash = ?1", doing);
    q.BindBlob(1, invite.hash.data(), invite.hash.size());
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (*row) return Error{"this invite is already stored: make a new one"};
  }
  STORE_TRY(Stmt(*this,
                 "INSERT INTO app_invites (hash, created_by, created_unix_ms, revoked_unix_ms) "
                 "VALUES (?1, ?2, ?3, ?4)",
                 doing)
                .BindBlob(1, invite.hash.data(), invite.hash.size())
                .Bind(2, invite.created_by)
                .Bind(3, invite.created_unix_ms)
                .Bind(4, invite.revoked_unix_ms)
                .Run());
  return tx.Commit(doing);
}

Result<std::optional<InviteRecord>> SqliteStore::FindInvite(const std::array<uint8_t, 32>& hash) {
  const char* doing = "looking up an app invite";
  Stmt q(*this, "SELECT created_by, created_unix_ms, revoked_unix_ms FROM app_invites WHERE hash = ?1", doing);
  q.BindBlob(1, hash.data(), hash.size());
  auto row = q.Step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<InviteRecord>();
  return std::optional<InviteRecord>(InviteRecord{hash, q.Text(0), q.Int(1), q.Int(2)});
}

Result<std::vector<InviteRecord>> SqliteStore::ListInvites() {
  const char* doing = "listing app invites";
  std::vector<InviteRecord> out;
  Stmt q(*this,
         "SELECT hash, created_by, created_unix_ms, revoked_unix_ms FROM app_invites "
         "ORDER BY created_unix_ms, hash",
         doing);
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    const std::string_view blob = q.Blob(0);
    if (blob.size() != 32) return Damaged(path_, "an invite hash");
    InviteRecord r;
    std::copy(blob.begin(), blob.end(), r.hash.begin());
    r.created_by = q.Text(1);
    r.created_unix_ms = q.Int(2);
    r.revoked_unix_ms = q.Int(3);
    out.push_back(std::move(r));
  }
  return out;
}

Result<bool> SqliteStore::RevokeInvite(const std::array<uint8_t, 32>& hash, int64_t now_unix_ms) {
  const char* doing = "revoking an app invite";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  STORE_TRY(Stmt(*this,
                 "UPDATE app_invites SET revoked_unix_ms = ?2 WHERE hash = ?1 AND revoked_unix_ms = 0",
                 doing)
                .BindBlob(1, hash.data(), hash.size())
                .Bind(2, std::max<int64_t>(now_unix_ms, 1))
                .Run());
  const bool changed = sqlite3_changes(db_) > 0;
  STORE_TRY(tx.Commit(doing));
  return changed;
}

Result<int64_t> SqliteStore::CountInvitesBy(const std::string& user, int64_t since_unix_ms) {
  const char* doing = "counting app invites";
  Stmt q(*this,
         "SELECT count(*) FROM app_invites WHERE created_by = ?1 AND created_unix_ms >= ?2 "
         "AND revoked_unix_ms = 0",
         doing);
  q.Bind(1, user).Bind(2, since_unix_ms);
  auto row = q.Step();
  if (!row.ok()) return row.error();
  return *row ? q.Int(0) : int64_t{0};
}

}  // namespace parley::server


// --- Moving a community ---

namespace parley::server {

Result<CommunityCounts> SqliteStore::CountRows(const char* doing) {
  Stmt q(*this,
         "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM devices), "
         "(SELECT count(*) FROM contacts), (SELECT count(*) FROM blocks), "
         "(SELECT count(*) FROM call_log), (SELECT count(*) FROM missed_calls), "
         "(SELECT count(*) FROM app_invites)",
         doing);
  auto row = q.Step();
  if (!row.ok()) return row.error();
  return CommunityCounts{q.Int(0), q.Int(1), q.Int(2), q.Int(3), q.Int(4), q.Int(5), q.Int(6)};
}

Result<CommunityCounts> SqliteStore::CountCommunity() {
  const char* doing = "counting the community";
  Tx tx(*this);
  STORE_TRY(tx.BeginRead(doing));
  auto counts = CountRows(doing);
  if (!counts.ok()) return counts.error();
  STORE_TRY(tx.Commit(doing));
  return counts;
}

Result<CommunitySnapshot> SqliteStore::ExportCommunity() {
  const char* doing = "exporting the community";
  Tx tx(*this);
  STORE_TRY(tx.BeginRead(doing));  // one snapshot of every table
  CommunitySnapshot out;
  std::unordered_map<int64_t, size_t> index_of_account;
  {
    Stmt q(*this, "SELECT id, name, who_may_call, p2p_with, created_unix_ms FROM accounts ORDER BY id", doing);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      AccountRecord account;
      account.user = q.Text(1);
      const auto who = AudienceFromCode(q.Int(2));
      const auto p2p = AudienceFromCode(q.Int(3));
      if (!who || !p2p) return Damaged(path_, "a privacy setting");
      account.who_may_call = *who;
      account.p2p_with = *p2p;
      account.created_unix_ms = q.Int(4);
      index_of_account[q.Int(0)] = out.accounts.size();
      out.accounts.push_back(std::move(account));
    }
  }
  {
    Stmt q(*this, "SELECT account_id, name, identity_key FROM devices ORDER BY id", doing);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      DeviceRecord device;
      device.device = q.Text(1);
      const std::string_view key = q.Blob(2);
      if (key.size() != device.identity_key.size()) return Damaged(path_, "an identity key");
      std::memcpy(device.identity_key.data(), key.data(), key.size());
      out.accounts[index_of_account.at(q.Int(0))].devices.push_back(std::move(device));
    }
  }
  const std::pair<const char*, std::vector<std::pair<std::string, std::string>>*> pair_tables[] = {
      {"SELECT o.name, c.name FROM contacts x JOIN accounts o ON o.id = x.owner_id "
       "JOIN accounts c ON c.id = x.contact_id ORDER BY o.name, c.name",
       &out.contacts},
      {"SELECT o.name, b.name FROM blocks x JOIN accounts o ON o.id = x.owner_id "
       "JOIN accounts b ON b.id = x.blocked_id ORDER BY o.name, b.name",
       &out.blocks},
  };
  for (const auto& [sql, pairs] : pair_tables) {
    Stmt q(*this, sql, doing);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      pairs->emplace_back(q.Text(0), q.Text(1));
    }
  }
  {
    Stmt q(*this,
           "SELECT call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, outcome, "
           "caller_id IS NOT NULL, callee_id IS NOT NULL FROM call_log ORDER BY id",
           doing);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      const auto outcome = OutcomeFromCode(q.Int(6));
      if (!outcome) return Damaged(path_, "a call outcome");
      out.call_log.push_back(LoggedCall{
          CallLogEntry{q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4), q.Int(5), *outcome}, q.Int(7) != 0,
          q.Int(8) != 0});
    }
  }
  {
    Stmt q(*this,
           "SELECT call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, outcome "
           "FROM missed_calls ORDER BY id",
           doing);
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      const auto outcome = OutcomeFromCode(q.Int(6));
      if (!outcome) return Damaged(path_, "a call outcome");
      out.missed_calls.push_back(
          CallLogEntry{q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4), q.Int(5), *outcome});
    }
  }
  auto invites = ListInvites();  // no transaction of its own: part of this snapshot
  if (!invites.ok()) return invites.error();
  out.invites = std::move(*invites);
  STORE_TRY(tx.Commit(doing));
  return out;
}

Status SqliteStore::ImportCommunity(const CommunitySnapshot& snapshot) {
  STORE_TRY(ValidateSnapshot(snapshot));
  const char* doing = "importing the community";
  Tx tx(*this);
  STORE_TRY(tx.BeginWrite(doing));
  {
    Stmt q(*this, "SELECT count(*) FROM accounts", doing);
    auto row = q.Step();
    if (!row.ok()) return row.error();
    if (q.Int(0) > 0) return DestinationNotEmptyError(path_, q.Int(0));
  }
  std::unordered_map<std::string, int64_t> id_of;
  for (const AccountRecord& account : snapshot.accounts) {
    STORE_TRY(Stmt(*this,
                   "INSERT INTO accounts (name, who_may_call, p2p_with, created_unix_ms) VALUES (?1, ?2, ?3, ?4)",
                   doing)
                  .Bind(1, account.user)
                  .Bind(2, AudienceCode(account.who_may_call))
                  .Bind(3, AudienceCode(account.p2p_with))
                  .Bind(4, account.created_unix_ms)
                  .Run());
    const int64_t id = sqlite3_last_insert_rowid(db_);
    id_of[account.user] = id;
    for (const DeviceRecord& device : account.devices) {
      STORE_TRY(Stmt(*this, "INSERT INTO devices (account_id, name, identity_key) VALUES (?1, ?2, ?3)", doing)
                    .Bind(1, id)
                    .Bind(2, device.device)
                    .BindBlob(3, device.identity_key.data(), device.identity_key.size())
                    .Run());
    }
  }
  for (const auto& [owner, contact] : snapshot.contacts) {
    STORE_TRY(Stmt(*this, "INSERT INTO contacts (owner_id, contact_id) VALUES (?1, ?2)", doing)
                  .Bind(1, id_of.at(owner))
                  .Bind(2, id_of.at(contact))
                  .Run());
  }
  for (const auto& [owner, blocked] : snapshot.blocks) {
    STORE_TRY(Stmt(*this, "INSERT INTO blocks (owner_id, blocked_id) VALUES (?1, ?2)", doing)
                  .Bind(1, id_of.at(owner))
                  .Bind(2, id_of.at(blocked))
                  .Run());
  }
  for (const LoggedCall& call : snapshot.call_log) {
    const CallLogEntry& e = call.entry;
    STORE_TRY(Stmt(*this,
                   "INSERT INTO call_log (call_id, caller, callee, caller_id, callee_id, started_unix_ms, "
                   "answered_unix_ms, ended_unix_ms, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                   doing)
                  .Bind(1, e.call_id)
                  .Bind(2, e.caller)
                  .Bind(3, e.callee)
                  .BindOptional(4, call.caller_linked ? std::optional<int64_t>(id_of.at(e.caller)) : std::nullopt)
                  .BindOptional(5, call.callee_linked ? std::optional<int64_t>(id_of.at(e.callee)) : std::nullopt)
                  .Bind(6, e.started_unix_ms)
                  .Bind(7, e.answered_unix_ms)
                  .Bind(8, e.ended_unix_ms)
                  .Bind(9, OutcomeCode(e.outcome))
                  .Run());
  }
  for (const CallLogEntry& e : snapshot.missed_calls) {
    STORE_TRY(Stmt(*this,
                   "INSERT INTO missed_calls (callee_id, call_id, caller, callee, started_unix_ms, "
                   "answered_unix_ms, ended_unix_ms, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                   doing)
                  .Bind(1, id_of.at(e.callee))
                  .Bind(2, e.call_id)
                  .Bind(3, e.caller)
                  .Bind(4, e.callee)
                  .Bind(5, e.started_unix_ms)
                  .Bind(6, e.answered_unix_ms)
                  .Bind(7, e.ended_unix_ms)
                  .Bind(8, OutcomeCode(e.outcome))
                  .Run());
  }
  for (const InviteRecord& invite : snapshot.invites) {
    STORE_TRY(Stmt(*this,
                   "INSERT INTO app_invites (hash, created_by, created_unix_ms, revoked_unix_ms) "
                   "VALUES (?1, ?2, ?3, ?4)",
                   doing)
                  .BindBlob(1, invite.hash.data(), invite.hash.size())
                  .Bind(2, invite.created_by)
                  .Bind(3, invite.created_unix_ms)
                  .Bind(4, invite.revoked_unix_ms)
                  .Run());
  }
  auto stored = CountRows(doing);
  if (!stored.ok()) return stored.error();
  if (*stored != CountsOf(snapshot)) return CountsDifferError(path_, CountsOf(snapshot), *stored);
  return tx.Commit(doing);
}

}  // namespace parley::server

#undef STORE_TRY
