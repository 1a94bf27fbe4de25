//! Credentials that can be revoked as a whole: `users.credential_epoch` (stamped into each
//! dashboard session at sign-in; bumping it ends every session of the user),
//! `users.must_change_password` (set by an admin's reset: the user may only change the
//! password until they do), and an expiry for every API token (tokens created before this
//! migration without one get the maximum lifetime, 365 days, from now).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (bigint, in_a_year) = match manager.get_database_backend() {
            DbBackend::Postgres => ("BIGINT", "now() + interval '365 days'"),
            _ => ("INTEGER", "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+365 days')"),
        };
        let conn = manager.get_connection();
        for statement in [
            format!("ALTER TABLE users ADD COLUMN credential_epoch {bigint} NOT NULL DEFAULT 0"),
            "ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE".to_owned(),
            format!("UPDATE api_tokens SET expires_at = {in_a_year} WHERE expires_at IS NULL"),
        ] {
            conn.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("ALTER TABLE users DROP COLUMN must_change_password").await?;
        conn.execute_unprepared("ALTER TABLE users DROP COLUMN credential_epoch").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
