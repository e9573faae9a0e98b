// Checks for broken invariants: a programming error aborts with a message, never
// continues with corrupt state. Expected failures use Result<T> instead.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace parley::detail {
[[noreturn]] inline void CheckFailed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, expr, msg[0] ? ": " : "", msg);
  std::abort();
}
}  // namespace parley::detail

#define PARLEY_CHECK(cond) \
  ((cond) ? (void)0 : ::parley::detail::CheckFailed(#cond, __FILE__, __LINE__, ""))
#define PARLEY_CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::parley::detail::CheckFailed(#cond, __FILE__, __LINE__, (msg)))
