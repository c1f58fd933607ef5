// The PostgreSQL dialect of the SOC schema: the same versions as the SQLite migrations
// (soc/sqlite_storage.cpp), the same tables and columns, applied by the same rule (each version
// by its own schema_migrations row, in its own transaction with that row).
//
// What differs on purpose:
// - the device columns the queries sort and compare by prefix (device_id, hostname,
//   group_name, hostname_folded) are COLLATE "C": bytewise, as SQLite's BINARY, whatever the
//   database's locale, and their indexes serve those orders and ranges;
// - times stay BIGINT Unix seconds and flags INTEGER 0/1 (the queries and the conformance tests
//   read both backends alike);
// - SQLite's rowids and INTEGER PRIMARY KEY become identity columns; tables ordered by rowid
//   (operator and enrollment tokens) get an identity `seq` for their insertion order;
// - WITHOUT ROWID tables are plain tables with their primary key;
// - triggers with RAISE become plpgsql trigger functions;
// - cg_fold (the search folding of host names) is not an SQL function here: the folded column
//   is always computed in C++ (FoldForSearch) when a device row is written;
// - the data-moving statements of migrations 3, 5-8 have no rows to move: a PostgreSQL database
//   is created at the current schema by `cg-soc init`, every migration running on empty tables.
//   They are kept where PostgreSQL can say them simply, and left out (said below) where they
//   would need cg_fold or SQLite's json_valid.
#include "soc/pg/pg_migrations.h"

#include <string>

#include "soc/pg/pg.h"

