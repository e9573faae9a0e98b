// PostgresStore: parleyd's accounts, contacts, blocks, call log, missed calls and
// invites in a PostgreSQL database shared by several nodes (libpqxx 6).
#include "parley/server/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <pqxx/pqxx>
#include <type_traits>
#include <utility>

#include "parley/base/check.h"
#include "parley/base/quote.h"
#include "parley/server/socket_watchdog.h"
#include "parley/server/store_factory.h"
#include "parley/server/store_validation.h"
#include "parley/server/username.h"

namespace parley::server {

namespace detail {
struct PostgresConnection {
  explicit PostgresConnection(const std::string& url) : db(url) {}
  pqxx::connection db;
};
}  // namespace detail

namespace {

// Schema migrations, applied in order inside one transaction at open; the database
// keeps one row per applied migration in schema_version. Never edit a migration that
// has shipped: add the next one. Same numbering and meaning as SqliteStore's.
//
// Accounts are referenced by id, not by name, so that a deleted name registered
// again is a new person (see SqliteStore). Text is compared and sorted bytewise
// (COLLATE "C"), as SQLite does, whatever the database's locale.
struct Migration {
  int version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE accounts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  who_may_call SMALLINT NOT NULL CHECK (who_may_call BETWEEN 0 AND 2),
  p2p_with SMALLINT NOT NULL CHECK (p2p_with BETWEEN 0 AND 2),
  created_unix_ms BIGINT NOT NULL
);
CREATE TABLE devices (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  identity_key BYTEA NOT NULL CHECK (octet_length(identity_key) = 32),
  UNIQUE (account_id, name)
);
CREATE TABLE contacts (
  owner_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  contact_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  PRIMARY KEY (owner_id, contact_id)
);
CREATE INDEX contacts_by_contact ON contacts(contact_id);
CREATE TABLE blocks (
  owner_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  blocked_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  PRIMARY KEY (owner_id, blocked_id)
);
CREATE INDEX blocks_by_blocked ON blocks(blocked_id);
CREATE TABLE call_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id TEXT COLLATE "C" NOT NULL UNIQUE,
  caller TEXT COLLATE "C" NOT NULL,
  callee TEXT COLLATE "C" NOT NULL,
  caller_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
  callee_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
  started_unix_ms BIGINT NOT NULL,
  answered_unix_ms BIGINT NOT NULL,
  ended_unix_ms BIGINT NOT NULL,
  outcome SMALLINT NOT NULL CHECK (outcome BETWEEN 0 AND 5)
);
CREATE INDEX call_log_by_caller ON call_log(caller_id, started_unix_ms);
CREATE INDEX call_log_by_callee ON call_log(callee_id, started_unix_ms);
CREATE TABLE missed_calls (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  callee_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  call_id TEXT COLLATE "C" NOT NULL,
  caller TEXT COLLATE "C" NOT NULL,
  callee TEXT COLLATE "C" NOT NULL,
  started_unix_ms BIGINT NOT NULL,
  answered_unix_ms BIGINT NOT NULL,
  ended_unix_ms BIGINT NOT NULL,
  outcome SMALLINT NOT NULL CHECK (outcome BETWEEN 0 AND 5),
  UNIQUE (callee_id, call_id)
);
)sql"},
    // App invites (docs/protocol.md, "Web app and invites"): only the keyed hash.
    {2, R"sql(
CREATE TABLE app_invites (
  hash BYTEA PRIMARY KEY CHECK (octet_length(hash) = 32),
  created_by TEXT COLLATE "C" NOT NULL,
  created_unix_ms BIGINT NOT NULL,
  revoked_unix_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX app_invites_by_creator ON app_invites(created_by, created_unix_ms);
)sql"},
};
static_assert(std::size(kMigrations) == PostgresStore::kLatestSchemaVersion);

// pg_advisory_xact_lock key for migrations: "parley" in ASCII, so an operator who
// sees it in pg_locks can tell whose it is.
constexpr int64_t kMigrationLockKey = 0x7061726c6579;

// The first line of a libpq/libpqxx message, without "ERROR:  " and trailing space.
std::string FirstLine(const char* what) {
  std::string text = what;
  if (text.rfind("ERROR:", 0) == 0) text.erase(0, 6);
  text.erase(0, std::min(text.find_first_not_of(" \t"), text.size()));
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

Error Damaged(const std::string& where, const std::string& what) {
  return Error{"the database " + where + " holds " + what +
               " that this parleyd does not understand: it may be damaged or written by a newer "
               "parleyd; restore a backup or upgrade parleyd"};
}

pqxx::binarystring Bytes(const std::array<uint8_t, 32>& bytes) {
  return pqxx::binarystring(bytes.data(), bytes.size());
}

// Copies a bytea of exactly 32 bytes; false if it has another size.
bool ReadKey(const pqxx::field& field, std::array<uint8_t, 32>& out) {
  const pqxx::binarystring bytes(field);
  if (bytes.size() != out.size()) return false;
  std::memcpy(out.data(), bytes.data(), out.size());
  return true;
}

// The account's id, nullopt if there is none. `lock` (inside writes) takes FOR KEY
// SHARE, so the account cannot be deleted before this transaction ends. A name that
// PostgreSQL could not store cannot belong to an account.
std::optional<int64_t> FindAccountId(pqxx::transaction_base& tx, const std::string& user, bool lock) {
  if (!IsStorableText(user)) return std::nullopt;
  const pqxx::result r =
      lock ? tx.exec_params("SELECT id FROM accounts WHERE name = $1 FOR KEY SHARE", user)
           : tx.exec_params("SELECT id FROM accounts WHERE name = $1", user);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

// Rows of call_log or missed_calls in the column order call_id, caller, callee,
// started, answered, ended, outcome (from column `first`).
Result<CallLogEntry> ReadEntry(const pqxx::row& row, int first, const std::string& where) {
  const auto outcome = OutcomeFromCode(row[first + 6].as<int64_t>());
  if (!outcome) return Damaged(where, "a call outcome");
  return CallLogEntry{row[first].as<std::string>(),     row[first + 1].as<std::string>(),
                      row[first + 2].as<std::string>(), row[first + 3].as<int64_t>(),
                      row[first + 4].as<int64_t>(),     row[first + 5].as<int64_t>(),
                      *outcome};
}

constexpr const char* kCountSql =
    "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM devices), "
    "(SELECT count(*) FROM contacts), (SELECT count(*) FROM blocks), "
    "(SELECT count(*) FROM call_log), (SELECT count(*) FROM missed_calls), "
    "(SELECT count(*) FROM app_invites)";

void AppendConninfo(std::string& out, const char* keyword, const std::string& value) {
  out += keyword;
  out += "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += "' ";
}

// libpq's keyword='value' form of `url`, with connect_timeout, statement_timeout and
// lock_timeout from `defaults` wherever the URL does not set them (statement_timeout
// and lock_timeout go into the session's startup options, "-c name=value").
std::string WithTimeoutDefaults(const std::string& url, const PostgresTimeouts& defaults) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {  // connecting reports it in its own words
    PQfreemem(error);
    return url;
  }
  std::string out;
  std::string server_options;
  bool has_connect_timeout = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string keyword = o->keyword;
    if (keyword == "options") {
      server_options = o->val;
      continue;
    }
    if (keyword == "connect_timeout") has_connect_timeout = true;
    AppendConninfo(out, o->keyword, o->val);
  }
  PQconninfoFree(options);
  if (!has_connect_timeout) AppendConninfo(out, "connect_timeout", std::to_string(defaults.connect_timeout_s));
  if (server_options.find("statement_timeout") == std::string::npos) {
    server_options += " -c statement_timeout=" + std::to_string(defaults.statement_timeout.count());
  }
  if (server_options.find("lock_timeout") == std::string::npos) {
    server_options += " -c lock_timeout=" + std::to_string(defaults.lock_timeout.count());
  }
  AppendConninfo(out, "options", server_options);
  return out;
}

