// PostgreSQL backend: the fleet queries (a devices page, the fleet summary), the same SQL as
// soc/sqlite_storage_query.cpp in PostgreSQL's dialect: $n parameters, strpos for instr, a
// boolean made 0/1 with CASE where SQLite's comparisons are integers already, and substr's
// length cast to integer. The device columns compared here are COLLATE "C" (migration 1, 8),
// so orders and the group range are bytewise as on SQLite.
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "soc/pg/pg_storage_internal.h"
#include "soc/sqlite_storage_query.h"  // CG_DEVICE_COLUMNS, kDeviceColumnCount

namespace cg::soc::pg {
namespace {

// A devices.failing_checks / error_checks value (kept at ingest, migration 11) as its check ids.
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

// SQL text with its parameters in order: every value from a request goes through Bind.
class Sql {
 public:
  Sql& Text(std::string_view text) {
    sql_ += text;
    return *this;
  }
  // Appends "$n" and binds `value` to it.
  template <typename T>
  Sql& Bind(const T& value) {
    params_.push_back(ToParam(value));
    sql_ += "$" + std::to_string(params_.size());
    return *this;
  }
  Result<Rows> Run(Connection& conn) const { return conn.QueryParams(sql_, params_); }

 private:
  std::string sql_;
  std::vector<Param> params_;
};

// The posture (PostureStatus) of device row d, in SQL.
constexpr std::string_view kPostureSql =
    "(CASE WHEN d.policy_state = 'unverified' THEN 'unverified' ELSE d.status END)";
// PostureRank in SQL.
constexpr std::string_view kRankSql =
    "(CASE WHEN d.policy_state = 'unverified' THEN 2 ELSE CASE d.status "
    "WHEN 'noncompliant' THEN 0 WHEN 'error' THEN 1 WHEN 'unknown' THEN 3 ELSE 4 END END)";

// 1 when device row d is stale (not revoked, not heard from since its group's cutoff), else 0.
void AppendStale(Sql& sql, SysTime stale_before,
                 const std::vector<std::pair<std::string, SysTime>>& by_group) {
  sql.Text("(CASE WHEN d.revoked = 0 AND COALESCE(d.last_seen, d.enrolled_at) < ");
  if (by_group.empty()) {
    sql.Bind(ToUnixSeconds(stale_before));
  } else {
    sql.Text("CASE d.group_name");
    for (const auto& [group, cutoff] : by_group) {
      sql.Text(" WHEN ").Bind(group).Text(" THEN ").Bind(ToUnixSeconds(cutoff));
    }
    sql.Text(" ELSE ").Bind(ToUnixSeconds(stale_before)).Text(" END");
  }
  sql.Text(" THEN 1 ELSE 0 END)");
}

// A group and every group below it; the range [g, g + "0") lets the group index narrow the scan
// (soc/sqlite_storage_query.cpp explains it).
void AppendGroupPrefix(Sql& sql, const std::string& group) {
  sql.Text(" AND d.group_name >= ").Bind(group).Text(" AND d.group_name < ").Bind(group + "0");
  sql.Text(" AND (d.group_name = ")
      .Bind(group)
      .Text(" OR substr(d.group_name, 1, CAST(")
      .Bind(static_cast<int64_t>(group.size()) + 1)
      .Text(" AS integer)) = ")
      .Bind(group + "/")
      .Text(")");
}

std::string TrimmedGroup(std::string group) {
  while (!group.empty() && group.back() == '/') {
    group.pop_back();
  }
  return group;
}

void AppendFilters(Sql& sql, const DeviceQuery& q) {
  if (q.group_prefix) {
    AppendGroupPrefix(sql, TrimmedGroup(*q.group_prefix));
  }
  if (!q.postures.empty()) {
    sql.Text(" AND ").Text(kPostureSql).Text(" IN (");
    for (size_t i = 0; i < q.postures.size(); ++i) {
      sql.Text(i == 0 ? "" : ", ").Bind(std::string(protocol::ToString(q.postures[i])));
    }
    sql.Text(")");
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
    sql.Text(" AND strpos(d.hostname_folded, ").Bind(*q.hostname_folded).Text(") > 0");
  }
}

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

void AppendOrder(Sql& sql, DeviceSort sort, bool descending) {
  sql.Text(" ORDER BY ");
  const auto keys = SortKeys(sort);
  for (size_t i = 0; i < keys.size(); ++i) {
    sql.Text(i == 0 ? "" : ", ").Text(keys[i]).Text(descending ? " DESC" : " ASC");
  }
}

}  // namespace

Result<DevicePage> PgStorage::QueryDevices(const DeviceQuery& q) {
  if (q.limit == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "page size must be at least 1");
  }
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  // The count and the page from one snapshot, as SQLite's reader connection sees one.
  CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*conn, Transaction::Isolation::kRepeatableRead));
  DevicePage page;
  if (q.count_total) {
    Sql count;
    count.Text("SELECT count(*) FROM devices d WHERE TRUE");
    AppendFilters(count, q);
    CG_ASSIGN_OR_RETURN(auto rows, count.Run(*conn));
    page.total = rows.Count() > 0 ? rows.Int(0, 0) : 0;
  }
  Sql sql;
  sql.Text("SELECT " CG_DEVICE_COLUMNS
           ", d.os_name, d.os_version, d.agent_version, "
           "d.hostname_folded, ");
  sql.Text(kRankSql).Text(", COALESCE(d.last_seen, -1), ");
  AppendStale(sql, q.stale_before, q.stale_before_by_group);
  sql.Text(", d.failing_checks, d.error_checks FROM devices d WHERE TRUE");
  AppendFilters(sql, q);
  if (q.after) {
    AppendAfter(sql, q.sort, q.descending, *q.after);
  }
  AppendOrder(sql, q.sort, q.descending);
  const int64_t limit =
      static_cast<int64_t>(std::min<size_t>(q.limit, std::numeric_limits<int32_t>::max()));
  sql.Text(" LIMIT ").Bind(limit + 1);
  CG_ASSIGN_OR_RETURN(auto rows, sql.Run(*conn));
  constexpr int kExtra = sqlite_query::kDeviceColumnCount;
  for (int i = 0; i < rows.Count(); ++i) {
    if (static_cast<int64_t>(page.rows.size()) == limit) {
      page.more = true;
      break;
    }
    DeviceRow r;
    CG_ASSIGN_OR_RETURN(r.device, ReadDevice(rows, i));
    r.os_name = rows.Text(i, kExtra);
    r.os_version = rows.Text(i, kExtra + 1);
    r.agent_version = rows.Text(i, kExtra + 2);
    r.key.hostname_folded = rows.Text(i, kExtra + 3);
    const int64_t rank = rows.Int(i, kExtra + 4);
    const int64_t seen = rows.Int(i, kExtra + 5);
    r.stale = rows.Int(i, kExtra + 6) != 0;
    r.failing_checks = SplitChecks(rows.Text(i, kExtra + 7));
    r.error_checks = SplitChecks(rows.Text(i, kExtra + 8));
    r.key.group = r.device.group;
    r.key.device_id = r.device.device_id;
    r.key.number = q.sort == DeviceSort::kStatus     ? rank
                   : q.sort == DeviceSort::kLastSeen ? seen
                                                     : 0;
    page.rows.push_back(std::move(r));
  }
  CG_RETURN_IF_ERROR(tx.Commit());
  return page;
}

