// The fleet queries of the SQLite backend (sqlite_storage_query.h): SQL built from the query's
// set filters with every value bound as a parameter (nothing from a request is ever spliced into
// SQL text), keyset pagination on row values, and the summary as one GROUP BY scan of the device
// rows.
#include "soc/sqlite_storage_query.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "protocol/report.h"
#include "soc/text_fold.h"

namespace cg::soc::sqlite_query {

const char* const kMigration8 = R"sql(
ALTER TABLE devices ADD COLUMN hostname_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN os_name TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN os_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';
UPDATE devices SET hostname_folded = cg_fold(hostname);
UPDATE devices SET
  os_name = COALESCE((SELECT json_extract(r.body, '$.os.name') FROM reports r
                      WHERE r.id = devices.latest_report AND json_valid(r.body)), ''),
  os_version = COALESCE((SELECT json_extract(r.body, '$.os.version') FROM reports r
                         WHERE r.id = devices.latest_report AND json_valid(r.body)), ''),
  agent_version = COALESCE((SELECT json_extract(r.body, '$.agent_version') FROM reports r
                            WHERE r.id = devices.latest_report AND json_valid(r.body)), '');
CREATE INDEX devices_by_hostname_folded ON devices(hostname_folded, device_id);
CREATE INDEX devices_by_group_hostname ON devices(group_name, hostname_folded, device_id);
CREATE INDEX devices_by_last_seen ON devices(COALESCE(last_seen, -1), device_id);
)sql";

// The index expression of devices_by_posture is kRankSql below without the "d." qualifiers; SQLite
// matches it in queries that qualify the columns (EXPLAIN QUERY PLAN: SEARCH d USING INDEX
// devices_by_posture). devices_by_silence serves the stale filter's range on the silence.
const char* const kMigration11 = R"sql(
ALTER TABLE devices ADD COLUMN failing_checks TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN error_checks TEXT NOT NULL DEFAULT '';
UPDATE devices SET
  failing_checks = COALESCE((SELECT group_concat(check_id, ',') FROM
                              (SELECT c.check_id FROM check_results c
                               WHERE c.report = devices.latest_report AND c.status = 'fail'
                               ORDER BY c.check_id)), ''),
  error_checks = COALESCE((SELECT group_concat(check_id, ',') FROM
                            (SELECT c.check_id FROM check_results c
                             WHERE c.report = devices.latest_report AND c.status = 'error'
                             ORDER BY c.check_id)), '')
WHERE latest_report IS NOT NULL;
CREATE INDEX devices_by_posture ON devices(
  (CASE WHEN policy_state = 'unverified' THEN 2 ELSE CASE status WHEN 'noncompliant' THEN 0
   WHEN 'error' THEN 1 WHEN 'unknown' THEN 3 ELSE 4 END END), hostname_folded, device_id);
CREATE INDEX devices_by_os ON devices(os_name, os_version);
CREATE INDEX devices_by_agent_version ON devices(agent_version);
CREATE INDEX devices_by_policy_version ON devices(policy_version);
CREATE INDEX devices_by_silence ON devices(COALESCE(last_seen, enrolled_at)) WHERE revoked = 0;
-- Covers the summary: one scan of this index in its order (no table rows, no sort).
CREATE INDEX devices_for_summary ON devices(group_name, policy_state, status, revoked,
                                            failing_checks, error_checks, last_seen, enrolled_at);

-- The scrape-only operator role "metrics" (GET /metrics and nothing else). SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt with the same columns (migrations 1, 5, 10;
-- nothing references it).
CREATE TABLE operator_tokens_v11 (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('analyst', 'admin', 'metrics')),
  token_hash    TEXT NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  revoked       INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  last_used_at  INTEGER,
  account_id    TEXT
);
INSERT INTO operator_tokens_v11 (id, name, role, token_hash, created_at, expires_at, revoked,
                                 last_used_at, account_id)
  SELECT id, name, role, token_hash, created_at, expires_at, revoked, last_used_at, account_id
  FROM operator_tokens;
DROP TABLE operator_tokens;
ALTER TABLE operator_tokens_v11 RENAME TO operator_tokens;
)sql";