// True if an idle connection's socket is readable or closed: PostgreSQL sent a notice
// of its end (ErrorResponse FATAL, then EOF), or the socket is gone.
bool LooksClosed(int fd) {
  if (fd < 0) return true;
  pollfd poll_fd{fd, POLLIN, 0};
  return poll(&poll_fd, 1, 0) != 0;
}

std::string Millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// Arms `watchdog` on `fd` for its scope (if there is a deadline); sets *fired if the
// deadline passed and the socket was shut down. Declared before the transaction it
// guards, so the transaction's own ROLLBACK on the way out is guarded too.
class ArmedWatchdog {
 public:
  ArmedWatchdog(SocketWatchdog& watchdog, int fd, std::optional<TimePoint> deadline, bool* fired)
      : watchdog_(watchdog), armed_(deadline.has_value() && fd >= 0), fired_(fired) {
    if (armed_) watchdog_.Arm(fd, *deadline);
  }
  ~ArmedWatchdog() {
    if (armed_ && watchdog_.Disarm()) *fired_ = true;
  }
  ArmedWatchdog(const ArmedWatchdog&) = delete;
  ArmedWatchdog& operator=(const ArmedWatchdog&) = delete;

 private:
  SocketWatchdog& watchdog_;
  bool armed_;
  bool* fired_;
};

CommunityCounts CountsFromRow(const pqxx::row& row) {
  return CommunityCounts{row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>(),
                         row[3].as<int64_t>(), row[4].as<int64_t>(), row[5].as<int64_t>(),
                         row[6].as<int64_t>()};
}

}  // namespace

// --- Connection, transactions, errors ---

PostgresStore::PostgresStore(std::string url, std::string description, PostgresTimeouts timeouts)
    : url_(std::move(url)),
      description_(std::move(description)),
      timeouts_(timeouts),
      breaker_(timeouts.retry),
      watchdog_(std::make_unique<SocketWatchdog>()) {}

PostgresStore::~PostgresStore() {
  // The connection's socket must close before the watchdog that might shut it down goes.
  connection_.reset();
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url, PostgresTimeouts timeouts) {
  std::unique_ptr<PostgresStore> store(
      new PostgresStore(WithTimeoutDefaults(url, timeouts), RedactStoreUrl(url), timeouts));
  if (auto connected = store->Connect(); !connected.ok()) return connected.error();
  if (auto migrated = store->Migrate(); !migrated.ok()) return migrated.error();
  return store;
}

std::optional<TimePoint> PostgresStore::AnswerDeadline(Patience patience) const {
  if (patience == Patience::kBulk || timeouts_.statement_timeout.count() <= 0) return std::nullopt;
  return std::chrono::steady_clock::now() + timeouts_.statement_timeout + timeouts_.answer_grace;
}

Status PostgresStore::Connect() {
  connection_.reset();
  drop_connection_ = false;
  bool fired = false;
  try {
    auto connection = std::make_unique<detail::PostgresConnection>(url_);
    {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeouts_.connect_timeout_s);
      ArmedWatchdog armed(*watchdog_, connection->db.sock(), deadline, &fired);
      // IF NOT EXISTS and the like would print NOTICE lines on parleyd's stderr.
      pqxx::nontransaction quiet(connection->db);
      quiet.exec("SET client_min_messages TO warning");
      // The timeouts the session really has (the URL may set its own), for the
      // watchdog's deadline and for the error sentences.
      const pqxx::row row = quiet.exec(
          "SELECT (SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'), "
          "(SELECT setting::bigint FROM pg_settings WHERE name = 'lock_timeout')")[0];
      timeouts_.statement_timeout = std::chrono::milliseconds(row[0].as<int64_t>());
      timeouts_.lock_timeout = std::chrono::milliseconds(row[1].as<int64_t>());
    }
    if (fired) throw pqxx::broken_connection("the server did not answer after the connection was made");
    connection_ = std::move(connection);
    return Ok{};
  } catch (const std::exception& e) {
    return Error{"cannot connect to the PostgreSQL database " + description_ + " (" + FirstLine(e.what()) +
                 "): check the store URL, that PostgreSQL is running and reachable, and that it "
                 "accepts this user"};
  }
}

