// Store URLs: parsing (fuzzed: fuzz/store_url_fuzzer.cc), redaction and opening.
#include "parley/server/store_factory.h"

#include <libpq-fe.h>

#include "parley/base/quote.h"
#include "parley/server/postgres_store.h"
#include "parley/server/sqlite_store.h"

namespace parley::server {
namespace {

constexpr size_t kMaxStoreUrlBytes = 4096;
constexpr std::string_view kSqliteScheme = "sqlite://";
constexpr std::string_view kPostgresSchemes[] = {"postgres://", "postgresql://"};

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// True if `ports` is a port number 1..65535, or a comma-separated list of them (one
// per host); libpq accepts anything here and fails only when connecting.
bool ValidPorts(std::string_view ports) {
  size_t start = 0;
  while (true) {
    const size_t comma = ports.find(',', start);
    const std::string_view port = ports.substr(start, comma == std::string_view::npos ? ports.npos : comma - start);
    if (!port.empty()) {  // empty = the default port
      if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
      const int number = std::stoi(std::string(port));
      if (number < 1 || number > 65535) return false;
    }
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

// libpq's parse error, first line only ("invalid URI query parameter: \"x\""), or
// our own for a port that is not a number; empty if the URL is valid.
std::string LibpqParseError(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options != nullptr) {
    std::string problem;
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::string_view(o->keyword) == "port" && o->val != nullptr && !ValidPorts(o->val)) {
        problem = "the port must be a number from 1 to 65535";
      }
    }
    PQconninfoFree(options);
    return problem;
  }
  std::string message = error != nullptr ? error : "out of memory";
  PQfreemem(error);
  message = message.substr(0, message.find('\n'));
  if (message.empty()) message = "libpq could not parse it";
  return message;
}

}  // namespace

std::string DefaultStoreUrl(const DataDirectory& dir) {
  return std::string(kSqliteScheme) + dir.File("parley.db");
}

std::string RedactStoreUrl(std::string_view url) {
  std::string out(url.substr(0, url.find('?')));
  const size_t scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  const size_t authority = scheme + 3;
  const size_t slash = out.find('/', authority);
  const size_t at = out.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  if (at != std::string::npos && at >= authority) {
    const size_t colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) out.replace(colon, at - colon, ":***");
  }
  return out;
}

Result<StoreLocation> ParseStoreUrl(std::string_view url) {
  if (url.empty()) {
    return Error{"the store URL is empty: write sqlite:///path/parley.db or postgres://user@host:port/database, "
                 "or leave the setting out for SQLite in the data directory"};
  }
  if (url.size() > kMaxStoreUrlBytes) {
    return Error{"the store URL is " + std::to_string(url.size()) + " bytes long, more than " +
                 std::to_string(kMaxStoreUrlBytes) + ": shorten it"};
  }
  for (char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      return Error{"the store URL contains a space or a control character: percent-encode it (%20) or remove it"};
    }
  }
  if (StartsWith(url, kSqliteScheme)) {
    const std::string_view path = url.substr(kSqliteScheme.size());
    if (path.empty() || path.front() != '/') {
      return Error{"the SQLite store URL must name an absolute path with three slashes, like "
                   "sqlite:///var/lib/parley/parley.db"};
    }
    if (path.back() == '/') {
      return Error{"the SQLite store URL names a directory: add the database file's name, like "
                   "sqlite:///var/lib/parley/parley.db"};
    }
    StoreLocation location;
    location.kind = StoreLocation::Kind::kSqlite;
    location.sqlite_path = std::string(path);
    return location;
  }
  for (std::string_view scheme : kPostgresSchemes) {
    if (!StartsWith(url, scheme)) continue;
    const std::string text(url);
    if (const std::string problem = LibpqParseError(text); !problem.empty()) {
      return Error{"the PostgreSQL store URL " + QuoteUntrusted(RedactStoreUrl(url), 80) + " is not valid (" +
                   problem + "): write postgres://user@host:port/database"};
    }
    StoreLocation location;
    location.kind = StoreLocation::Kind::kPostgres;
    location.postgres_url = text;
    return location;
  }
  const size_t colon = url.find(':');
  const std::string scheme(url.substr(0, colon == std::string_view::npos ? 0 : colon));
  return Error{"the store URL must start with sqlite:/// or postgres://" +
               (scheme.empty() ? std::string() : ", not " + QuoteUntrusted(scheme, 20) + ":") +
               ": for example sqlite:///var/lib/parley/parley.db"};
}

Result<std::unique_ptr<Store>> OpenStoreUrl(const std::string& url, std::chrono::milliseconds sqlite_busy_timeout) {
  auto location = ParseStoreUrl(url);
  if (!location.ok()) return location.error();
  if (location->kind == StoreLocation::Kind::kSqlite) {
    auto store = SqliteStore::Open(location->sqlite_path, sqlite_busy_timeout);
    if (!store.ok()) return store.error();
    return std::unique_ptr<Store>(std::move(*store));
  }
  auto store = PostgresStore::Open(location->postgres_url);
  if (!store.ok()) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url_or_empty, const DataDirectory& dir,
                                         std::chrono::milliseconds sqlite_busy_timeout) {
  return OpenStoreUrl(url_or_empty.empty() ? DefaultStoreUrl(dir) : url_or_empty, sqlite_busy_timeout);
}

}  // namespace parley::server
