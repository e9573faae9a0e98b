// The shared Store for several parleyd nodes: one PostgreSQL database (libpqxx),
// numbered migrations in a schema_version table, each write one transaction.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "parley/base/result.h"
#include "parley/server/circuit_breaker.h"
#include "parley/server/store.h"

namespace parley::server {

namespace detail {
struct PostgresConnection;  // the libpqxx connection; defined in postgres_store.cc
struct PostgresPairTable;   // the SQL of contacts or blocks; defined in postgres_store.cc
}  // namespace detail

class SocketWatchdog;

// How long PostgresStore waits for PostgreSQL. The store URL overrides the first three
// with libpq's own parameters: ?connect_timeout=5 (seconds) and
// ?options=-c%20statement_timeout%3D5000%20-c%20lock_timeout%3D2000 (milliseconds);
// these are the defaults for a URL that sets none.
struct PostgresTimeouts {
  int connect_timeout_s = 2;  // libpq rounds anything below 2 up to 2
  std::chrono::milliseconds statement_timeout{2000};  // one statement, server side; 0 = none
  std::chrono::milliseconds lock_timeout{1000};       // waiting for another session's lock
  // A server that does not answer at all (stopped, swapped out, cut off) cannot enforce
  // statement_timeout: the client drops the connection after a transaction has waited
  // statement_timeout + this. Not applied when statement_timeout is 0.
  std::chrono::milliseconds answer_grace{1000};
  CircuitBreaker::Config retry{std::chrono::seconds(1), std::chrono::seconds(8)};
};

// Behaves exactly like SqliteStore (same results, same error sentences for the same
// inputs); only failures of the database itself (connection, disk, permissions) are
// worded for PostgreSQL.
//
// Several nodes may use one database at once. Each method that writes is one
// transaction at READ COMMITTED; each that only reads is one statement outside a
// transaction (one round trip instead of BEGIN, SELECT, COMMIT; one statement sees one
// snapshot). Writers stay correct without read-then-write races: inserts rely on
// unique constraints (ON CONFLICT), account lookups inside writes take FOR KEY SHARE so
// a concurrent DeleteAccount waits, and missed calls are taken with DELETE ...
// RETURNING (each delivered once). A deadlock or serialization failure is retried once.
//
// A lost connection is reconnected once per call: the call is retried on the new
// connection if the failure happened before COMMIT (the server rolled it back); a
// connection lost during COMMIT is an error saying the outcome is unknown. If the
// reconnect fails too the call returns a clear error and the next call tries again.
//
// Waiting is bounded (PostgresTimeouts): connecting by connect_timeout, a statement by
// statement_timeout and a lock wait by lock_timeout (both set for the session), and a
// server that stopped answering by a SocketWatchdog that drops the connection after
// statement_timeout + answer_grace. A timed-out lock or statement is the error "the
// PostgreSQL database ... is busy ...: retry"; a server that did not answer, or a
// connect that timed out, is "... did not answer ..." and opens a CircuitBreaker: for
// the next second (doubling to 8 s) calls fail at once with "... is unavailable ...",
// then one call reconnects. Quick failures (refused connections) do not open it.
// Migrations and `parleyd migrate` (export, import, counts) run with no statement
// timeout, a lock timeout of 60 s and no watchdog: they are long by nature.
//
// Migrations run at Open inside one transaction that holds an advisory lock, so two
// nodes starting at once against a new database do not both migrate.
//
// Called from the server's worker context; not thread-safe (the owner serialises
// calls, as Store says); one connection per object.
class PostgresStore final : public Store {
 public:
  // The schema version this build creates and understands (SqliteStore's numbering).
  static constexpr int kLatestSchemaVersion = 2;

  // Connects to `url`, a libpq connection URI ("postgres://user@host:port/db?..."),
  // and applies migrations. A database written by a newer parleyd is an error.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url, PostgresTimeouts timeouts = {});

  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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

  // The URL without its password, for logs and errors.
  const std::string& description() const { return description_; }

 private:
  using PairTable = detail::PostgresPairTable;

  PostgresStore(std::string url, std::string description, PostgresTimeouts timeouts);

  // Interactive calls are bounded by the session's timeouts and the watchdog; bulk
  // ones (migrations, export, import, counts) are not.
  enum class Patience { kInteractive, kBulk };

  Status Connect();
  Status Migrate();
  // Runs `body(pqxx::work&) -> Result<T>` as one transaction, committing if it
  // returns a value; reconnects and retries once as described above.
  template <typename T, typename Body>
  Result<T> InTransaction(const char* doing, Body&& body, Patience patience = Patience::kInteractive);
  // Runs `body(pqxx::transaction_base&) -> Result<T>`, which runs at most one statement
  // and writes nothing, outside a transaction (pqxx::nontransaction: autocommit). Same
  // timeouts, watchdog, breaker, reconnect-and-retry and error sentences as InTransaction.
  template <typename T, typename Body>
  Result<T> InOneRead(const char* doing, Body&& body);
  // Both of the above: `Transaction` is pqxx::work or pqxx::nontransaction.
  template <typename Transaction, typename T, typename Body>
  Result<T> Run(const char* doing, Body&& body, Patience patience);
  // The watchdog's deadline for a transaction starting now; nullopt: none.
  std::optional<TimePoint> AnswerDeadline(Patience patience) const;

  Status AddPair(const PairTable& table, const std::string& owner, const std::string& other);
  Status RemovePair(const PairTable& table, const std::string& owner, const std::string& other);
  Result<std::vector<std::string>> ListPairs(const PairTable& table, const std::string& owner);
  Result<bool> HasPair(const PairTable& table, const std::string& owner, const std::string& other);

  std::string url_;          // as given, for libpq, with the timeout defaults added
  std::string description_;
  PostgresTimeouts timeouts_;  // statement_timeout, lock_timeout: as the session has them
  std::unique_ptr<detail::PostgresConnection> connection_;  // null after a loss, until reconnected
  bool drop_connection_ = false;  // the watchdog shut the socket after the call had finished
  CircuitBreaker breaker_;
  std::unique_ptr<SocketWatchdog> watchdog_;
};

}  // namespace parley::server