template <typename T, typename Body>
Result<T> PostgresStore::InTransaction(const char* doing, Body&& body, Patience patience) {
  return Run<pqxx::work, T>(doing, std::forward<Body>(body), patience);
}

template <typename T, typename Body>
Result<T> PostgresStore::InOneRead(const char* doing, Body&& body) {
  return Run<pqxx::nontransaction, T>(doing, std::forward<Body>(body), Patience::kInteractive);
}

template <typename Transaction, typename T, typename Body>
Result<T> PostgresStore::Run(const char* doing, Body&& body, Patience patience) {
  // kBulk's SET LOCAL lasts to the end of a transaction: outside one (a
  // nontransaction) PostgreSQL ignores it and the bulk work would hit the timeouts.
  PARLEY_CHECK_MSG(patience != Patience::kBulk || (std::is_same_v<Transaction, pqxx::work>),
                   "a bulk store operation must run in a transaction");
  using Clock = std::chrono::steady_clock;
  const std::string what = doing;
  const std::string nothing_stored = " (nothing of this change was stored)";
  const TimePoint started = Clock::now();
  if (!breaker_.MayTry(started)) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(breaker_.retry_at() - started);
    return Error{"the PostgreSQL database " + description_ + " is unavailable while " + what +
                 ": it did not answer a moment ago and parleyd tries it again in " + Millis(wait) +
                 "; check that PostgreSQL is running and reachable" + nothing_stored};
  }
  // The server stopped answering: every wait on it would end the same way, so this
  // call gives up now and the breaker keeps the next calls from waiting too.
  auto no_answer = [&](const std::string& outcome) {
    breaker_.OnFailure(Clock::now());
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    return Error{"the PostgreSQL database " + description_ + " did not answer within " + Millis(waited) +
                 " while " + what + " (it is stopped, overloaded or unreachable): check PostgreSQL, then retry" +
                 outcome};
  };
  if (drop_connection_) connection_.reset();  // the watchdog fired after the last call had its answer
  // Between transactions the server sends nothing unless it is closing the connection
  // (a restart, a terminated backend): reconnect now rather than fail a BEGIN on it
  // (which also leaves a PGresult of libpq's behind, see tests/server/libpq.lsan.supp).
  if (connection_ && LooksClosed(connection_->db.sock())) connection_.reset();
  for (int attempt = 0;; ++attempt) {
    const bool may_retry = attempt == 0;
    if (!connection_) {
      const TimePoint connecting = Clock::now();
      if (auto connected = Connect(); !connected.ok()) {
        // A refusal is quick and costs the next call nothing; a connect that waited
        // out connect_timeout would cost every call as much again.
        const bool waited = Clock::now() - connecting >= std::chrono::seconds(1);
        if (waited) breaker_.OnFailure(Clock::now());
        return Error{"lost the connection to the PostgreSQL database " + description_ + " while " + what +
                     " and could not reconnect" + (waited ? " within connect_timeout" : "") +
                     ": check that PostgreSQL is running and reachable, then retry" + nothing_stored};
      }
    }
    drop_connection_ = false;
    try {
      ArmedWatchdog armed(*watchdog_, connection_->db.sock(), AnswerDeadline(patience), &drop_connection_);
      Transaction tx(connection_->db);
      if (patience == Patience::kBulk) {
        tx.exec("SET LOCAL statement_timeout = 0");
        tx.exec("SET LOCAL lock_timeout = '60s'");
      }
      Result<T> result = body(tx);
      breaker_.OnSuccess();  // it answered, whatever it said
      if (!result.ok()) return result;  // the transaction aborts as it goes out of scope
      tx.commit();  // nothing to send for a nontransaction
      return result;
    } catch (const pqxx::in_doubt_error&) {
      connection_.reset();
      if (std::exchange(drop_connection_, false)) {
        return no_answer(", so whether it was stored is unknown: check it");
      }
      return Error{"the connection to the PostgreSQL database " + description_ + " broke while committing " +
                   what + ", so whether it was stored is unknown: check, then retry"};
    } catch (const pqxx::statement_completion_unknown&) {
      connection_.reset();
      if (std::exchange(drop_connection_, false)) {
        return no_answer(", so whether it was stored is unknown: check it");
      }
      return Error{"the connection to the PostgreSQL database " + description_ + " broke while " + what +
                   ", so whether it was stored is unknown: check, then retry"};
    } catch (const pqxx::broken_connection& e) {
      connection_.reset();
      if (std::exchange(drop_connection_, false)) return no_answer(nothing_stored);
      if (may_retry) continue;  // the server rolled the transaction back
      return Error{"lost the connection to the PostgreSQL database " + description_ + " while " + what + " (" +
                   FirstLine(e.what()) + "): check that PostgreSQL is running and reachable, then retry" +
                   nothing_stored};
    } catch (const pqxx::transaction_rollback& e) {
      if (may_retry) continue;  // a deadlock or serialization failure: once more
      return Error{"the PostgreSQL database " + description_ + " was busy with conflicting changes while " +
                   what + " (" + FirstLine(e.what()) + "): retry" + nothing_stored};
    } catch (const pqxx::sql_error& e) {
      const std::string state = e.sqlstate();
      if (std::exchange(drop_connection_, false)) {
        connection_.reset();
        return no_answer(nothing_stored);
      }
      // Class 08 (connection exception) and 57P (operator intervention: shutdown,
      // crash of a backend) leave this connection unusable.
      if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
        connection_.reset();
        if (may_retry) continue;
        return Error{"lost the connection to the PostgreSQL database " + description_ + " while " + what +
                     " (" + FirstLine(e.what()) + "): check that PostgreSQL is running, then retry" +
                     nothing_stored};
      }
      if (state == "55P03") {  // lock_not_available: lock_timeout ran out
        return Error{"the PostgreSQL database " + description_ + " is busy: what " + what +
                     " needs stayed locked by another session for longer than lock_timeout (" +
                     Millis(timeouts_.lock_timeout) +
                     "): retry, and if it persists look for a long transaction in pg_stat_activity" +
                     nothing_stored};
      }
      if (state == "57014") {  // query_canceled: statement_timeout ran out (or an operator cancelled it)
        return Error{"the PostgreSQL database " + description_ + " is busy: " + what +
                     " took longer than statement_timeout (" + Millis(timeouts_.statement_timeout) +
                     ") or was cancelled: retry, and if it persists check the server's load" + nothing_stored};
      }
      if (state == "53100") {
        return Error{"the disk of the PostgreSQL server holding " + description_ + " is full while " + what +
                     ": free space there and retry" + nothing_stored};
      }
      if (state == "42501") {
        return Error{"the PostgreSQL user may not do what parleyd needs while " + what + " (" +
                     FirstLine(e.what()) + "): make it the owner of the database " + description_};
      }
      return Error{"the PostgreSQL store failed while " + what + " (" + FirstLine(e.what()) + ", SQLSTATE " +
                   state + "): report this as a parleyd bug" + nothing_stored};
    } catch (const std::exception& e) {
      const bool timed_out = std::exchange(drop_connection_, false);
      const bool lost = timed_out || !connection_->db.is_open();
      if (lost) connection_.reset();
      if (timed_out) return no_answer(nothing_stored);
      if (lost && may_retry) continue;
      return Error{"the PostgreSQL store failed while " + what + " (" + FirstLine(e.what()) +
                   "): check PostgreSQL's log, then retry" + nothing_stored};
    }
  }
}

