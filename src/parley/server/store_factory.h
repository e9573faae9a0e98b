// Which Store parleyd uses, from the `store` setting: a store URL naming SQLite or
// PostgreSQL, parsed with one-sentence errors, and opened.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "parley/base/result.h"
#include "parley/server/data_directory.h"
#include "parley/server/store.h"

namespace parley::server {

// A parsed store URL. Forms:
//   sqlite:///absolute/path/parley.db   (three slashes: the path is absolute)
//   postgres://user[:password]@host[:port]/database[?param=value&...]  (also
//     postgresql://; any libpq connection URI, e.g. ?sslmode=require&connect_timeout=5)
struct StoreLocation {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  std::string sqlite_path;   // kSqlite: the database file
  std::string postgres_url;  // kPostgres: the URL as given, for libpq
};

// The URL for the default store: SQLite in the data directory ("parley.db").
std::string DefaultStoreUrl(const DataDirectory& dir);

// Checks a store URL without opening anything. Errors are one sentence saying what
// is wrong and what to write; they never repeat a password.
Result<StoreLocation> ParseStoreUrl(std::string_view url);

// The URL with any password replaced by "***" and the query left out, for logs.
std::string RedactStoreUrl(std::string_view url);

// How long a SQLite write waits for another process's lock (SqliteStore's default).
inline constexpr std::chrono::milliseconds kDefaultSqliteBusyTimeout{5000};

// Opens the store `url` names (creating the SQLite file, or connecting to PostgreSQL
// and applying migrations). An empty url_or_empty means the default store in `dir`.
// `sqlite_busy_timeout` applies to SQLite only (limits.store_busy_timeout_ms).
Result<std::unique_ptr<Store>> OpenStore(const std::string& url_or_empty, const DataDirectory& dir,
                                         std::chrono::milliseconds sqlite_busy_timeout = kDefaultSqliteBusyTimeout);
// The same for a URL that must be given (parleyd migrate).
Result<std::unique_ptr<Store>> OpenStoreUrl(const std::string& url,
                                            std::chrono::milliseconds sqlite_busy_timeout = kDefaultSqliteBusyTimeout);

}  // namespace parley::server
