// A small libpq wrapper for the PostgreSQL backend (issue 17): RAII connections and results,
// parameterized statements ($1, $2, ... with their types sent along, so `$1 IS NULL` works),
// typed reads, transactions that roll back unless committed, a retry of whole transactions on
// serialization failures and deadlocks, and the one place where PostgreSQL errors become
// cg::Error (a unique violation is kAlreadyExists, as SQLite's is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"

struct pg_conn;
struct pg_result;

namespace cg::soc::pg {

// SQLSTATEs the backend reacts to.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";

// True when `uri` names a PostgreSQL database (postgresql:// or postgres://).
bool IsPostgresUri(std::string_view uri);
// The URI without its password, for messages and logs.
std::string RedactUri(std::string_view uri);

// `text` as a PostgreSQL text value can hold it: PostgreSQL refuses invalid UTF-8 (SQLSTATE
// 22021) and cannot hold NUL, where SQLite stores any bytes. Each such byte is written as
// "\xNN" (escape.h's notation); valid UTF-8 without NUL is returned unchanged. For what is
// recorded as it came (the audit log's request path and target): a hostile request is audited,
// not refused by the database.
std::string StorableText(std::string_view text);

// One statement parameter in text form with its type OID (0: let the server infer it).
struct Param {
  std::optional<std::string> text;  // nullopt: NULL
  unsigned type = 0;
};
Param ToParam(int64_t v);
Param ToParam(int v);
Param ToParam(bool v);     // 0 / 1 (flags are INTEGER columns, as in the SQLite schema)
Param ToParam(SysTime v);  // Unix seconds
Param ToParam(std::string_view v);
inline Param ToParam(const std::string& v) { return ToParam(std::string_view(v)); }
inline Param ToParam(const char* v) { return ToParam(std::string_view(v)); }
Param ToParam(std::nullopt_t);
// The type OID a NULL of T is sent with (pg_type: int8 20, text 25).
template <typename T>
constexpr unsigned NullType() {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
    return 25;
  } else {
    return 20;
  }
}
template <typename T>
Param ToParam(const std::optional<T>& v) {
  return v.has_value() ? ToParam(*v) : Param{std::nullopt, NullType<T>()};
}

// The rows of a statement (or only its affected-row count). Columns are read as text and
// converted; a NULL reads as "" / 0.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* result);
  int Count() const;
  int Columns() const;
  // Rows an INSERT / UPDATE / DELETE changed (SQLite's changes()).
  int64_t Affected() const;
  bool IsNull(int row, int column) const;
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  bool Bool(int row, int column) const { return Int(row, column) != 0; }
  SysTime Time(int row, int column) const { return FromUnixSeconds(Int(row, column)); }
  std::optional<SysTime> OptionalTime(int row, int column) const;
  pg_result* raw() const { return result_.get(); }

 private:
  struct Clear {
    void operator()(pg_result* r) const;
  };
  std::shared_ptr<pg_result> result_;
};

class Connection {
 public:
  // Connects; kDatabase with libpq's message (the URI's password never appears in it).
  static Result<std::unique_ptr<Connection>> Open(const std::string& uri);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with parameters.
  template <typename... Args>
  Result<Rows> Query(std::string_view sql, const Args&... args) {
    return QueryParams(sql, std::vector<Param>{ToParam(args)...});
  }
  Result<Rows> QueryParams(std::string_view sql, const std::vector<Param>& params);
  // Runs SQL text without parameters, several statements allowed (migrations, BEGIN).
  Status Exec(std::string_view sql, std::string_view what);

  // The SQLSTATE of the last failed statement ("" after a success).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // False once the server went away; the pool drops such connections.
  bool healthy() const;
  bool in_transaction() const;
  void RestoreSqlState(std::string state) { last_sqlstate_ = std::move(state); }

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Error MakeErrorFrom(pg_result* result, std::string_view what);
  pg_conn* conn_;
  std::string last_sqlstate_;
};

// BEGIN ... COMMIT on one connection, rolled back unless committed.
class Transaction {
 public:
  // kRepeatableRead is read-only: several reads from one snapshot.
  enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };
  static Result<Transaction> Begin(Connection& conn,
                                   Isolation isolation = Isolation::kReadCommitted);
  Transaction(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

// True when the last failure on `conn` was a serialization failure or a deadlock: the whole
// transaction may be run again.
bool Retryable(const Connection& conn);
inline constexpr int kMaxAttempts = 5;

// Connections shared by the threads of one storage: each call takes an idle one (or opens a
// new one, up to `max`) for its duration. A connection that lost its server is dropped.
class Pool {
 public:
  Pool(std::string uri, size_t max) : uri_(std::move(uri)), max_(max) {}
  ~Pool();
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };
  Result<Lease> Acquire();
  const std::string& uri() const { return uri_; }

 private:
  void Release(std::unique_ptr<Connection> conn);
  struct State;
  std::string uri_;
  size_t max_;
  std::shared_ptr<State> state_ = MakeState();
  static std::shared_ptr<State> MakeState();
};

// Runs `work(conn)` in a READ COMMITTED transaction on a pooled connection and commits; runs it
// again (up to kMaxAttempts) when PostgreSQL ends it with a serialization failure or deadlock.
// `work` returns a Result or Status; an error it returns rolls the transaction back.
template <typename Work>
auto RunTransaction(Pool& pool, Work&& work) -> decltype(work(std::declval<Connection&>())) {
  for (int attempt = 1;; ++attempt) {
    CG_ASSIGN_OR_RETURN(auto conn, pool.Acquire());
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*conn));
    auto result = work(*conn);
    if (result.ok()) {
      auto committed = tx.Commit();
      if (committed.ok()) {
        return result;
      }
      if (!Retryable(*conn) || attempt >= kMaxAttempts) {
        return std::move(committed).error();
      }
      continue;
    }
    if (!Retryable(*conn) || attempt >= kMaxAttempts) {
      return result;
    }
  }
}

}  // namespace cg::soc::pg