Status PostgresStore::Migrate() {
  const std::string where = description_;
  return InTransaction<Ok>("applying schema migrations", [&](pqxx::work& tx) -> Status {
    // Held until this transaction ends: a second node opening the database now waits
    // here, then finds the migrations applied.
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    const int64_t version = tx.exec("SELECT coalesce(max(version), 0) FROM schema_version")[0][0].as<int64_t>();
    if (version > kLatestSchemaVersion || version < 0) {
      return Error{"the database " + where + " has schema version " + std::to_string(version) +
                   ", newer than this parleyd knows (" + std::to_string(kLatestSchemaVersion) +
                   "): run a newer parleyd, or restore a backup made by this one"};
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= version) continue;
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_version (version) VALUES ($1)", m.version);
    }
    return Ok{};
  }, Patience::kBulk);
}

Result<int> PostgresStore::SchemaVersion() {
  return InOneRead<int>("reading the schema version", [&](pqxx::transaction_base& tx) -> Result<int> {
    return static_cast<int>(
        tx.exec("SELECT coalesce(max(version), 0) FROM schema_version")[0][0].as<int64_t>());
  });
}

// --- Accounts ---

Status PostgresStore::CreateAccount(const std::string& user, const DeviceRecord& first_device,
                                    int64_t now_unix_ms) {
  if (auto valid = ValidateUsername(user); !valid.ok()) return valid;
  if (auto valid = ValidateDevice(first_device); !valid.ok()) return valid;
  return InTransaction<Ok>("creating an account", [&](pqxx::work& tx) -> Status {
    const AccountRecord defaults;
    // A concurrent creation of the same name waits for the other to commit, then
    // does nothing: the unique constraint decides, not an earlier read.
    const pqxx::result r = tx.exec_params(
        "INSERT INTO accounts (name, who_may_call, p2p_with, created_unix_ms) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (name) DO NOTHING RETURNING id",
        user, AudienceCode(defaults.who_may_call), AudienceCode(defaults.p2p_with), now_unix_ms);
    if (r.empty()) return Error{"username " + QuoteUntrusted(user) + " is taken: choose another"};
    tx.exec_params("INSERT INTO devices (account_id, name, identity_key) VALUES ($1, $2, $3)",
                   r[0][0].as<int64_t>(), first_device.device, Bytes(first_device.identity_key));
    return Ok{};
  });
}

Result<std::optional<AccountRecord>> PostgresStore::FindAccount(const std::string& user) {
  using Found = std::optional<AccountRecord>;
  return InOneRead<Found>("looking up an account", [&](pqxx::transaction_base& tx) -> Result<Found> {
    if (!IsStorableText(user)) return Found();
    // The account and its devices in one statement: one round trip, one snapshot.
    const pqxx::result r = tx.exec_params(
        "SELECT a.who_may_call, a.p2p_with, a.created_unix_ms, d.name, d.identity_key "
        "FROM accounts a LEFT JOIN devices d ON d.account_id = a.id WHERE a.name = $1 ORDER BY d.id",
        user);
    if (r.empty()) return Found();
    AccountRecord account;
    const auto who = AudienceFromCode(r[0][0].as<int64_t>());
    const auto p2p = AudienceFromCode(r[0][1].as<int64_t>());
    if (!who || !p2p) return Damaged(description_, "a privacy setting");
    account.user = user;
    account.who_may_call = *who;
    account.p2p_with = *p2p;
    account.created_unix_ms = r[0][2].as<int64_t>();
    for (const auto& row : r) {
      if (row[3].is_null()) continue;  // an account without devices: the one row has none
      DeviceRecord device;
      device.device = row[3].as<std::string>();
      if (!ReadKey(row[4], device.identity_key)) return Damaged(description_, "an identity key");
      account.devices.push_back(std::move(device));
    }
    return Found(std::move(account));
  });
}

Status PostgresStore::AddDevice(const std::string& user, const DeviceRecord& device) {
  if (auto valid = ValidateDevice(device); !valid.ok()) return valid;
  return InTransaction<Ok>("adding a device", [&](pqxx::work& tx) -> Status {
    const auto id = FindAccountId(tx, user, /*lock=*/true);
    if (!id) return NoAccountError(user);
    const pqxx::result r = tx.exec_params(
        "INSERT INTO devices (account_id, name, identity_key) VALUES ($1, $2, $3) "
        "ON CONFLICT (account_id, name) DO NOTHING",
        *id, device.device, Bytes(device.identity_key));
    if (r.affected_rows() == 0) {
      return Error{QuoteUntrusted(user) + " already has a device named " + QuoteUntrusted(device.device) +
                   ": choose another device name"};
    }
    return Ok{};
  });
}

