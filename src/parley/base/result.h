// Result<T>: a value or an error a user can read. g++ 12 has no std::expected.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "parley/base/check.h"

namespace parley {

// An expected failure: what went wrong and, where it helps, what to do about it.
struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { PARLEY_CHECK_MSG(ok(), error_message_or_empty()); return std::get<T>(state_); }
  const T& value() const& { PARLEY_CHECK_MSG(ok(), error_message_or_empty()); return std::get<T>(state_); }
  T&& value() && { PARLEY_CHECK_MSG(ok(), error_message_or_empty()); return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { PARLEY_CHECK(!ok()); return std::get<Error>(state_); }

 private:
  const char* error_message_or_empty() const {
    return ok() ? "" : std::get<Error>(state_).message.c_str();
  }
  std::variant<T, Error> state_;
};

// For operations that produce nothing but can fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace parley