Result<std::vector<GroupSummary>> PgStorage::SummarizeFleet(const FleetSummaryQuery& q) {
  std::map<std::string, GroupSummary> groups;
  auto group_filter = [&](Sql& sql) {
    if (q.group_prefix) {
      AppendGroupPrefix(sql, TrimmedGroup(*q.group_prefix));
    }
  };
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*conn, Transaction::Isolation::kRepeatableRead));
  {
    Sql sql;
    sql.Text(
        "SELECT d.group_name, count(*), sum(d.revoked), "
        "sum(CASE WHEN d.revoked = 0 AND d.last_seen IS NULL THEN 1 ELSE 0 END), sum(");
    AppendStale(sql, q.stale_before, q.stale_before_by_group);
    sql.Text(") FROM devices d WHERE TRUE");
    group_filter(sql);
    sql.Text(" GROUP BY d.group_name");
    CG_ASSIGN_OR_RETURN(auto rows, sql.Run(*conn));
    for (int i = 0; i < rows.Count(); ++i) {
      GroupSummary g;
      g.group = rows.Text(i, 0);
      g.devices = rows.Int(i, 1);
      g.revoked = rows.Int(i, 2);
      g.never_reported = rows.Int(i, 3);
      g.stale = rows.Int(i, 4);
      groups.emplace(g.group, std::move(g));
    }
  }
  {
    Sql sql;
    sql.Text("SELECT d.group_name, ").Text(kPostureSql);
    sql.Text(", count(*) FROM devices d WHERE d.revoked = 0");
    group_filter(sql);
    sql.Text(" GROUP BY 1, 2");
    CG_ASSIGN_OR_RETURN(auto rows, sql.Run(*conn));
    for (int i = 0; i < rows.Count(); ++i) {
      groups[rows.Text(i, 0)].postures[rows.Text(i, 1)] = rows.Int(i, 2);
    }
  }
  {
    Sql sql;
    sql.Text(
        "SELECT d.group_name, c.check_id, c.status, count(*) FROM devices d "
        "JOIN check_results c ON c.report = d.latest_report "
        "WHERE d.revoked = 0 AND c.status IN ('fail', 'error')");
    group_filter(sql);
    sql.Text(" GROUP BY 1, 2, 3");
    CG_ASSIGN_OR_RETURN(auto rows, sql.Run(*conn));
    for (int i = 0; i < rows.Count(); ++i) {
      GroupSummary& g = groups[rows.Text(i, 0)];
      (rows.Text(i, 2) == "fail" ? g.failing : g.errors)[rows.Text(i, 1)] = rows.Int(i, 3);
    }
  }
  CG_RETURN_IF_ERROR(tx.Commit());
  std::vector<GroupSummary> out;
  out.reserve(groups.size());
  for (auto& [name, g] : groups) {
    g.group = name;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace cg::soc::pg