Status PostgresStore::DeleteAccount(const std::string& user) {
  return InTransaction<Ok>("deleting an account", [&](pqxx::work& tx) -> Status {
    const auto id = FindAccountId(tx, user, /*lock=*/false);
    if (!id) return NoAccountError(user);
    // A log row that no account could see any more is of no use to anyone: those
    // whose other side is already unlinked (or is this account too) go first...
    tx.exec_params(
        "DELETE FROM call_log WHERE (caller_id = $1 AND (callee_id IS NULL OR callee_id = $1)) "
        "OR (callee_id = $1 AND caller_id IS NULL)",
        *id);
    // ...then cascades take devices, contacts and blocks both ways and its missed
    // calls; the rest of the call log keeps the name but forgets the account.
    const pqxx::result r = tx.exec_params("DELETE FROM accounts WHERE id = $1", *id);
    if (r.affected_rows() == 0) return NoAccountError(user);  // deleted meanwhile by another node
    return Ok{};
  });
}

Status PostgresStore::SetPrivacy(const std::string& user, Audience who_may_call, Audience p2p_with) {
  if (AudienceCode(who_may_call) < 0 || AudienceCode(p2p_with) < 0) {
    return Error{"unknown privacy setting for " + QuoteUntrusted(user) + ": use everyone, contacts or nobody"};
  }
  return InTransaction<Ok>("changing privacy settings", [&](pqxx::work& tx) -> Status {
    if (!IsStorableText(user)) return NoAccountError(user);
    const pqxx::result r =
        tx.exec_params("UPDATE accounts SET who_may_call = $2, p2p_with = $3 WHERE name = $1", user,
                       AudienceCode(who_may_call), AudienceCode(p2p_with));
    if (r.affected_rows() == 0) return NoAccountError(user);
    return Ok{};
  });
}

// --- Contacts and blocks ---

struct detail::PostgresPairTable {
  const char* noun;        // "contact" / "block"
  const char* self_error;  // after the quoted owner
  const char* adding;
  const char* removing;
  const char* listing;
  const char* checking;
  const char* insert;  // $1 owner id, $2 other id
  const char* remove;  // $1 owner id, $2 other id
  // $1 owner name: no row if there is no such account, else one row per other name
  // in order, or one NULL row if there is none.
  const char* list;
  // $1 owner name, $2 other name: one row (owner exists, pair exists).
  const char* has;
};

namespace {
const detail::PostgresPairTable kContacts{
    "contact",
    "cannot list themselves as a contact",
    "adding a contact",
    "removing a contact",
    "listing contacts",
    "checking a contact",
    "INSERT INTO contacts (owner_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    "DELETE FROM contacts WHERE owner_id = $1 AND contact_id = $2",
    "SELECT a.name FROM accounts o LEFT JOIN contacts c ON c.owner_id = o.id "
    "LEFT JOIN accounts a ON a.id = c.contact_id WHERE o.name = $1 ORDER BY a.name",
    "SELECT EXISTS (SELECT 1 FROM accounts WHERE name = $1), "
    "EXISTS (SELECT 1 FROM contacts c JOIN accounts o ON o.id = c.owner_id "
    "JOIN accounts x ON x.id = c.contact_id WHERE o.name = $1 AND x.name = $2)",
};
const detail::PostgresPairTable kBlocks{
    "block",
    "cannot block themselves",
    "blocking a user",
    "unblocking a user",
    "listing blocked users",
    "checking a block",
    "INSERT INTO blocks (owner_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    "DELETE FROM blocks WHERE owner_id = $1 AND blocked_id = $2",
    "SELECT a.name FROM accounts o LEFT JOIN blocks b ON b.owner_id = o.id "
    "LEFT JOIN accounts a ON a.id = b.blocked_id WHERE o.name = $1 ORDER BY a.name",
    "SELECT EXISTS (SELECT 1 FROM accounts WHERE name = $1), "
    "EXISTS (SELECT 1 FROM blocks b JOIN accounts o ON o.id = b.owner_id "
    "JOIN accounts x ON x.id = b.blocked_id WHERE o.name = $1 AND x.name = $2)",
};
}  // namespace

Status PostgresStore::AddPair(const PairTable& table, const std::string& owner, const std::string& other) {
  if (owner == other) return Error{QuoteUntrusted(owner) + " " + table.self_error};
  return InTransaction<Ok>(table.adding, [&](pqxx::work& tx) -> Status {
    // Both locked FOR KEY SHARE: a concurrent DeleteAccount of either waits for us.
    const auto owner_id = FindAccountId(tx, owner, /*lock=*/true);
    if (!owner_id) return NoAccountError(owner);
    const auto other_id = FindAccountId(tx, other, /*lock=*/true);
    if (!other_id) {
      return Error{"cannot add a " + std::string(table.noun) + " for " + QuoteUntrusted(owner) + ": " +
                   NoAccountError(other).message};
    }
    tx.exec_params(table.insert, *owner_id, *other_id);
    return Ok{};
  });
}

Status PostgresStore::RemovePair(const PairTable& table, const std::string& owner, const std::string& other) {
  return InTransaction<Ok>(table.removing, [&](pqxx::work& tx) -> Status {
    const auto owner_id = FindAccountId(tx, owner, /*lock=*/false);
    if (!owner_id) return NoAccountError(owner);
    const auto other_id = FindAccountId(tx, other, /*lock=*/false);
    if (!other_id) return Ok{};  // nothing can point at an account that does not exist
    tx.exec_params(table.remove, *owner_id, *other_id);
    return Ok{};
  });
}

Result<std::vector<std::string>> PostgresStore::ListPairs(const PairTable& table, const std::string& owner) {
  using Names = std::vector<std::string>;
  return InOneRead<Names>(table.listing, [&](pqxx::transaction_base& tx) -> Result<Names> {
    if (!IsStorableText(owner)) return NoAccountError(owner);
    const pqxx::result r = tx.exec_params(table.list, owner);
    if (r.empty()) return NoAccountError(owner);
    Names names;
    for (const auto& row : r) {
      if (!row[0].is_null()) names.push_back(row[0].as<std::string>());
    }
    return names;
  });
}