std::string JoinedChecks(const protocol::Report& report, protocol::CheckStatus status) {
  std::vector<std::string> ids;
  for (const auto& c : report.checks) {
    if (c.status == status) {
      ids.push_back(c.id);
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string out;
  for (const auto& id : ids) {
    out += (out.empty() ? "" : ",") + id;
  }
  return out;
}

namespace {

using protocol::DeviceStatus;

// A devices.failing_checks / error_checks value as its check ids.
std::vector<std::string> SplitChecks(const std::string& joined) {
  std::vector<std::string> ids;
  size_t at = 0;
  while (at < joined.size()) {
    const size_t comma = std::min(joined.find(',', at), joined.size());
    if (comma > at) {
      ids.push_back(joined.substr(at, comma - at));
    }
    at = comma + 1;
  }
  return ids;
}

Error SqlError(sqlite3* db, int rc, std::string_view what) {
  return MakeError(ErrorCode::kDatabase, std::string(what) + ": " +
                                             (db != nullptr ? sqlite3_errmsg(db) : "") + " (" +
                                             sqlite3_errstr(rc) + ")");
}

struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalizer>;

using Value = std::variant<std::monostate, int64_t, std::string>;

// SQL text with its parameters in order: every value from a request goes through Bind.
class Sql {
 public:
  Sql& Text(std::string_view text) {
    sql_ += text;
    return *this;
  }
  // Appends "?" and binds `value` to it.
  Sql& Bind(Value value) {
    sql_ += '?';
    values_.push_back(std::move(value));
    return *this;
  }
  const std::string& str() const { return sql_; }

  Result<StmtPtr> Prepare(sqlite3* db, std::string_view what) const {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, sql_.c_str(), static_cast<int>(sql_.size()), &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) {
      return SqlError(db, rc, std::string("preparing ") + std::string(what));
    }
    for (size_t i = 0; i < values_.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      if (const auto* n = std::get_if<int64_t>(&values_[i])) {
        rc = sqlite3_bind_int64(stmt.get(), index, *n);
      } else if (const auto* t = std::get_if<std::string>(&values_[i])) {
        rc = sqlite3_bind_text64(stmt.get(), index, t->data(), t->size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt.get(), index);
      }
      if (rc != SQLITE_OK) {
        return SqlError(db, rc, std::string("binding ") + std::string(what));
      }
    }
    return stmt;
  }

 private:
  std::string sql_;
  std::vector<Value> values_;
};

Result<bool> Step(sqlite3* db, sqlite3_stmt* s, std::string_view what) {
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return SqlError(db, rc, what);
}

std::string ColumnText(sqlite3_stmt* s, int column) {
  const unsigned char* text = sqlite3_column_text(s, column);
  if (text == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(s, column)));
}

// PostureRank(PostureStatus(d)) of device row d, in SQL: one-to-one with the posture.
constexpr std::string_view kRankSql =
    "(CASE WHEN d.policy_state = 'unverified' THEN 2 ELSE CASE d.status "
    "WHEN 'noncompliant' THEN 0 WHEN 'error' THEN 1 WHEN 'unknown' THEN 3 ELSE 4 END END)";

// Whether device row d is stale: not revoked and not heard from since its group's cutoff.
void AppendStale(Sql& sql, SysTime stale_before,
                 const std::vector<std::pair<std::string, SysTime>>& by_group) {
  sql.Text("(d.revoked = 0 AND COALESCE(d.last_seen, d.enrolled_at) < ");
  if (by_group.empty()) {
    sql.Bind(ToUnixSeconds(stale_before));
  } else {
    sql.Text("CASE d.group_name");
    for (const auto& [group, cutoff] : by_group) {
      sql.Text(" WHEN ").Bind(group).Text(" THEN ").Bind(ToUnixSeconds(cutoff));
    }
    sql.Text(" ELSE ").Bind(ToUnixSeconds(stale_before)).Text(" END");
  }
  sql.Text(")");
}

// A group and every group below it (the caller strips a trailing '/'). The range [g, g + "0")
// holds g and every "g/..." ('0' follows '/'), so the group indexes can narrow the scan; the
// exact test then leaves out siblings such as "g-2" that sort inside it.
void AppendGroupPrefix(Sql& sql, const std::string& group) {
  sql.Text(" AND d.group_name >= ").Bind(group).Text(" AND d.group_name < ").Bind(group + "0");
  sql.Text(" AND (d.group_name = ")
      .Bind(group)
      .Text(" OR substr(d.group_name, 1, ")
      .Bind(static_cast<int64_t>(group.size()) + 1)
      .Text(") = ")
      .Bind(group + "/")
      .Text(")");
}

std::string TrimmedGroup(std::string group) {
  while (!group.empty() && group.back() == '/') {
    group.pop_back();
  }
  return group;
}

// The WHERE conditions of a devices query (after "WHERE 1"), without the page position.
void AppendFilters(Sql& sql, const DeviceQuery& q) {
  if (q.group_prefix) {
    AppendGroupPrefix(sql, TrimmedGroup(*q.group_prefix));
  }
  if (!q.postures.empty()) {
    // PostureRank is one-to-one on the five postures, so the filter is on the rank, which
    // devices_by_posture indexes; "=" for one posture keeps that index's order for the sort.
    if (q.postures.size() == 1) {
      sql.Text(" AND ").Text(kRankSql).Text(" = ").Bind(PostureRank(q.postures[0]));
    } else {
      sql.Text(" AND ").Text(kRankSql).Text(" IN (");
      for (size_t i = 0; i < q.postures.size(); ++i) {
        sql.Text(i == 0 ? "" : ", ").Bind(PostureRank(q.postures[i]));
      }
      sql.Text(")");
    }
  }
  if (q.check_id) {
    sql.Text(
           " AND EXISTS (SELECT 1 FROM check_results c WHERE c.report = d.latest_report AND "
           "c.check_id = ")
        .Bind(*q.check_id)
        .Text(" AND c.status IN ('fail', 'error'))");
  }
  if (q.stale) {
    sql.Text(" AND ");
    AppendStale(sql, q.stale_before, q.stale_before_by_group);
    sql.Text(" = ").Bind(int64_t{*q.stale});
    if (*q.stale) {
      // Implied by the exact test above (no group's cutoff is later than the latest one): a
      // range devices_by_silence can serve, so only the silent devices are read.
      SysTime latest = q.stale_before;
      for (const auto& [group, cutoff] : q.stale_before_by_group) {
        latest = std::max(latest, cutoff);
      }
      sql.Text(" AND d.revoked = 0 AND COALESCE(d.last_seen, d.enrolled_at) < ")
          .Bind(ToUnixSeconds(latest));
    }
  }
  if (q.revoked) {
    sql.Text(" AND d.revoked = ").Bind(int64_t{*q.revoked});
  }
  if (q.os_name) {
    sql.Text(" AND d.os_name = ").Bind(*q.os_name);
  }
  if (q.os_version) {
    sql.Text(" AND d.os_version = ").Bind(*q.os_version);
  }
  if (q.agent_version) {
    sql.Text(" AND d.agent_version = ").Bind(*q.agent_version);
  }
  if (q.policy_version) {
    sql.Text(" AND d.policy_version = ").Bind(*q.policy_version);
  }
  if (q.last_seen_before) {
    sql.Text(" AND d.last_seen < ").Bind(ToUnixSeconds(*q.last_seen_before));
  }
  if (q.last_seen_after) {
    sql.Text(" AND d.last_seen >= ").Bind(ToUnixSeconds(*q.last_seen_after));
  }
  if (q.hostname_folded) {
    sql.Text(" AND instr(d.hostname_folded, ").Bind(*q.hostname_folded).Text(") > 0");
  }
}

// The sort key of each order as SQL expressions over device row d: the ORDER BY columns and
// the row value the page position is compared with.
std::vector<std::string_view> SortKeys(DeviceSort sort) {
  switch (sort) {
    case DeviceSort::kHostname:
      return {"d.hostname_folded", "d.device_id"};
    case DeviceSort::kStatus:
      return {kRankSql, "d.hostname_folded", "d.device_id"};
    case DeviceSort::kLastSeen:
      return {"COALESCE(d.last_seen, -1)", "d.device_id"};
    case DeviceSort::kGroup:
      break;
  }
  return {"d.group_name", "d.hostname_folded", "d.device_id"};
}

void AppendAfter(Sql& sql, DeviceSort sort, bool descending, const DeviceSortKey& k) {
  sql.Text(" AND (");
  const auto keys = SortKeys(sort);
  for (size_t i = 0; i < keys.size(); ++i) {
    sql.Text(i == 0 ? "" : ", ").Text(keys[i]);
  }
  sql.Text(descending ? ") < (" : ") > (");
  switch (sort) {
    case DeviceSort::kHostname:
      sql.Bind(k.hostname_folded).Text(", ").Bind(k.device_id);
      break;
    case DeviceSort::kStatus:
      sql.Bind(k.number).Text(", ").Bind(k.hostname_folded).Text(", ").Bind(k.device_id);
      break;
    case DeviceSort::kLastSeen:
      sql.Bind(k.number).Text(", ").Bind(k.device_id);
      break;
    case DeviceSort::kGroup:
      sql.Bind(k.group).Text(", ").Bind(k.hostname_folded).Text(", ").Bind(k.device_id);
      break;
  }
  sql.Text(")");
}

// Every key column in the same direction, so that AppendAfter's row value comparison is
// exactly "after the last row" in this order.
void AppendOrder(Sql& sql, DeviceSort sort, bool descending) {
  sql.Text(" ORDER BY ");
  const auto keys = SortKeys(sort);
  for (size_t i = 0; i < keys.size(); ++i) {
    sql.Text(i == 0 ? "" : ", ").Text(keys[i]).Text(descending ? " DESC" : " ASC");
  }
}

void FoldFunction(sqlite3_context* context, int /*argc*/, sqlite3_value** argv) {
  const unsigned char* text = sqlite3_value_text(argv[0]);
  if (text == nullptr) {
    sqlite3_result_null(context);
    return;
  }
  const std::string folded = FoldForSearch(std::string_view(
      reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  sqlite3_result_text64(context, folded.data(), folded.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace

Status RegisterFunctions(sqlite3* db) {
  const int rc = sqlite3_create_function_v2(db, "cg_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                            nullptr, &FoldFunction, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return SqlError(db, rc, "registering cg_fold");
  }
  return OkStatus();
}

Result<DevicePage> QueryDevices(sqlite3* db, const DeviceQuery& q) {
  if (q.limit == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "page size must be at least 1");
  }
  DevicePage page;
  if (q.count_total) {
    Sql count;
    count.Text("SELECT count(*) FROM devices d WHERE 1");
    AppendFilters(count, q);
    CG_ASSIGN_OR_RETURN(auto s, count.Prepare(db, "counting devices"));
    CG_ASSIGN_OR_RETURN(bool row, Step(db, s.get(), "counting devices"));
    page.total = row ? sqlite3_column_int64(s.get(), 0) : 0;
  }
  // The page itself, one row more than asked to know whether more follow.
  Sql sql;
  sql.Text("SELECT " CG_DEVICE_COLUMNS
           ", d.os_name, d.os_version, d.agent_version, "
           "d.hostname_folded, ");
  sql.Text(kRankSql).Text(", COALESCE(d.last_seen, -1), ");
  AppendStale(sql, q.stale_before, q.stale_before_by_group);
  sql.Text(", d.failing_checks, d.error_checks FROM devices d WHERE 1");
  AppendFilters(sql, q);
  if (q.after) {
    AppendAfter(sql, q.sort, q.descending, *q.after);
  }
  AppendOrder(sql, q.sort, q.descending);
  const int64_t limit =
      static_cast<int64_t>(std::min<size_t>(q.limit, std::numeric_limits<int32_t>::max()));
  sql.Text(" LIMIT ").Bind(limit + 1);
  CG_ASSIGN_OR_RETURN(auto s, sql.Prepare(db, "listing devices"));
  constexpr int kExtra = kDeviceColumnCount;
  while (true) {
    CG_ASSIGN_OR_RETURN(bool row, Step(db, s.get(), "listing devices"));
    if (!row) {
      break;
    }
    if (static_cast<int64_t>(page.rows.size()) == limit) {
      page.more = true;
      break;
    }
    DeviceRow r;
    CG_ASSIGN_OR_RETURN(r.device, ReadDeviceColumns(s.get()));
    r.os_name = ColumnText(s.get(), kExtra);
    r.os_version = ColumnText(s.get(), kExtra + 1);
    r.agent_version = ColumnText(s.get(), kExtra + 2);
    r.key.hostname_folded = ColumnText(s.get(), kExtra + 3);
    const int64_t rank = sqlite3_column_int64(s.get(), kExtra + 4);
    const int64_t seen = sqlite3_column_int64(s.get(), kExtra + 5);
    r.stale = sqlite3_column_int64(s.get(), kExtra + 6) != 0;
    r.failing_checks = SplitChecks(ColumnText(s.get(), kExtra + 7));
    r.error_checks = SplitChecks(ColumnText(s.get(), kExtra + 8));
    r.key.group = r.device.group;
    r.key.device_id = r.device.device_id;
    r.key.number = q.sort == DeviceSort::kStatus     ? rank
                   : q.sort == DeviceSort::kLastSeen ? seen
                                                     : 0;
    page.rows.push_back(std::move(r));
  }
  return page;
}

Result<std::vector<GroupSummary>> SummarizeFleet(sqlite3* db, const FleetSummaryQuery& q) {
  // One scan of devices_for_summary in its own order (the posture and failing checks are kept on
  // the device rows at ingest), grouped by everything the summary counts by: a few hundred
  // combinations for 10,000 devices, which C++ adds up per group.
  std::map<std::string, GroupSummary> groups;
  Sql sql;
  sql.Text(
      "SELECT d.group_name, d.policy_state, d.status, d.revoked, d.failing_checks, "
      "d.error_checks, count(*), sum(d.revoked = 0 AND d.last_seen IS NULL), sum(");
  AppendStale(sql, q.stale_before, q.stale_before_by_group);
  sql.Text(") FROM devices d WHERE 1");
  if (q.group_prefix) {
    AppendGroupPrefix(sql, TrimmedGroup(*q.group_prefix));
  }
  sql.Text(
      " GROUP BY d.group_name, d.policy_state, d.status, d.revoked, d.failing_checks, "
      "d.error_checks");
  CG_ASSIGN_OR_RETURN(auto s, sql.Prepare(db, "summarising devices"));
  while (true) {
    CG_ASSIGN_OR_RETURN(bool row, Step(db, s.get(), "summarising devices"));
    if (!row) {
      break;
    }
    GroupSummary& g = groups[ColumnText(s.get(), 0)];
    const bool revoked = sqlite3_column_int64(s.get(), 3) != 0;
    const int64_t n = sqlite3_column_int64(s.get(), 6);
    g.devices += n;
    g.never_reported += sqlite3_column_int64(s.get(), 7);
    g.stale += sqlite3_column_int64(s.get(), 8);
    if (revoked) {
      g.revoked += n;
      continue;  // a revoked device counts in no posture and no failing check
    }
    // PostureStatus: the report's status unless its policy was unverified.
    const std::string posture =
        ColumnText(s.get(), 1) == kPolicyUnverified ? kPolicyUnverified : ColumnText(s.get(), 2);
    g.postures[posture] += n;
    for (const auto& check : SplitChecks(ColumnText(s.get(), 4))) {
      g.failing[check] += n;
    }
    for (const auto& check : SplitChecks(ColumnText(s.get(), 5))) {
      g.errors[check] += n;
    }
  }
  std::vector<GroupSummary> out;
  out.reserve(groups.size());
  for (auto& [name, g] : groups) {
    g.group = name;
    out.push_back(std::move(g));
  }
  return out;
}

Result<ReportRecord> GetReport(sqlite3* db, std::string_view report_id) {
  Sql sql;
  sql.Text(
         "SELECT r.report_id, r.device_id, r.received_at, r.collected_at, r.status, "
         "r.clock_skew, r.body, r.policy_state, d.hostname, d.group_name FROM reports r "
         "JOIN devices d ON d.device_id = r.device_id WHERE r.report_id = ")
      .Bind(std::string(report_id));
  CG_ASSIGN_OR_RETURN(auto s, sql.Prepare(db, "reading a report"));
  CG_ASSIGN_OR_RETURN(bool row, Step(db, s.get(), "reading a report"));
  if (!row) {
    return MakeError(ErrorCode::kNotFound, "unknown report");
  }
  ReportRecord r;
  r.report.report_id = ColumnText(s.get(), 0);
  r.report.device_id = ColumnText(s.get(), 1);
  r.report.received_at = FromUnixSeconds(sqlite3_column_int64(s.get(), 2));
  r.report.collected_at = FromUnixSeconds(sqlite3_column_int64(s.get(), 3));
  auto status = protocol::ParseDeviceStatus(ColumnText(s.get(), 4));
  if (!status.ok()) {
    return MakeError(ErrorCode::kDatabase, "corrupt status column: " + status.error().message);
  }
  r.report.status = *status;
  r.report.clock_skew = std::chrono::seconds(sqlite3_column_int64(s.get(), 5));
  r.report.body = ColumnText(s.get(), 6);
  r.policy_state = ColumnText(s.get(), 7);
  r.hostname = ColumnText(s.get(), 8);
  r.group = ColumnText(s.get(), 9);
  return r;
}

}  // namespace cg::soc::sqlite_query
