//! `backups`: one row per successful `gad backup` (where the dump went, how big, when), so
//! every replica can report `gad_backup_last_success_timestamp_seconds` from the database.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Backups {
    Table,
    Id,
    FinishedAtUnix,
    Backend,
    ObjectKey,
    SizeBytes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Backups::Table)
                    .col(ColumnDef::new(Backups::Id).big_integer().not_null().auto_increment().primary_key())
                    // Seconds since the Unix epoch: the same integer on both backends.
                    .col(ColumnDef::new(Backups::FinishedAtUnix).big_integer().not_null())
                    .col(
                        ColumnDef::new(Backups::Backend)
                            .text()
                            .not_null()
                            .check(Expr::col(Backups::Backend).is_in(["postgres", "sqlite"])),
                    )
                    .col(ColumnDef::new(Backups::ObjectKey).text().not_null())
                    .col(
                        ColumnDef::new(Backups::SizeBytes)
                            .big_integer()
                            .not_null()
                            .check(Expr::col(Backups::SizeBytes).gt(0)),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Backups::Table).to_owned()).await
    }
}