namespace cg::soc::pg {
namespace {

// Any constant: two `cg-soc` nodes (or `init` next to `serve`) opening a new database at once
// queue on it, so each migration is applied exactly once.
constexpr int64_t kMigrationLockKey = 0x43475344;  // "CGSD", SQLite's application_id

const std::vector<PgMigration>& Migrations() {
  static const std::vector<PgMigration> migrations = {
      {1, R"sql(
CREATE TABLE operator_tokens (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('analyst', 'admin')),
  token_hash  TEXT NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT,
  revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  seq         BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE enrollment_tokens (
  id            TEXT PRIMARY KEY,
  token_hash    TEXT NOT NULL UNIQUE,
  group_name    TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  uses_allowed  BIGINT NOT NULL CHECK (uses_allowed >= 1),
  uses          BIGINT NOT NULL DEFAULT 0 CHECK (uses BETWEEN 0 AND uses_allowed),
  revoked       INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  created_by    TEXT NOT NULL,
  seq           BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE devices (
  device_id       TEXT COLLATE "C" PRIMARY KEY,
  hostname        TEXT COLLATE "C" NOT NULL,
  machine_id      TEXT NOT NULL,
  group_name      TEXT COLLATE "C" NOT NULL,
  cert_serial     TEXT NOT NULL,
  cert_not_after  BIGINT NOT NULL,
  enrolled_at     BIGINT NOT NULL,
  last_seen       BIGINT,
  status          TEXT NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('compliant', 'noncompliant', 'error', 'unknown')),
  policy_version  BIGINT NOT NULL DEFAULT 0,
  revoked         INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  latest_report   BIGINT
);
CREATE INDEX devices_by_group ON devices(group_name, hostname);

CREATE TABLE reports (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  report_id     TEXT NOT NULL UNIQUE,
  device_id     TEXT NOT NULL REFERENCES devices(device_id),
  received_at   BIGINT NOT NULL,
  collected_at  BIGINT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('compliant', 'noncompliant', 'error')),
  body          TEXT NOT NULL
);
CREATE INDEX reports_by_device ON reports(device_id, collected_at, id);
-- devices and reports point at each other: the device's side is added once both exist.
ALTER TABLE devices ADD CONSTRAINT devices_latest_report_fkey
  FOREIGN KEY (latest_report) REFERENCES reports(id);

CREATE TABLE check_results (
  report    BIGINT NOT NULL REFERENCES reports(id),
  check_id  TEXT NOT NULL,
  status    TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable')),
  severity  TEXT NOT NULL,
  PRIMARY KEY (report, check_id)
);

CREATE TABLE audit_log (
  id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time    BIGINT NOT NULL,
  actor   TEXT NOT NULL,
  role    TEXT NOT NULL,
  method  TEXT NOT NULL,
  path    TEXT NOT NULL,
  target  TEXT NOT NULL,
  result  BIGINT NOT NULL,
  source  TEXT NOT NULL
);
CREATE FUNCTION cg_audit_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE FUNCTION cg_audit_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION cg_audit_no_update();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION cg_audit_no_delete();
-- SQLite's triggers fire per row; TRUNCATE has no rows, so it is refused separately.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION cg_audit_no_update();
)sql"},
      {2, R"sql(
ALTER TABLE devices ADD COLUMN policy_hash TEXT NOT NULL DEFAULT '';

CREATE TABLE policies (
  version    BIGINT PRIMARY KEY CHECK (version >= 1),
  hash       TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  name       TEXT NOT NULL,
  scope      TEXT NOT NULL,
  envelope   TEXT NOT NULL,
  pushed_by  TEXT NOT NULL,
  pushed_at  BIGINT NOT NULL
);

CREATE TABLE tasks (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('inspect')),
  yara        INTEGER NOT NULL CHECK (yara IN (0, 1)),
  target      TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL
);

CREATE TABLE task_devices (
  task_id       TEXT NOT NULL REFERENCES tasks(id),
  device_id     TEXT NOT NULL REFERENCES devices(device_id),
  state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'done')),
  delivered_at  BIGINT,
  done_at       BIGINT,
  report_id     TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (task_id, device_id)
);
CREATE INDEX task_devices_by_device ON task_devices(device_id, state);
)sql"},
      {3, R"sql(
ALTER TABLE devices ADD COLUMN reenroll_allowed INTEGER NOT NULL DEFAULT 0
  CHECK (reenroll_allowed IN (0, 1));
CREATE INDEX devices_by_machine ON devices(machine_id, hostname);

CREATE TABLE revoked_certificates (
  serial      TEXT PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices(device_id),
  revoked_at  BIGINT NOT NULL,
  not_after   BIGINT NOT NULL,
  reason      TEXT NOT NULL CHECK (reason IN ('revoked', 'superseded'))
);
INSERT INTO revoked_certificates (serial, device_id, revoked_at, not_after, reason)
  SELECT cert_serial, device_id, enrolled_at, cert_not_after, 'revoked' FROM devices
  WHERE revoked = 1;

CREATE TABLE enrollment_conflicts (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time         BIGINT NOT NULL,
  device_id    TEXT NOT NULL REFERENCES devices(device_id),
  hostname     TEXT NOT NULL,
  machine_id   TEXT NOT NULL,
  group_name   TEXT NOT NULL,
  source       TEXT NOT NULL,
  resolved_at  BIGINT
);
)sql"},
      {4, R"sql(
ALTER TABLE devices ADD COLUMN pending_cert_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pending_cert_not_after BIGINT NOT NULL DEFAULT 0;
)sql"},
      {5, R"sql(
ALTER TABLE reports ADD COLUMN clock_skew BIGINT NOT NULL DEFAULT 0;
UPDATE reports SET clock_skew = collected_at - received_at;
CREATE INDEX reports_by_device_arrival ON reports(device_id, received_at, id);
ALTER TABLE devices ADD COLUMN clock_skew BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN reported_hostname TEXT NOT NULL DEFAULT '';
UPDATE devices SET reported_hostname = hostname WHERE latest_report IS NOT NULL;
UPDATE devices SET clock_skew = COALESCE(
  (SELECT r.clock_skew FROM reports r WHERE r.id = devices.latest_report), 0);
ALTER TABLE operator_tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE enrollment_conflicts ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
)sql"},
      {6, R"sql(
ALTER TABLE devices ADD COLUMN policy_state TEXT NOT NULL DEFAULT ''
  CHECK (policy_state IN ('', 'expected', 'rollout', 'unverified'));
ALTER TABLE devices ADD COLUMN verified_policy_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN verified_policy_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN served_policy_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN served_policy_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN policy_state TEXT NOT NULL DEFAULT ''
  CHECK (policy_state IN ('', 'expected', 'rollout', 'unverified'));

CREATE TABLE policy_layers (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target     TEXT NOT NULL,
  version    BIGINT NOT NULL CHECK (version >= 1),
  hash       TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  name       TEXT NOT NULL,
  scope      TEXT NOT NULL,
  envelope   TEXT NOT NULL,
  pushed_by  TEXT NOT NULL,
  pushed_at  BIGINT NOT NULL,
  UNIQUE (target, version)
);
INSERT INTO policy_layers (target, version, hash, key_id, name, scope, envelope, pushed_by,
                           pushed_at)
  SELECT COALESCE((SELECT string_agg(g, ',' ORDER BY g) FROM
                     (SELECT DISTINCT rtrim(value, '/') AS g
                      FROM jsonb_array_elements_text(
                        p.envelope::jsonb #> '{policy,target,groups}')) AS groups), ''),
         version, hash, key_id, name, scope, envelope, pushed_by, pushed_at
  FROM policies p ORDER BY version;
DROP TABLE policies;
)sql"},
      {7, R"sql(
CREATE TABLE status_intervals (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices(device_id),
  check_id    TEXT NOT NULL,
  status      TEXT NOT NULL,
  severity    TEXT NOT NULL,
  since       BIGINT NOT NULL,
  start_seq   BIGINT NOT NULL,
  report_id   TEXT NOT NULL,
  until       BIGINT,
  end_seq     BIGINT,
  summary     TEXT NOT NULL,
  evidence    TEXT NOT NULL
);
CREATE INDEX status_intervals_by_device ON status_intervals(device_id, since, start_seq);
CREATE INDEX status_intervals_open ON status_intervals(device_id) WHERE until IS NULL;
CREATE INDEX status_intervals_by_until ON status_intervals(until) WHERE until IS NOT NULL;

CREATE TABLE enforcement_changes (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices(device_id),
  check_id    TEXT NOT NULL,
  time        BIGINT NOT NULL,
  report_id   TEXT NOT NULL,
  result      TEXT NOT NULL CHECK (result IN ('applied', 'error')),
  changes     TEXT NOT NULL,
  UNIQUE (report_id, check_id)
);
CREATE INDEX enforcement_changes_by_device ON enforcement_changes(device_id, time);
CREATE INDEX enforcement_changes_by_time ON enforcement_changes(time);

CREATE TABLE reporting_gaps (
  device_id  TEXT NOT NULL REFERENCES devices(device_id),
  since      BIGINT NOT NULL,
  until      BIGINT NOT NULL,
  PRIMARY KEY (device_id, since)
);
CREATE INDEX reporting_gaps_by_until ON reporting_gaps(until);

CREATE TABLE generated_reports (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,
  digest        TEXT NOT NULL,
  parameters    TEXT NOT NULL,
  generated_by  TEXT NOT NULL,
  generated_at  BIGINT NOT NULL,
  content       TEXT NOT NULL
);
CREATE INDEX generated_reports_by_digest ON generated_reports(digest);

CREATE INDEX reports_by_arrival ON reports(received_at);
CREATE INDEX devices_by_latest_report ON devices(latest_report);

-- Audit entries may be deleted by retention, never before they are a year old.
CREATE OR REPLACE FUNCTION cg_audit_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF old.time > extract(epoch FROM now())::bigint - 366 * 86400 THEN
    RAISE EXCEPTION 'audit entries younger than a year are never deleted'
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN old;
END $$;

-- SQLite fills the history from the reports stored before this migration (a marker row); a
-- PostgreSQL database has none then, so the table stays empty (nothing pending).
CREATE TABLE history_backfill (pending INTEGER NOT NULL);
)sql"},
      // The folded host name is computed in C++ when a device row is written; the OS and agent
      // version columns are filled at ingest (no report exists yet when this runs).
      {8, R"sql(
ALTER TABLE devices ADD COLUMN hostname_folded TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN os_name TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN os_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_by_hostname_folded ON devices(hostname_folded, device_id);
CREATE INDEX devices_by_group_hostname ON devices(group_name, hostname_folded, device_id);
CREATE INDEX devices_by_last_seen ON devices(COALESCE(last_seen, -1), device_id);
)sql"},
      // The outbox's seq is an identity: increasing and never reused, like AUTOINCREMENT. Its
      // readers must not pass a lower seq still being committed (see pg_storage_export.cpp).
      {9, R"sql(
CREATE TABLE export_outbox (
  seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id   TEXT NOT NULL UNIQUE,
  time       BIGINT NOT NULL,
  action     TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  event      TEXT NOT NULL
);
CREATE TABLE export_cursors (
  sink           TEXT PRIMARY KEY,
  delivered_seq  BIGINT NOT NULL DEFAULT 0,
  delivered_at   BIGINT
);
ALTER TABLE devices ADD COLUMN stale_event_at BIGINT;
)sql"},
      {10, R"sql(
CREATE TABLE accounts (
  id                    TEXT PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  display_name          TEXT NOT NULL,
  role                  TEXT NOT NULL CHECK (role IN ('analyst', 'inspector', 'admin')),
  password_hash         TEXT NOT NULL DEFAULT '',
  totp_secret           TEXT NOT NULL DEFAULT '',
  totp_enabled          INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
  totp_last_step        BIGINT,
  pending_totp_secret   TEXT NOT NULL DEFAULT '',
  setup_hash            TEXT NOT NULL DEFAULT '',
  setup_expires_at      BIGINT,
  setup_password        INTEGER NOT NULL DEFAULT 0 CHECK (setup_password IN (0, 1)),
  setup_totp            INTEGER NOT NULL DEFAULT 0 CHECK (setup_totp IN (0, 1)),
  disabled              INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at            BIGINT NOT NULL,
  updated_at            BIGINT NOT NULL,
  created_by            TEXT NOT NULL,
  failed_logins         BIGINT NOT NULL DEFAULT 0,
  last_failed_login_at  BIGINT,
  last_login_at         BIGINT
);

CREATE TABLE account_recovery_codes (
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  idx         BIGINT NOT NULL,
  hash        TEXT NOT NULL,
  used_at     BIGINT,
  PRIMARY KEY (account_id, idx)
);

CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,
  token_hash    TEXT NOT NULL UNIQUE,
  account_id    TEXT NOT NULL REFERENCES accounts(id),
  kind          TEXT NOT NULL CHECK (kind IN ('cli', 'browser')),
  created_at    BIGINT NOT NULL,
  last_used_at  BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  source        TEXT NOT NULL,
  csrf_hash     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_account ON sessions(account_id);

ALTER TABLE operator_tokens ADD COLUMN account_id TEXT;
ALTER TABLE audit_log ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN account TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_by_time ON audit_log(time);
)sql"},
      // Each device's failing and error checks on its row (kept at ingest: the latest report's
      // check ids, sorted, joined by ','), indexes of the fleet queries, and the scrape-only
      // operator role "metrics". PostgreSQL changes the role CHECK in place (SQLite rebuilds the
      // table). The backfill is the SQLite one in string_agg.
      {11, R"sql(
ALTER TABLE devices ADD COLUMN failing_checks TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN error_checks TEXT NOT NULL DEFAULT '';
UPDATE devices SET
  failing_checks = COALESCE((SELECT string_agg(c.check_id, ',' ORDER BY c.check_id COLLATE "C")
                             FROM check_results c
                             WHERE c.report = devices.latest_report AND c.status = 'fail'), ''),
  error_checks = COALESCE((SELECT string_agg(c.check_id, ',' ORDER BY c.check_id COLLATE "C")
                           FROM check_results c
                           WHERE c.report = devices.latest_report AND c.status = 'error'), '')
WHERE latest_report IS NOT NULL;
CREATE INDEX devices_by_posture ON devices(
  (CASE WHEN policy_state = 'unverified' THEN 2 ELSE CASE status WHEN 'noncompliant' THEN 0
   WHEN 'error' THEN 1 WHEN 'unknown' THEN 3 ELSE 4 END END), hostname_folded, device_id);
CREATE INDEX devices_by_os ON devices(os_name, os_version);
CREATE INDEX devices_by_agent_version ON devices(agent_version);
CREATE INDEX devices_by_policy_version ON devices(policy_version);
CREATE INDEX devices_by_silence ON devices(COALESCE(last_seen, enrolled_at)) WHERE revoked = 0;
CREATE INDEX devices_for_summary ON devices(group_name, policy_state, status, revoked,
                                            failing_checks, error_checks, last_seen, enrolled_at);
ALTER TABLE operator_tokens DROP CONSTRAINT operator_tokens_role_check;
ALTER TABLE operator_tokens ADD CONSTRAINT operator_tokens_role_check
  CHECK (role IN ('analyst', 'admin', 'metrics'));
)sql"},
      // The groups' display names (SQLite's migration 12, soc/sqlite_group_names.cpp).
      {12, R"sql(
CREATE TABLE group_names (
  group_name    TEXT COLLATE "C" PRIMARY KEY,
  display_name  TEXT NOT NULL CHECK (display_name <> ''),
  set_by        TEXT NOT NULL,
  set_at        BIGINT NOT NULL
);
)sql"},
  };
  return migrations;
}

constexpr const char* kCreateMigrationsTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     BIGINT PRIMARY KEY,
  applied_at  TEXT NOT NULL
))sql";

}  // namespace