Result<bool> PostgresStore::HasPair(const PairTable& table, const std::string& owner, const std::string& other) {
  return InOneRead<bool>(table.checking, [&](pqxx::transaction_base& tx) -> Result<bool> {
    if (!IsStorableText(owner)) return NoAccountError(owner);
    if (!IsStorableText(other)) {  // no account has that name, so no pair either
      if (!FindAccountId(tx, owner, /*lock=*/false)) return NoAccountError(owner);
      return false;
    }
    const pqxx::row row = tx.exec_params(table.has, owner, other)[0];
    if (!row[0].as<bool>()) return NoAccountError(owner);
    return row[1].as<bool>();
  });
}

Status PostgresStore::AddContact(const std::string& owner, const std::string& contact) {
  return AddPair(kContacts, owner, contact);
}
Status PostgresStore::RemoveContact(const std::string& owner, const std::string& contact) {
  return RemovePair(kContacts, owner, contact);
}
Result<std::vector<std::string>> PostgresStore::Contacts(const std::string& owner) {
  return ListPairs(kContacts, owner);
}
Result<bool> PostgresStore::IsContact(const std::string& owner, const std::string& contact) {
  return HasPair(kContacts, owner, contact);
}
Status PostgresStore::Block(const std::string& owner, const std::string& blocked) {
  return AddPair(kBlocks, owner, blocked);
}
Status PostgresStore::Unblock(const std::string& owner, const std::string& blocked) {
  return RemovePair(kBlocks, owner, blocked);
}
Result<std::vector<std::string>> PostgresStore::BlockList(const std::string& owner) {
  return ListPairs(kBlocks, owner);
}
Result<bool> PostgresStore::IsBlocked(const std::string& owner, const std::string& blocked) {
  return HasPair(kBlocks, owner, blocked);
}

// --- Call log and missed calls ---

Status PostgresStore::RecordCall(const CallLogEntry& entry) {
  if (auto valid = ValidateCallLogEntry(entry); !valid.ok()) return valid;
  return InTransaction<Ok>("recording a call", [&](pqxx::work& tx) -> Status {
    const auto caller_id = FindAccountId(tx, entry.caller, /*lock=*/true);
    const auto callee_id = FindAccountId(tx, entry.callee, /*lock=*/true);
    if (!caller_id && !callee_id) {
      return Error{"neither " + QuoteUntrusted(entry.caller) + " nor " + QuoteUntrusted(entry.callee) +
                   " has an account, so call " + QuoteUntrusted(entry.call_id) + " was not logged"};
    }
    // Account ids start at 1, so 0 stands for "no account" (NULL).
    const pqxx::result r = tx.exec_params(
        "INSERT INTO call_log (call_id, caller, callee, caller_id, callee_id, started_unix_ms, "
        "answered_unix_ms, ended_unix_ms, outcome) "
        "VALUES ($1, $2, $3, NULLIF($4::bigint, 0), NULLIF($5::bigint, 0), $6, $7, $8, $9) "
        "ON CONFLICT (call_id) DO NOTHING",
        entry.call_id, entry.caller, entry.callee, caller_id.value_or(0), callee_id.value_or(0),
        entry.started_unix_ms, entry.answered_unix_ms, entry.ended_unix_ms, OutcomeCode(entry.outcome));
    if (r.affected_rows() == 0) {
      return Error{"call " + QuoteUntrusted(entry.call_id) + " is already in the call log"};
    }
    return Ok{};
  });
}

Result<std::vector<CallLogEntry>> PostgresStore::CallHistory(const std::string& user, int limit) {
  if (limit <= 0) {
    return Error{"the call history limit is " + std::to_string(limit) + ": ask for at least one entry"};
  }
  using Entries = std::vector<CallLogEntry>;
  return InOneRead<Entries>("reading the call log", [&](pqxx::transaction_base& tx) -> Result<Entries> {
    if (!IsStorableText(user)) return NoAccountError(user);
    // No row: no such account; one row with a NULL call_id: an account without calls.
    const pqxx::result r = tx.exec_params(
        "SELECT l.call_id, l.caller, l.callee, l.started_unix_ms, l.answered_unix_ms, l.ended_unix_ms, "
        "l.outcome FROM accounts o LEFT JOIN LATERAL ("
        "SELECT id, call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, outcome "
        "FROM call_log WHERE caller_id = o.id OR callee_id = o.id "
        "ORDER BY started_unix_ms DESC, id DESC LIMIT $2) l ON true "
        "WHERE o.name = $1 ORDER BY l.started_unix_ms DESC, l.id DESC",
        user, limit);
    if (r.empty()) return NoAccountError(user);
    Entries entries;
    for (const auto& row : r) {
      if (row[0].is_null()) continue;
      auto entry = ReadEntry(row, 0, description_);
      if (!entry.ok()) return entry.error();
      entries.push_back(std::move(*entry));
    }
    return entries;
  });
}

Status PostgresStore::AddMissedCall(const std::string& callee, const CallLogEntry& entry) {
  CallLogEntry e = entry;
  if (e.callee.empty()) e.callee = callee;
  if (e.callee != callee) {
    return Error{"missed call " + QuoteUntrusted(e.call_id) + " is for " + QuoteUntrusted(e.callee) + ", not " +
                 QuoteUntrusted(callee)};
  }
  if (auto valid = ValidateCallLogEntry(e); !valid.ok()) return valid;
  return InTransaction<Ok>("saving a missed call", [&](pqxx::work& tx) -> Status {
    const auto id = FindAccountId(tx, callee, /*lock=*/true);
    if (!id) return NoAccountError(callee);
    // A repeated call id is the same missed call retried: keep one.
    tx.exec_params(
        "INSERT INTO missed_calls (callee_id, call_id, caller, callee, started_unix_ms, answered_unix_ms, "
        "ended_unix_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        *id, e.call_id, e.caller, e.callee, e.started_unix_ms, e.answered_unix_ms, e.ended_unix_ms,
        OutcomeCode(e.outcome));
    return Ok{};
  });
}

