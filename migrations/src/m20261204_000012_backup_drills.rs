//! `backup_drills`: one row per `gad backup drill` (the newest backup restored into a scratch
//! database and compared, table by table, with its manifest), passed or failed, so every
//! replica reports `gad_backup_last_drill_success_timestamp_seconds` and admins see the drills
//! on the backups page.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BackupDrills {
    Table,
    Id,
    FinishedAtUnix,
    ObjectKey,
    Ok,
    TablesChecked,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BackupDrills::Table)
                    .col(ColumnDef::new(BackupDrills::Id).big_integer().not_null().auto_increment().primary_key())
                    // Seconds since the Unix epoch: the same integer on both backends.
                    .col(ColumnDef::new(BackupDrills::FinishedAtUnix).big_integer().not_null())
                    .col(ColumnDef::new(BackupDrills::ObjectKey).text().not_null())
                    .col(ColumnDef::new(BackupDrills::Ok).boolean().not_null())
                    .col(
                        ColumnDef::new(BackupDrills::TablesChecked)
                            .integer()
                            .not_null()
                            .check(Expr::col(BackupDrills::TablesChecked).gte(0)),
                    )
                    // What failed, in the operator's words (at most 2 000 characters).
                    .col(ColumnDef::new(BackupDrills::Detail).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("backup_drills_finished")
                    .table(BackupDrills::Table)
                    .col(BackupDrills::FinishedAtUnix)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BackupDrills::Table).to_owned()).await
    }
}
