// The one error type of CounterGuard: Result<T> carries a value or an Error{code, message}.
// No exceptions cross component boundaries; OS and library errors become an Error at the edge.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cg {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnauthenticated,
  kIo,
  kParse,
  kTooLarge,
  kNetwork,
  kTimeout,
  kTls,
  kCrypto,
  kDatabase,
  kConflict,
  kUnavailable,
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "parse: /etc/shadow line 3: expected 9 fields" — one line, for logs and CLI output.
  std::string ToString() const;
  // Prefixes context: Error{kIo, "x"}.Wrap("reading policy") -> "reading policy: x".
  Error Wrap(std::string_view context) const;
};

inline Error MakeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// errno -> Error, at the boundary (Santa's ErrnoToStatus).
Error ErrnoError(std::string_view what, int err);
Error ErrnoError(std::string_view what);  // uses the current errno

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status OkStatus() { return {}; }

}  // namespace cg

#define CG_CONCAT_INNER(a, b) a##b
#define CG_CONCAT(a, b) CG_CONCAT_INNER(a, b)

// Propagates an error: CG_RETURN_IF_ERROR(WriteFile(...));
#define CG_RETURN_IF_ERROR(expr)            \
  do {                                      \
    auto cg_status_ = (expr);               \
    if (!cg_status_.ok()) {                 \
      return std::move(cg_status_).error(); \
    }                                       \
  } while (false)

// CG_ASSIGN_OR_RETURN(auto text, fs.ReadFile("/etc/shadow"));
#define CG_ASSIGN_OR_RETURN(lhs, expr) \
  CG_ASSIGN_OR_RETURN_IMPL(CG_CONCAT(cg_result_, __LINE__), lhs, expr)
#define CG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) {                               \
    return std::move(tmp).error();               \
  }                                              \
  lhs = std::move(tmp).value()
