// Username rules for parleyd accounts: what a name may look like, with errors that
// say what to change. Pure functions; any context may call them.
#pragma once

#include <string_view>

#include "parley/base/result.h"

namespace parley::server {

inline constexpr size_t kMinUsernameLength = 3;
inline constexpr size_t kMaxUsernameLength = 32;

// A valid username:
// - is 3 to 32 characters long;
// - uses only lowercase a-z, digits 0-9, '_', '.' and '-';
// - starts with a letter and contains no "..";
// - is not reserved (IsReservedUsername).
// Uppercase is rejected, not folded: a name is shown exactly as stored, and the
// client lowercases before sending if it wants case-insensitive entry. The error
// then suggests the lowercase spelling.
// Errors are one sentence that quotes the name (non-printable bytes escaped as
// \xNN, long names shortened) and says what to change.
Status ValidateUsername(std::string_view name);

// Names that would let someone pose as the service or its staff, or that clients
// use as words (everyone, nobody, contacts): an exact list, plus every name that
// starts with "parley".
bool IsReservedUsername(std::string_view name);

}  // namespace parley::server