const std::vector<PgMigration>& PgMigrations() { return Migrations(); }

int64_t PgSchemaVersion() { return Migrations().back().version; }

Status Identify(Connection& conn, const std::string& where, bool create) {
  auto refuse = [&](const std::string& why) {
    return MakeError(ErrorCode::kDatabase,
                     where + " is not a CounterGuard SOC database (" + why + ")");
  };
  // Tables of the schema the connection writes to (the first of its search_path).
  CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT count(*), count(*) FILTER (WHERE "
                                            "c.relname = 'schema_migrations') FROM pg_class c "
                                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                            "WHERE n.nspname = current_schema() "
                                            "AND c.relkind IN ('r', 'p')"));
  const int64_t tables = rows.Int(0, 0);
  const bool ours = rows.Int(0, 1) != 0;
  if (ours) {
    return OkStatus();
  }
  if (tables != 0) {
    return refuse("its schema holds " + std::to_string(tables) + " tables of another program");
  }
  if (!create) {
    return refuse("it is empty; `cg-soc init` creates the database");
  }
  return OkStatus();
}

Status Migrate(Connection& conn, const std::string& where) {
  const int64_t known = PgSchemaVersion();
  for (const PgMigration& migration : Migrations()) {
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(conn));
    CG_RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey));
    CG_RETURN_IF_ERROR(conn.Exec(kCreateMigrationsTable, where + ": creating schema_migrations"));
    CG_ASSIGN_OR_RETURN(auto current,
                        conn.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    if (current.Int(0, 0) > known) {
      return MakeError(ErrorCode::kDatabase, where + " has schema version " +
                                                 std::to_string(current.Int(0, 0)) +
                                                 ", newer than this program knows (" +
                                                 std::to_string(known) + "): run a newer cg-soc");
    }
    CG_ASSIGN_OR_RETURN(auto applied, conn.Query("SELECT 1 FROM schema_migrations WHERE "
                                                 "version = $1",
                                                 migration.version));
    if (applied.Count() != 0) {
      continue;
    }
    CG_RETURN_IF_ERROR(conn.Exec(
        migration.sql, where + ": applying schema migration " + std::to_string(migration.version)));
    CG_RETURN_IF_ERROR(
        conn.Query("INSERT INTO schema_migrations (version, applied_at) VALUES "
                   "($1, to_char(now() AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
                   migration.version));
    CG_RETURN_IF_ERROR(tx.Commit());
  }
  return OkStatus();
}

}  // namespace cg::soc::pg
