//! Orders the audit chain and the event outbox after commit instead of under a lock.
//!
//! Before, every write took two global locks (one to read the audit chain's last hash, one to
//! hand out outbox ids in commit order), so every write in the system ran one at a time. Now
//! writers insert their audit rows and events *unsealed* (`seq` NULL, and for the audit log
//! `hash` NULL) and a sealer (see `gad_core::sealer`) numbers the committed rows in order —
//! `seq` — and chains the audit rows' hashes. Rows written before this migration are sealed in
//! id order, which was their commit order (`seq = id`).
//!
//! The audit log stays append-only: the trigger now lets exactly one UPDATE through per row,
//! the sealing one (from `seq` NULL to a `seq` and a `hash`, every other column unchanged).
//! On SQLite the table is rebuilt, because a column's NOT NULL cannot be dropped there.

use sea_orm_migration::prelude::*;

use crate::AUDIT_APPEND_ONLY_TOKEN;
use crate::m20261128_000001_initial::Dialect;
use crate::vocabulary::{AUDIT_SEVERITIES, CHANNELS, sql_list};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The audit row's content: what the sealing UPDATE may not change.
const CONTENT: [&str; 14] = [
    "id",
    "user_id",
    "telegram_user_id",
    "channel",
    "action",
    "resource_type",
    "resource_id",
    "before_value",
    "after_value",
    "ip",
    "user_agent",
    "success",
    "severity",
    "created_at",
];

fn pg_function(sealing_allowed: bool) -> String {
    let token = AUDIT_APPEND_ONLY_TOKEN;
    let sealing = if sealing_allowed {
        let new: Vec<String> = CONTENT.iter().map(|c| format!("NEW.{c}")).collect();
        let old: Vec<String> = CONTENT.iter().map(|c| format!("OLD.{c}")).collect();
        format!(
            "    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
       AND ({}) IS NOT DISTINCT FROM ({}) THEN
        RETURN NEW;
    END IF;
",
            new.join(", "),
            old.join(", ")
        )
    } else {
        String::new()
    };
    format!(
        "CREATE OR REPLACE FUNCTION gad_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
{sealing}    RAISE EXCEPTION '{token}: % on audit_log is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$"
    )
}

fn sqlite_table(name: &str, hash: &str, seq: bool) -> String {
    let id = "INTEGER PRIMARY KEY AUTOINCREMENT";
    format!(
        "CREATE TABLE {name} (
    id {id},
    user_id INTEGER NULL REFERENCES users (id) ON DELETE RESTRICT,
    telegram_user_id INTEGER NULL,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NULL,
    before_value TEXT NULL,
    after_value TEXT NULL,
    ip TEXT NULL,
    user_agent TEXT NULL,
    success BOOLEAN NOT NULL DEFAULT TRUE,
    severity TEXT NOT NULL DEFAULT 'info',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    prev_hash TEXT NULL,
    hash TEXT {hash},{seq}
    CONSTRAINT audit_log_hash_key UNIQUE (hash),
    CONSTRAINT audit_log_prev_hash_key UNIQUE (prev_hash),
    CONSTRAINT audit_log_channel_check CHECK (channel IN ({channels})),
    CONSTRAINT audit_log_severity_check CHECK (severity IN ({severities}))
)",
        seq = if seq { "\n    seq INTEGER NULL,\n    CONSTRAINT audit_log_seq_key UNIQUE (seq)," } else { "" },
        channels = sql_list(CHANNELS),
        severities = sql_list(AUDIT_SEVERITIES),
    )
}

fn sqlite_rebuild(sealed: bool) -> Vec<String> {
    let token = AUDIT_APPEND_ONLY_TOKEN;
    let columns = [&CONTENT[..], &["prev_hash", "hash"]].concat().join(", ");
    let mut s = vec![
        sqlite_table("audit_log_next", if sealed { "NULL" } else { "NOT NULL" }, sealed),
        if sealed {
            format!("INSERT INTO audit_log_next ({columns}, seq) SELECT {columns}, id FROM audit_log")
        } else {
            // Fails (NOT NULL) while rows wait to be sealed: seal them first.
            format!("INSERT INTO audit_log_next ({columns}) SELECT {columns} FROM audit_log")
        },
        "DROP TABLE audit_log".into(),
        "ALTER TABLE audit_log_next RENAME TO audit_log".into(),
        "CREATE INDEX audit_log_created_at_idx ON audit_log (created_at)".into(),
        "CREATE INDEX audit_log_user_id_idx ON audit_log (user_id)".into(),
        "CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id)".into(),
        format!(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, '{token}');
END"
        ),
    ];
    if sealed {
        let same: Vec<String> = CONTENT.iter().map(|c| format!("NEW.{c} IS OLD.{c}")).collect();
        s.push("CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE seq IS NULL".into());
        s.push(format!(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL AND {})
BEGIN
    SELECT RAISE(ABORT, '{token}');
END",
            same.join(" AND ")
        ));
    } else {
        s.push(format!(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, '{token}');
END"
        ));
    }
    s
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager.get_database_backend())?;
        let conn = manager.get_connection();
        let bigint = if d == Dialect::Postgres { "BIGINT" } else { "INTEGER" };
        let mut s = vec![
            format!("ALTER TABLE event_outbox ADD COLUMN seq {bigint} NULL"),
            "UPDATE event_outbox SET seq = id".into(),
            "CREATE UNIQUE INDEX event_outbox_seq_key ON event_outbox (seq)".into(),
            "CREATE INDEX event_outbox_unsealed_idx ON event_outbox (id) WHERE seq IS NULL".into(),
        ];
        if d == Dialect::Postgres {
            s.extend([
                "ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL".into(),
                "ALTER TABLE audit_log ADD COLUMN seq BIGINT NULL".into(),
                "ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_key UNIQUE (seq)".into(),
                "CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE seq IS NULL".into(),
                pg_function(true),
                // The one sealing UPDATE the new trigger allows.
                "UPDATE audit_log SET seq = id".into(),
            ]);
        } else {
            s.extend(sqlite_rebuild(true));
        }
        for statement in s {
            conn.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager.get_database_backend())?;
        let conn = manager.get_connection();
        let mut s: Vec<String> = vec![
            "DROP INDEX IF EXISTS event_outbox_unsealed_idx".into(),
            "DROP INDEX IF EXISTS event_outbox_seq_key".into(),
            "ALTER TABLE event_outbox DROP COLUMN seq".into(),
        ];
        if d == Dialect::Postgres {
            s.extend([
                pg_function(false),
                "DROP INDEX IF EXISTS audit_log_unsealed_idx".into(),
                "ALTER TABLE audit_log DROP COLUMN seq".into(),
                "ALTER TABLE audit_log ALTER COLUMN hash SET NOT NULL".into(),
            ]);
        } else {
            s.extend(sqlite_rebuild(false));
        }
        for statement in s {
            conn.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
