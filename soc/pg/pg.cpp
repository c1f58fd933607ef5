// libpq behind the wrapper of pg.h.
#include "soc/pg/pg.h"

#include <libpq-fe.h>

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace cg::soc::pg {
namespace {

// Type OIDs of pg_type (stable across PostgreSQL versions).
constexpr unsigned kInt8Oid = 20;
constexpr unsigned kTextOid = 25;

std::string OneLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  for (char& c : text) {
    if (c == '\n') {
      c = ' ';
    }
  }
  return text;
}

std::string SqlStart(std::string_view sql) {
  std::string s(sql.substr(0, 60));
  for (char& c : s) {
    if (c == '\n') {
      c = ' ';
    }
  }
  return sql.size() > 60 ? s + "..." : s;
}

}  // namespace

bool IsPostgresUri(std::string_view uri) {
  return uri.starts_with("postgresql://") || uri.starts_with("postgres://");
}

std::string StorableText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    // The length of a well-formed sequence starting here (Unicode 15, table 3-7), or 0.
    size_t n = 0;
    auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
      if (i + k >= text.size()) {
        return false;
      }
      const auto b = static_cast<unsigned char>(text[i + k]);
      return b >= lo && b <= hi;
    };
    if (c >= 0x01 && c <= 0x7f) {
      n = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = cont(1) ? 2 : 0;
    } else if (c >= 0xe0 && c <= 0xef) {
      const unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
      const unsigned char hi = c == 0xed ? 0x9f : 0xbf;
      n = cont(1, lo, hi) && cont(2) ? 3 : 0;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
      const unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
      n = cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
    }
    if (n == 0) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string RedactUri(std::string_view uri) {
  // scheme://user:password@host... -> scheme://user:***@host...
  const size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) {
    return std::string(uri);
  }
  const size_t start = scheme + 3;
  const size_t at = uri.find('@', start);
  const size_t slash = uri.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(uri);
  }
  const size_t colon = uri.find(':', start);
  if (colon == std::string_view::npos || colon > at) {
    return std::string(uri);
  }
  return std::string(uri.substr(0, colon + 1)) + "***" + std::string(uri.substr(at));
}

Param ToParam(int64_t v) { return Param{std::to_string(v), kInt8Oid}; }
Param ToParam(int v) { return ToParam(int64_t{v}); }
Param ToParam(bool v) { return ToParam(int64_t{v ? 1 : 0}); }
Param ToParam(SysTime v) { return ToParam(ToUnixSeconds(v)); }
Param ToParam(std::string_view v) { return Param{std::string(v), kTextOid}; }
Param ToParam(std::nullopt_t) { return Param{std::nullopt, 0}; }

void Rows::Clear::operator()(pg_result* r) const { PQclear(r); }

Rows::Rows(pg_result* result) : result_(result, Clear()) {}

int Rows::Count() const { return result_ ? PQntuples(result_.get()) : 0; }

int Rows::Columns() const { return result_ ? PQnfields(result_.get()) : 0; }

int64_t Rows::Affected() const {
  if (!result_) {
    return 0;
  }
  const char* n = PQcmdTuples(result_.get());
  int64_t value = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), value);
  return value;
}