Result<std::vector<CallLogEntry>> PostgresStore::TakeMissedCalls(const std::string& callee) {
  using Entries = std::vector<CallLogEntry>;
  return InTransaction<Entries>("delivering missed calls", [&](pqxx::work& tx) -> Result<Entries> {
    const auto id = FindAccountId(tx, callee, /*lock=*/false);
    if (!id) return NoAccountError(callee);
    // One statement reads and removes: two nodes taking at once each get what the
    // other did not (the second waits on the row locks, then finds them gone).
    const pqxx::result r = tx.exec_params(
        "WITH taken AS (DELETE FROM missed_calls WHERE callee_id = $1 RETURNING id, call_id, caller, "
        "callee, started_unix_ms, answered_unix_ms, ended_unix_ms, outcome) "
        "SELECT call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, outcome "
        "FROM taken ORDER BY id",
        *id);
    Entries entries;
    for (const auto& row : r) {
      auto entry = ReadEntry(row, 0, description_);
      if (!entry.ok()) return entry.error();
      entries.push_back(std::move(*entry));
    }
    return entries;
  });
}

// --- App invites ---

Status PostgresStore::AddInvite(const InviteRecord& invite) {
  if (auto valid = ValidateInviteCreator(invite.created_by); !valid.ok()) return valid;
  return InTransaction<Ok>("adding an app invite", [&](pqxx::work& tx) -> Status {
    const pqxx::result r = tx.exec_params(
        "INSERT INTO app_invites (hash, created_by, created_unix_ms, revoked_unix_ms) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (hash) DO NOTHING",
        Bytes(invite.hash), invite.created_by, invite.created_unix_ms, invite.revoked_unix_ms);
    if (r.affected_rows() == 0) return Error{"this invite is already stored: make a new one"};
    return Ok{};
  });
}

Result<std::optional<InviteRecord>> PostgresStore::FindInvite(const std::array<uint8_t, 32>& hash) {
  using Found = std::optional<InviteRecord>;
  return InOneRead<Found>("looking up an app invite", [&](pqxx::transaction_base& tx) -> Result<Found> {
    const pqxx::result r = tx.exec_params(
        "SELECT created_by, created_unix_ms, revoked_unix_ms FROM app_invites WHERE hash = $1", Bytes(hash));
    if (r.empty()) return Found();
    return Found(InviteRecord{hash, r[0][0].as<std::string>(), r[0][1].as<int64_t>(), r[0][2].as<int64_t>()});
  });
}

Result<std::vector<InviteRecord>> PostgresStore::ListInvites() {
  using Invites = std::vector<InviteRecord>;
  return InOneRead<Invites>("listing app invites", [&](pqxx::transaction_base& tx) -> Result<Invites> {
    Invites out;
    const pqxx::result r = tx.exec(
        "SELECT hash, created_by, created_unix_ms, revoked_unix_ms FROM app_invites "
        "ORDER BY created_unix_ms, hash");
    for (const auto& row : r) {
      InviteRecord invite;
      if (!ReadKey(row[0], invite.hash)) return Damaged(description_, "an invite hash");
      invite.created_by = row[1].as<std::string>();
      invite.created_unix_ms = row[2].as<int64_t>();
      invite.revoked_unix_ms = row[3].as<int64_t>();
      out.push_back(std::move(invite));
    }
    return out;
  });
}

Result<bool> PostgresStore::RevokeInvite(const std::array<uint8_t, 32>& hash, int64_t now_unix_ms) {
  return InTransaction<bool>("revoking an app invite", [&](pqxx::work& tx) -> Result<bool> {
    const pqxx::result r = tx.exec_params(
        "UPDATE app_invites SET revoked_unix_ms = $2 WHERE hash = $1 AND revoked_unix_ms = 0", Bytes(hash),
        std::max<int64_t>(now_unix_ms, 1));
    return r.affected_rows() > 0;
  });
}

Result<int64_t> PostgresStore::CountInvitesBy(const std::string& user, int64_t since_unix_ms) {
  return InOneRead<int64_t>("counting app invites", [&](pqxx::transaction_base& tx) -> Result<int64_t> {
    if (!IsStorableText(user)) return int64_t{0};
    return tx
        .exec_params(
            "SELECT count(*) FROM app_invites WHERE created_by = $1 AND created_unix_ms >= $2 "
            "AND revoked_unix_ms = 0",
            user, since_unix_ms)[0][0]
        .as<int64_t>();
  });
}

// --- Moving a community ---

