// Username validation: length, characters, reserved names, with clear errors.
#include "parley/server/username.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "parley/base/quote.h"

namespace parley::server {
namespace {

constexpr std::string_view kReserved[] = {
    "abuse",     "admin",     "administrator", "anonymous", "api",        "contacts",
    "everyone",  "guest",     "help",          "hostmaster", "info",      "mod",
    "moderator", "nobody",    "noc",           "null",      "official",   "operator",
    "owner",     "postmaster", "relay",        "root",      "security",   "server",
    "service",   "signal",    "signaling",     "staff",     "support",    "sys",
    "sysadmin",  "system",    "undefined",     "unknown",   "user",       "webmaster",
    "www",       "daemon",    "nil",           "none",
};

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAllowed(char c) { return IsLower(c) || IsDigit(c) || c == '_' || c == '.' || c == '-'; }


std::string DescribeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (c == ' ') return "a space";
  if (byte >= 0x21 && byte < 0x7f) return std::string("'") + c + "'";
  if (byte >= 0x80) return "a non-ASCII character";
  return "a control character";
}

Error Invalid(std::string_view name, const std::string& what) {
  return Error{"username " + QuoteUntrusted(name) + " " + what};
}

}  // namespace

bool IsReservedUsername(std::string_view name) {
  if (name.starts_with("parley")) return true;
  return std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved);
}

Status ValidateUsername(std::string_view name) {
  constexpr const char* kRule =
      "use 3 to 32 characters: lowercase letters a-z, digits 0-9, '_', '.' and '-', "
      "starting with a letter";
  if (name.empty()) return Error{std::string("username is empty: ") + kRule};
  if (name.size() < kMinUsernameLength) {
    return Invalid(name, "is too short: use 3 to 32 characters");
  }
  if (name.size() > kMaxUsernameLength) {
    return Invalid(name, "is too long (" + std::to_string(name.size()) +
                             " characters): use 3 to 32 characters");
  }
  if (std::any_of(name.begin(), name.end(), IsUpper)) {
    std::string lower(name);
    for (char& c : lower) {
      if (IsUpper(c)) c = static_cast<char>(c - 'A' + 'a');
    }
    // Suggest the lowercase form only if that is all that is wrong with it.
    if (ValidateUsername(lower).ok()) {
      return Invalid(name, "has uppercase letters: usernames are lowercase, so use " +
                               QuoteUntrusted(lower));
    }
    return Invalid(name, "has uppercase letters: usernames use only lowercase letters a-z, "
                         "digits 0-9, '_', '.' and '-'");
  }
  for (char c : name) {
    if (!IsAllowed(c)) {
      return Invalid(name, "contains " + DescribeChar(c) +
                               ": use only lowercase letters a-z, digits 0-9, '_', '.' and '-'");
    }
  }
  if (!IsLower(name.front())) {
    return Invalid(name, "must start with a letter a-z");
  }
  if (name.find("..") != std::string_view::npos) {
    return Invalid(name, "contains \"..\": use at most one '.' in a row");
  }
  if (IsReservedUsername(name)) {
    return Invalid(name, "is reserved: choose another name");
  }
  return Ok{};
}

}  // namespace parley::server