bool Rows::IsNull(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string Rows::Text(int row, int column) const {
  if (IsNull(row, column)) {
    return {};
  }
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t Rows::Int(int row, int column) const {
  if (IsNull(row, column)) {
    return 0;
  }
  const char* v = PQgetvalue(result_.get(), row, column);
  const int n = PQgetlength(result_.get(), row, column);
  int64_t value = 0;
  std::from_chars(v, v + n, value);
  return value;
}

std::optional<SysTime> Rows::OptionalTime(int row, int column) const {
  if (IsNull(row, column)) {
    return std::nullopt;
  }
  return Time(row, column);
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& uri) {
  PGconn* raw = PQconnectdb(uri.c_str());
  if (raw == nullptr) {
    return MakeError(ErrorCode::kDatabase, "connecting to " + RedactUri(uri) + ": out of memory");
  }
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string message = OneLine(PQerrorMessage(raw));
    PQfinish(raw);
    return MakeError(ErrorCode::kDatabase, "connecting to " + RedactUri(uri) + ": " + message);
  }
  auto conn = std::unique_ptr<Connection>(new Connection(raw));
  // Notices (e.g. "relation already exists, skipping") are not errors: keep them off stderr.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  // Times are Unix seconds computed by the program; the session's zone never matters, but the
  // text encoding does.
  CG_RETURN_IF_ERROR(conn->Exec("SET client_encoding = 'UTF8'", "setting the encoding"));
  return conn;
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

bool Connection::in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

Error Connection::MakeErrorFrom(pg_result* result, std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string detail =
      OneLine(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (detail.empty()) {
    detail = OneLine(PQerrorMessage(conn_));
  }
  ErrorCode code = ErrorCode::kDatabase;
  if (last_sqlstate_ == kUniqueViolation) {
    code = ErrorCode::kAlreadyExists;
  }
  if (!last_sqlstate_.empty()) {
    detail += " (SQLSTATE " + last_sqlstate_ + ")";
  }
  return MakeError(code, std::string(what) + ": " + detail);
}

Result<Rows> Connection::QueryParams(std::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  std::vector<unsigned> types;
  values.reserve(params.size());
  types.reserve(params.size());
  for (const Param& p : params) {
    values.push_back(p.text ? p.text->c_str() : nullptr);
    types.push_back(p.type);
  }
  const std::string text(sql);
  Rows rows(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), types.data(),
                         values.data(), nullptr, nullptr, 0));
  const ExecStatusType status =
      rows.raw() != nullptr ? PQresultStatus(rows.raw()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return MakeErrorFrom(rows.raw(), SqlStart(sql));
  }
  last_sqlstate_.clear();
  return rows;
}

Status Connection::Exec(std::string_view sql, std::string_view what) {
  const std::string text(sql);
  Rows rows(PQexec(conn_, text.c_str()));
  const ExecStatusType status =
      rows.raw() != nullptr ? PQresultStatus(rows.raw()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return MakeErrorFrom(rows.raw(), what);
  }
  last_sqlstate_.clear();
  return OkStatus();
}

Result<Transaction> Transaction::Begin(Connection& conn, Isolation isolation) {
  const char* begin = "BEGIN ISOLATION LEVEL READ COMMITTED";
  if (isolation == Isolation::kSerializable) {
    begin = "BEGIN ISOLATION LEVEL SERIALIZABLE";
  } else if (isolation == Isolation::kRepeatableRead) {
    begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  }
  CG_RETURN_IF_ERROR(conn.Exec(begin, "starting a transaction"));
  return Transaction(&conn);
}

Transaction::Transaction(Transaction&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)) {}

Transaction::~Transaction() {
  if (conn_ != nullptr && conn_->in_transaction()) {
    // Keeps the SQLSTATE of the failure that made us roll back (Retryable reads it).
    const std::string state = conn_->last_sqlstate();
    (void)conn_->Exec("ROLLBACK", "rolling back");
    conn_->RestoreSqlState(state);
  }
}

Status Transaction::Commit() {
  Connection* conn = std::exchange(conn_, nullptr);
  return conn->Exec("COMMIT", "committing");
}

bool Retryable(const Connection& conn) {
  return conn.last_sqlstate() == kSerializationFailure || conn.last_sqlstate() == kDeadlockDetected;
}

struct Pool::State {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Connection>> idle;
  size_t open = 0;
};

std::shared_ptr<Pool::State> Pool::MakeState() { return std::make_shared<State>(); }

Pool::~Pool() = default;

Result<Pool::Lease> Pool::Acquire() {
  {
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [&] { return !state_->idle.empty() || state_->open < max_; });
    if (!state_->idle.empty()) {
      auto conn = std::move(state_->idle.back());
      state_->idle.pop_back();
      return Lease(this, std::move(conn));
    }
    ++state_->open;
  }
  auto conn = Connection::Open(uri_);
  if (!conn.ok()) {
    std::lock_guard lock(state_->mu);
    --state_->open;
    state_->cv.notify_one();
    return conn.error();
  }
  return Lease(this, std::move(conn).value());
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(state_->mu);
  if (conn->healthy() && !conn->in_transaction()) {
    state_->idle.push_back(std::move(conn));
  } else {
    --state_->open;  // destroyed below, outside nothing else
    conn.reset();
  }
  state_->cv.notify_one();
}

Pool::Lease::~Lease() {
  if (conn_ != nullptr) {
    pool_->Release(std::move(conn_));
  }
}

}  // namespace cg::soc::pg
