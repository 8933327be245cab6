// Result<T>: a value or an error message, so that parsing can report
// failures without exceptions (the public API of vbucket/ never throws).
//
// Thread-safety: a plain value type; the usual rules for const and non-const
// access apply.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace moxi::vbucket {

template <class T>
class Result {
 public:
  // A successful result.
  static Result success(T value) {
    Result r;
    r.value_.emplace(std::move(value));
    return r;
  }
  // A failed result. The message is never empty: an empty one is replaced,
  // so that "!ok() implies a non-empty error()" always holds.
  static Result failure(std::string message) {
    Result r;
    r.error_ = message.empty() ? std::string("unknown error") : std::move(message);
    return r;
  }

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  // Precondition: ok().
  const T& value() const& noexcept { return *value_; }
  T& value() & noexcept { return *value_; }
  T&& value() && noexcept { return std::move(*value_); }

  // Empty when ok(); otherwise says what failed and why.
  const std::string& error() const noexcept { return error_; }

 private:
  Result() = default;
  std::optional<T> value_;
  std::string error_;
};

}  // namespace moxi::vbucket
