//! `backups.sha256`: the digest of each dump as `gad backup` made it. The bucket's own copy of
//! it (the object's metadata, its manifest) is written by whoever writes the bucket; this one
//! only by whoever writes the database, so a drill can tell a dump GAD made from one planted
//! beside it. Backups recorded before have none (their drills trust the metadata, as before).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Backups {
    Table,
    Sha256,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Backups::Table)
                    .add_column(ColumnDef::new(Backups::Sha256).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Backups::Table).drop_column(Backups::Sha256).to_owned()).await
    }
}
