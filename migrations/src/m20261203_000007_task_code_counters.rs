//! `task_code_counters`: the last number handed out per code prefix (`PATROL-2026-`), so a new
//! task's code costs one upsert of one row instead of reading every code of its type and year
//! under a lock that serialised every creation. Filled from the existing codes.

use std::collections::HashMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let bigint = if backend == DbBackend::Postgres { "BIGINT" } else { "INTEGER" };
        let conn = manager.get_connection();
        conn.execute_unprepared(&format!(
            "CREATE TABLE task_code_counters (
    prefix VARCHAR(64) NOT NULL PRIMARY KEY,
    last_value {bigint} NOT NULL
)"
        ))
        .await?;
        let mut highest: HashMap<String, i64> = HashMap::new();
        for row in conn.query_all_raw(Statement::from_string(backend, "SELECT code FROM tasks")).await? {
            let code: String = row.try_get_by_index(0)?;
            if let Some((prefix, number)) = crate::split_task_code(&code) {
                let entry = highest.entry(prefix.to_owned()).or_insert(0);
                *entry = Ord::max(*entry, number);
            }
        }
        let placeholders = if backend == DbBackend::Postgres { "($1, $2)" } else { "(?, ?)" };
        for (prefix, last) in highest {
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                format!("INSERT INTO task_code_counters (prefix, last_value) VALUES {placeholders}"),
                [prefix.into(), last.into()],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS task_code_counters").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
