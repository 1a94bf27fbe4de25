//! A task without an end occupies its officers for [`crate::OPEN_ENDED_TASK_HOURS`] from its
//! start in the overlap rule, instead of forever: before, one open-ended task (the bot's
//! `/crear` made only those) kept its officers from every later task (409 overlap).
//! The overlap triggers are dropped and made again with the new rule.

use sea_orm_migration::prelude::*;

use crate::m20261128_000001_initial::{Dialect, OpenEnd, overlap_triggers};

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG_DROP: [&str; 4] = [
    "DROP TRIGGER IF EXISTS task_assignments_overlap_check ON task_assignments",
    "DROP TRIGGER IF EXISTS tasks_reschedule_overlap_check ON tasks",
    "DROP FUNCTION IF EXISTS gad_assignment_overlap_check()",
    "DROP FUNCTION IF EXISTS gad_task_reschedule_overlap_check()",
];

const SQLITE_DROP: [&str; 3] = [
    "DROP TRIGGER IF EXISTS task_assignments_overlap_insert",
    "DROP TRIGGER IF EXISTS task_assignments_overlap_update",
    "DROP TRIGGER IF EXISTS tasks_reschedule_overlap_check",
];

async fn replace(manager: &SchemaManager<'_>, open: OpenEnd) -> Result<(), DbErr> {
    let d = Dialect::of(manager.get_database_backend())?;
    let conn = manager.get_connection();
    let drops: &[&str] = if d == Dialect::Postgres { &PG_DROP } else { &SQLITE_DROP };
    for statement in drops {
        conn.execute_unprepared(statement).await?;
    }
    for statement in overlap_triggers(d, open) {
        conn.execute_unprepared(&statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, OpenEnd::After(crate::OPEN_ENDED_TASK_HOURS)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, OpenEnd::Never).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