Result<CommunitySnapshot> PostgresStore::ExportCommunity() {
  return InTransaction<CommunitySnapshot>(
      "exporting the community", [&](pqxx::work& tx) -> Result<CommunitySnapshot> {
        // One snapshot of every table, however busy the other nodes are.
        tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
        CommunitySnapshot out;
        std::map<int64_t, size_t> index_of_account;
        for (const auto& row :
             tx.exec("SELECT id, name, who_may_call, p2p_with, created_unix_ms FROM accounts ORDER BY id")) {
          AccountRecord account;
          account.user = row[1].as<std::string>();
          const auto who = AudienceFromCode(row[2].as<int64_t>());
          const auto p2p = AudienceFromCode(row[3].as<int64_t>());
          if (!who || !p2p) return Damaged(description_, "a privacy setting");
          account.who_may_call = *who;
          account.p2p_with = *p2p;
          account.created_unix_ms = row[4].as<int64_t>();
          index_of_account[row[0].as<int64_t>()] = out.accounts.size();
          out.accounts.push_back(std::move(account));
        }
        for (const auto& row : tx.exec("SELECT account_id, name, identity_key FROM devices ORDER BY id")) {
          DeviceRecord device;
          device.device = row[1].as<std::string>();
          if (!ReadKey(row[2], device.identity_key)) return Damaged(description_, "an identity key");
          out.accounts[index_of_account.at(row[0].as<int64_t>())].devices.push_back(std::move(device));
        }
        for (const auto& row : tx.exec(
                 "SELECT o.name, c.name FROM contacts x JOIN accounts o ON o.id = x.owner_id "
                 "JOIN accounts c ON c.id = x.contact_id ORDER BY o.name, c.name")) {
          out.contacts.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
        }
        for (const auto& row : tx.exec(
                 "SELECT o.name, b.name FROM blocks x JOIN accounts o ON o.id = x.owner_id "
                 "JOIN accounts b ON b.id = x.blocked_id ORDER BY o.name, b.name")) {
          out.blocks.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
        }
        for (const auto& row : tx.exec(
                 "SELECT call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, outcome, "
                 "caller_id IS NOT NULL, callee_id IS NOT NULL FROM call_log ORDER BY id")) {
          auto entry = ReadEntry(row, 0, description_);
          if (!entry.ok()) return entry.error();
          out.call_log.push_back(LoggedCall{std::move(*entry), row[7].as<bool>(), row[8].as<bool>()});
        }
        for (const auto& row : tx.exec(
                 "SELECT call_id, caller, callee, started_unix_ms, answered_unix_ms, ended_unix_ms, outcome "
                 "FROM missed_calls ORDER BY id")) {
          auto entry = ReadEntry(row, 0, description_);
          if (!entry.ok()) return entry.error();
          out.missed_calls.push_back(std::move(*entry));
        }
        for (const auto& row : tx.exec(
                 "SELECT hash, created_by, created_unix_ms, revoked_unix_ms FROM app_invites "
                 "ORDER BY created_unix_ms, hash")) {
          InviteRecord invite;
          if (!ReadKey(row[0], invite.hash)) return Damaged(description_, "an invite hash");
          invite.created_by = row[1].as<std::string>();
          invite.created_unix_ms = row[2].as<int64_t>();
          invite.revoked_unix_ms = row[3].as<int64_t>();
          out.invites.push_back(std::move(invite));
        }
        return out;
      }, Patience::kBulk);
}

Status PostgresStore::ImportCommunity(const CommunitySnapshot& snapshot) {
  if (auto valid = ValidateSnapshot(snapshot); !valid.ok()) return valid;
  return InTransaction<Ok>("importing the community", [&](pqxx::work& tx) -> Status {
    // Nobody else may write while we fill the tables: the count check below must see
    // only what this transaction wrote.
    tx.exec("LOCK TABLE accounts, devices, contacts, blocks, call_log, missed_calls, app_invites "
            "IN SHARE ROW EXCLUSIVE MODE");
    const int64_t existing = tx.exec("SELECT count(*) FROM accounts")[0][0].as<int64_t>();
    if (existing > 0) return DestinationNotEmptyError(description_, existing);
    std::map<std::string, int64_t> id_of;
    for (const AccountRecord& account : snapshot.accounts) {
      const int64_t id = tx.exec_params(
                               "INSERT INTO accounts (name, who_may_call, p2p_with, created_unix_ms) "
                               "VALUES ($1, $2, $3, $4) RETURNING id",
                               account.user, AudienceCode(account.who_may_call), AudienceCode(account.p2p_with),
                               account.created_unix_ms)[0][0]
                               .as<int64_t>();
      id_of[account.user] = id;
      for (const DeviceRecord& device : account.devices) {
        tx.exec_params("INSERT INTO devices (account_id, name, identity_key) VALUES ($1, $2, $3)", id,
                       device.device, Bytes(device.identity_key));
      }
    }
    for (const auto& [owner, contact] : snapshot.contacts) {
      tx.exec_params("INSERT INTO contacts (owner_id, contact_id) VALUES ($1, $2)", id_of.at(owner),
                     id_of.at(contact));
    }
    for (const auto& [owner, blocked] : snapshot.blocks) {
      tx.exec_params("INSERT INTO blocks (owner_id, blocked_id) VALUES ($1, $2)", id_of.at(owner),
                     id_of.at(blocked));
    }
    for (const LoggedCall& call : snapshot.call_log) {
      const CallLogEntry& e = call.entry;
      tx.exec_params(
          "INSERT INTO call_log (call_id, caller, callee, caller_id, callee_id, started_unix_ms, "
          "answered_unix_ms, ended_unix_ms, outcome) "
          "VALUES ($1, $2, $3, NULLIF($4::bigint, 0), NULLIF($5::bigint, 0), $6, $7, $8, $9)",
          e.call_id, e.caller, e.callee, call.caller_linked ? id_of.at(e.caller) : 0,
          call.callee_linked ? id_of.at(e.callee) : 0, e.started_unix_ms, e.answered_unix_ms, e.ended_unix_ms,
          OutcomeCode(e.outcome));
    }
    for (const CallLogEntry& e : snapshot.missed_calls) {
      tx.exec_params(
          "INSERT INTO missed_calls (callee_id, call_id, caller, callee, started_unix_ms, answered_unix_ms, "
          "ended_unix_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          id_of.at(e.callee), e.call_id, e.caller, e.callee, e.started_unix_ms, e.answered_unix_ms,
          e.ended_unix_ms, OutcomeCode(e.outcome));
    }
    for (const InviteRecord& invite : snapshot.invites) {
      tx.exec_params(
          "INSERT INTO app_invites (hash, created_by, created_unix_ms, revoked_unix_ms) VALUES ($1, $2, $3, $4)",
          Bytes(invite.hash), invite.created_by, invite.created_unix_ms, invite.revoked_unix_ms);
    }
    const CommunityCounts stored = CountsFromRow(tx.exec(kCountSql)[0]);
    if (stored != CountsOf(snapshot)) return CountsDifferError(description_, CountsOf(snapshot), stored);
    return Ok{};
  }, Patience::kBulk);
}

Result<CommunityCounts> PostgresStore::CountCommunity() {
  return InTransaction<CommunityCounts>("counting the community", [&](pqxx::work& tx) -> Result<CommunityCounts> {
    tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    return CountsFromRow(tx.exec(kCountSql)[0]);
  }, Patience::kBulk);
}

}  // namespace parley::server
